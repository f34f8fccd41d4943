package acttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// ReleaseVersion is the version of the release that Run puts in the repository copy.
const ReleaseVersion = "dev"

// serveRelease turns the repository copy into a release of itself: release/version,
// release/SHA256SUMS with the hash of the lean binary for this machine and release/source.sha256
// with the copy's digest. It serves the binary at BASE/VERSION/ASSET from an in-process release
// host (or whatever host returns) and gives BASE.
func serveRelease(t testing.TB, repo string, host func(path string, asset []byte) http.Handler) string {
	t.Helper()
	writeFile(t, filepath.Join(repo, "release", "version"), ReleaseVersion+"\n")
	digest := scriptOut(t, repo, "digest")
	bin := testRelease(t, repo, digest)
	asset, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	name := scriptOut(t, repo, "asset", runtime.GOOS, runtime.GOARCH, "lean")
	sum := sha256.Sum256(asset)
	writeFile(t, filepath.Join(repo, "release", "SHA256SUMS"), hex.EncodeToString(sum[:])+"  "+name+"\n")
	writeFile(t, filepath.Join(repo, "release", "source.sha256"), digest+"\n")
	if got := scriptOut(t, repo, "digest"); got != digest {
		t.Fatalf("acttest: release/SHA256SUMS changed the tree's digest (%s → %s): the hash file must not be a build input", digest, got)
	}

	path := "/" + ReleaseVersion + "/" + name
	var h http.Handler
	if host != nil {
		h = host(path, asset)
	} else {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(asset)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func scriptOut(t testing.TB, repo string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repo, "scripts", "release.sh"), args...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("acttest: scripts/release.sh %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

var releaseMu sync.Mutex

// testRelease builds the lean binary of the tree in repo, once per source digest: the binary is
// kept in the user's cache directory (flightline/acttest-release/DIGEST), so act tests of one
// tree, in this process, another test process or a later run, share one build. It is built with
// the host's Go and go's default flags, not the release flags: the set-up only checks its hash
// against release/SHA256SUMS, and with the default flags every package it needs is already in Go's
// build cache from the `go test` that runs this (and from `go run ./cmd/flightline demo`), so it
// costs a link, not a compile.
func testRelease(t testing.TB, repo, digest string) string {
	t.Helper()
	releaseMu.Lock()
	defer releaseMu.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "flightline", "acttest-release", digest)
	bin := filepath.Join(dir, "flightline")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, ".flightline-*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-tags", "lean", "-buildvcs=false",
		"-ldflags", "-X main.version="+ReleaseVersion, "-o", tmp.Name(), "./cmd/flightline")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("acttest: building the test release: %v\n%s", err, out)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}
