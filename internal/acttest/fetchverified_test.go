package acttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// releaseHost stands in for a release host: /good serves the asset, /bad serves other bytes under
// the same name, /missing is a 404, /flaky answers 429 then 503 then the asset, /down always 503.
type releaseHost struct {
	mu    sync.Mutex
	hits  map[string]int
	asset []byte
}

func (h *releaseHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hits[r.URL.Path]++
	n := h.hits[r.URL.Path]
	h.mu.Unlock()
	switch r.URL.Path {
	case "/good":
		_, _ = w.Write(h.asset)
	case "/redirect":
		http.Redirect(w, r, "/good", http.StatusFound)
	case "/bad":
		_, _ = w.Write([]byte("a binary someone swapped in"))
	case "/flaky":
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 2:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write(h.asset)
		}
	case "/down":
		http.Error(w, "down", http.StatusBadGateway)
	default:
		http.NotFound(w, r)
	}
}

func (h *releaseHost) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type fetchResult struct {
	out  string
	code int
}

// fetchVerified runs scripts/fetch-verified.sh with no back-off delay.
func fetchVerified(t *testing.T, args ...string) fetchResult {
	t.Helper()
	testenv.LookPath(t, "curl", "apt-get install -y curl")
	script := filepath.Join(RepoRoot(t), "scripts", "fetch-verified.sh")
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "FETCH_VERIFIED_BACKOFF=0", "FETCH_VERIFIED_ATTEMPTS=4", "GITHUB_ACTIONS=")
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "running %s: %v", script, err)
		code = ee.ExitCode()
	}
	return fetchResult{out: string(out), code: code}
}

// dirEntries lists a directory's names, so a test can show that a failure left nothing behind.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchVerified(t *testing.T) {
	host := &releaseHost{hits: map[string]int{}, asset: []byte("flightline release binary\n")}
	srv := httptest.NewServer(host)
	defer srv.Close()
	want := sha256Hex(host.asset)

	t.Run("good", func(t *testing.T) {
		dir := t.TempDir()
		dest := filepath.Join(dir, "bin", "flightline")
		r := fetchVerified(t, srv.URL+"/good", want, dest, "0755")
		require.Equal(t, 0, r.code, r.out)
		got, err := os.ReadFile(dest)
		require.NoError(t, err)
		assert.Equal(t, host.asset, got)
		fi, err := os.Stat(dest)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
		assert.Equal(t, []string{"flightline"}, dirEntries(t, filepath.Dir(dest)), "no temporary file left")

		before := host.count("/good")
		r = fetchVerified(t, srv.URL+"/good", strings.ToUpper(want), dest, "0755")
		require.Equal(t, 0, r.code, r.out)
		assert.Contains(t, r.out, "already present, SHA-256 verified")
		assert.Equal(t, before, host.count("/good"), "a verified file in place is not downloaded again")
	})

	t.Run("redirect", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "asset")
		r := fetchVerified(t, srv.URL+"/redirect", want, dest)
		require.Equal(t, 0, r.code, r.out)
		fi, err := os.Stat(dest)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	})

	t.Run("bad hash: both hashes printed, nothing left", func(t *testing.T) {
		dir := t.TempDir()
		dest := filepath.Join(dir, "new", "flightline")
		r := fetchVerified(t, srv.URL+"/bad", want, dest)
		assert.Equal(t, 1, r.code, r.out)
		assert.Contains(t, r.out, "SHA-256 mismatch")
		assert.Contains(t, r.out, "expected: "+want)
		assert.Contains(t, r.out, "got:      "+sha256Hex([]byte("a binary someone swapped in")))
		assert.Empty(t, dirEntries(t, dir))
	})

	t.Run("bad hash keeps an existing file unchanged", func(t *testing.T) {
		dir := t.TempDir()
		dest := filepath.Join(dir, "flightline")
		require.NoError(t, os.WriteFile(dest, []byte("old"), 0o755))
		r := fetchVerified(t, srv.URL+"/bad", want, dest)
		assert.Equal(t, 1, r.code, r.out)
		got, err := os.ReadFile(dest)
		require.NoError(t, err)
		assert.Equal(t, "old", string(got))
		assert.Equal(t, []string{"flightline"}, dirEntries(t, dir))
	})

	t.Run("missing: no retry, nothing left", func(t *testing.T) {
		dir := t.TempDir()
		r := fetchVerified(t, srv.URL+"/missing", want, filepath.Join(dir, "flightline"))
		assert.Equal(t, 1, r.code, r.out)
		assert.Contains(t, r.out, "HTTP 404")
		assert.Equal(t, 1, host.count("/missing"), "a 404 is not retried")
		assert.Empty(t, dirEntries(t, dir))
	})

	t.Run("429 then 503 then ok", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "flightline")
		r := fetchVerified(t, srv.URL+"/flaky", want, dest)
		require.Equal(t, 0, r.code, r.out)
		assert.Equal(t, 3, host.count("/flaky"))
		assert.Contains(t, r.out, "HTTP 429; retry 1 of 3")
		assert.Contains(t, r.out, "HTTP 503; retry 2 of 3")
		got, err := os.ReadFile(dest)
		require.NoError(t, err)
		assert.Equal(t, host.asset, got)
	})

	t.Run("5xx is retried a bounded number of times", func(t *testing.T) {
		dir := t.TempDir()
		r := fetchVerified(t, srv.URL+"/down", want, filepath.Join(dir, "flightline"))
		assert.Equal(t, 1, r.code, r.out)
		assert.Contains(t, r.out, "HTTP 502, 4 attempts")
		assert.Equal(t, 4, host.count("/down"))
		assert.Empty(t, dirEntries(t, dir))
	})

	t.Run("connection refused is retried, then fails", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		dir := t.TempDir()
		r := fetchVerified(t, "http://"+addr+"/flightline", want, filepath.Join(dir, "flightline"))
		assert.Equal(t, 1, r.code, r.out)
		assert.Contains(t, r.out, "connection error (curl exit 7), 4 attempts")
		assert.Empty(t, dirEntries(t, dir))
	})

	t.Run("usage errors", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "x")
		for _, args := range [][]string{
			{srv.URL + "/good", want},
			{srv.URL + "/good", "abc", dest},
			{srv.URL + "/good", strings.Repeat("g", 64), dest},
			{"file:///etc/passwd", want, dest},
			{srv.URL + "/good", want, dest, "rwx"},
		} {
			r := fetchVerified(t, args...)
			assert.Equal(t, 2, r.code, "%v: %s", args, r.out)
		}
		assert.NoFileExists(t, dest)
	})
}
