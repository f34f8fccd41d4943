package acttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// setup runs scripts/setup.sh install as a job step would, with cache as FLIGHTLINE_CACHE and
// the host's module cache (so that a cold build measures compilation, not downloads).
func setup(tb testing.TB, root, cache string, extraEnv ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "setup.sh"), "install")
	cmd.Env = append(os.Environ(), "FLIGHTLINE_CACHE="+cache, "FLIGHTLINE_SETUP_KEY=",
		"GOMODCACHE="+strings.TrimSpace(string(modcache)),
		"GITHUB_PATH="+filepath.Join(dir, "path"), "GITHUB_ENV="+filepath.Join(dir, "env"))
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("setup.sh: %v\n%s", err, out)
	}
	return string(out)
}

func TestSetup_BuildsOnceThenReuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: skipped in -short")
	}
	root, cache := RepoRoot(t), t.TempDir()
	if out := setup(t, root, cache); !strings.Contains(out, "flightline: built ") {
		t.Fatalf("first use should build: %s", out)
	}
	if out := setup(t, root, cache); !strings.Contains(out, "flightline: reusing ") {
		t.Fatalf("a restored cache should be reused: %s", out)
	}
	bins, _ := filepath.Glob(filepath.Join(cache, "bin", "*", "flightline"))
	if len(bins) != 1 {
		t.Fatalf("want one binary in the cache, got %v", bins)
	}
	out, err := exec.Command(bins[0], "version").Output()
	if err != nil || !strings.Contains(string(out), "edition=lean") {
		t.Fatalf("the set-up builds the lean edition: %v %s", err, out)
	}
}

// BenchmarkSetup_Warm is a job whose cache holds the binary (restored by actions/cache, or a
// second job on the same runner): target ≤ 1 s per set-up.
func BenchmarkSetup_Warm(b *testing.B) {
	root, cache := RepoRoot(b), b.TempDir()
	setup(b, root, cache)
	b.ResetTimer()
	for b.Loop() {
		setup(b, root, cache)
	}
}

// BenchmarkSetup_Cold is a job with empty Go build and binary caches (modules already
// downloaded): the compile time of the lean binary. Run with -benchtime=1x.
func BenchmarkSetup_Cold(b *testing.B) {
	root := RepoRoot(b)
	for b.Loop() {
		cache := b.TempDir()
		setup(b, root, cache, "GOCACHE="+filepath.Join(cache, "go-build"))
	}
}
