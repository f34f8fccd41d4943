package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labrats-work/flightline/internal/registrytest"
)

// BenchmarkBuildVsKo compares `flightline build` (the lean binary the actions run) with ko v0.19.1 on examples/agent
// (linux/amd64 + linux/arm64, on the same two-platform base, pushed to the same registry in the
// same run), alternating which tool goes first in each round. Per round and tool it measures
// three cases: a push to a new repository, a no-op rebuild pushed again, and a one-line change.
// It reports the median wall time and the median bytes the registry received (counted by the
// registry's wrapping handler, so both tools are measured the same way).
//
// It needs ko (go install github.com/google/ko@v0.19.1 into $HOME/.cache/flightline/bin or PATH)
// and skips without it. Run:
//
//	go test ./pkg/publish -run '^$' -bench BuildVsKo -benchtime 1x -timeout 60m
//
// FLIGHTLINE_BENCH_ROUNDS sets the rounds (default 5); FLIGHTLINE_BENCH_OUT writes the markdown
// table to a file.
func BenchmarkBuildVsKo(b *testing.B) {
	ko := findKo()
	if ko == "" {
		b.Skip("ko not found (go install github.com/google/ko@v0.19.1 with GOBIN=$HOME/.cache/flightline/bin)")
	}
	rounds := 5
	if s := os.Getenv("FLIGHTLINE_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("FLIGHTLINE_BENCH_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	var table strings.Builder
	for _, regName := range []string{"docker-registry", "in-process"} {
		b.Run(regName, func(b *testing.B) {
			reg := registries()[regName](b)
			res := benchRounds(b, ko, reg, rounds)
			fmt.Fprintf(&table, "\nRegistry: %s, %d rounds, median of each.\n\n", regName, rounds)
			table.WriteString("| case | flightline time | ko time | flightline bytes | ko bytes |\n|---|---:|---:|---:|---:|\n")
			for _, c := range benchCases {
				ft, kt := median(res["flightline"][c].times), median(res["ko"][c].times)
				fb, kb := median(res["flightline"][c].bytes), median(res["ko"][c].bytes)
				fmt.Fprintf(&table, "| %s | %.2f s | %.2f s | %s | %s |\n", c, ft/1e3, kt/1e3, human(fb), human(kb))
				b.ReportMetric(ft, strings.ReplaceAll(c, " ", "-")+"-flightline-ms")
				b.ReportMetric(kt, strings.ReplaceAll(c, " ", "-")+"-ko-ms")
				b.ReportMetric(fb, strings.ReplaceAll(c, " ", "-")+"-flightline-bytes")
				b.ReportMetric(kb, strings.ReplaceAll(c, " ", "-")+"-ko-bytes")
			}
		})
	}
	b.Log("\n" + table.String())
	if out := os.Getenv("FLIGHTLINE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

var benchCases = []string{"new repository", "no-op rebuild", "one-line change"}

type samples struct{ times, bytes []float64 }

func findKo() string {
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "flightline", "bin", "ko")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("ko")
	return p
}

// koConfig gives ko the same linker flags as Flightline's defaults (-s -w and the version), so
// both link, compress and send the same kind of binary.
const koConfig = `builds:
- id: agent
  main: ./examples/agent
  ldflags:
  - -s -w
  - -X main.version=1.5.0
`

func benchRounds(b *testing.B, ko string, reg *registrytest.Registry, rounds int) map[string]map[string]*samples {
	ctx := context.Background()
	dir := agentModule(b)
	if err := os.WriteFile(filepath.Join(dir, ".ko.yaml"), []byte(koConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	base := registrytest.PushBase(b, reg, "base/static", amd64, arm64)
	// Flightline runs as the binary the actions use (lean), like ko runs as its binary.
	flightline := filepath.Join(b.TempDir(), "flightline")
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	gb := exec.Command("go", "build", "-tags", "lean", "-o", flightline, "./cmd/flightline")
	gb.Dir = root
	if out, err := gb.CombinedOutput(); err != nil {
		b.Fatalf("building flightline: %v\n%s", err, out)
	}
	home := b.TempDir()
	tools := map[string]func(repo string) error{
		"flightline": func(repo string) error {
			cmd := exec.CommandContext(ctx, flightline, "build", "--dir", dir, "--main", "./examples/agent",
				"--image", reg.Ref(repo), "--platforms", "linux/amd64,linux/arm64", "--base", base,
				"--tags", "type=semver,pattern={{version}},value=v1.5.0")
			cmd.Env = append(os.Environ(), "FLIGHTLINE_CACHE="+home)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("flightline: %w\n%s", err, out.String())
			}
			return nil
		},
		"ko": func(repo string) error {
			cmd := exec.CommandContext(ctx, ko, "build", "--bare", "--sbom=none", "--platform=linux/amd64,linux/arm64", "./examples/agent")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "KO_DOCKER_REPO="+reg.Ref(repo), "KO_DEFAULTBASEIMAGE="+base)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("ko: %w\n%s", err, out.String())
			}
			return nil
		},
	}
	res := map[string]map[string]*samples{}
	for name := range tools {
		res[name] = map[string]*samples{}
		for _, c := range benchCases {
			res[name][c] = &samples{}
		}
		// Warm-up, not counted: fills the Go build cache for each tool's flags.
		setMarker(b, dir, "base")
		if err := tools[name]("bench/warmup-" + name); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range rounds {
		order := []string{"flightline", "ko"}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			repo := fmt.Sprintf("bench/%s-%d", name, i)
			setMarker(b, dir, "base")
			for _, c := range benchCases {
				if c == "one-line change" {
					setMarker(b, dir, fmt.Sprintf("round-%d-%s", i, name))
				}
				reg.Reset()
				start := time.Now()
				if err := tools[name](repo); err != nil {
					b.Fatalf("%s, %s: %v", name, c, err)
				}
				res[name][c].times = append(res[name][c].times, float64(time.Since(start).Microseconds())/1e3)
				res[name][c].bytes = append(res[name][c].bytes, float64(reg.Stats().BlobBytes))
			}
		}
	}
	setMarker(b, dir, "base")
	return res
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(n float64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}
