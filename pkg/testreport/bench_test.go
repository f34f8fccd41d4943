package testreport

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParseGoJSON measures reading a go test -json stream: the part of the reporter's work
// that grows with the suite (bytes/s over the recorded fixture streams, repeated).
func BenchmarkParseGoJSON(b *testing.B) {
	var stream []byte
	for _, name := range []string{"pass", "fail", "panic", "race", "buildfail"} {
		data, err := os.ReadFile(filepath.Join("testdata", "go", name+".jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		stream = append(stream, data...)
	}
	stream = bytes.Repeat(stream, 50)
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if _, err := ParseGoJSON("bench", bytes.NewReader(stream)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverhead compares go test -json on packages of this repository with flightline
// test's Run on the same packages (go test -json, go list for the package directories, parsing,
// locating): the reporter's overhead over go test itself. -count=1 so nothing is cached:
//
//	FLIGHTLINE_BENCH_PACKAGES=./pkg/marker,./pkg/imagetags go test ./pkg/testreport -run '^$' -bench Overhead -benchtime 5x
func BenchmarkOverhead(b *testing.B) {
	pkgs := []string{"./pkg/marker", "./pkg/imagetags"}
	if p := os.Getenv("FLIGHTLINE_BENCH_PACKAGES"); p != "" {
		pkgs = strings.Split(p, ",")
	}
	wd, _ := os.Getwd()
	root := filepath.Dir(filepath.Dir(wd))
	// Warm the build cache so that both sides measure running, not compiling.
	warm := exec.Command("go", append([]string{"test", "-count=1", "-run", "^$"}, pkgs...)...)
	warm.Dir = root
	if out, err := warm.CombinedOutput(); err != nil {
		b.Fatalf("warming up: %v\n%s", err, out)
	}
	b.Run("go-test-json", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command("go", append([]string{"test", "-json", "-count=1"}, pkgs...)...)
			cmd.Dir = root
			if out, err := cmd.Output(); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
		}
	})
	b.Run("flightline-test", func(b *testing.B) {
		for b.Loop() {
			rep, err := Run(context.Background(), Options{Packages: pkgs, Args: []string{"-count=1"}, Dir: root, Locator: NewLocator(root, root)})
			if err != nil {
				b.Fatal(err)
			}
			_ = rep.Summary(false).String()
		}
	})
}
