// Package registrytest runs real OCI registries for tests (go-containerregistry's in-process one and Debian's docker-registry) behind a handler that counts uploads and injects faults.
package registrytest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is a running test registry. Every request goes through a wrapping handler that
// counts blob uploads and manifest writes and can answer with injected faults.
type Registry struct {
	// URL is the registry's base URL (http://127.0.0.1:PORT).
	URL string
	// Host is HOST:PORT, the registry part of an image reference.
	Host string

	mu      sync.Mutex
	stats   Stats
	faults  []*fault
	backend http.Handler
}

// Stats counts what clients wrote to the registry.
type Stats struct {
	// BlobBytes is the number of request-body bytes received by blob upload requests
	// (POST/PATCH/PUT under /v2/NAME/blobs/uploads/), whether or not the upload succeeded.
	BlobBytes int64
	// Blobs lists the digests of blob uploads the registry committed (PUT …?digest=D → 201).
	Blobs []string
	// Manifests lists "NAME:REF" for every manifest the registry accepted (PUT → 201).
	Manifests []string
	// Faults counts the injected error answers (see Fail).
	Faults int
	// Requests counts every request by method.
	Requests map[string]int
	// Paths lists the path of every request, in order.
	Paths []string
}

// PathRequests counts the requests whose path starts with prefix.
func (s Stats) PathRequests(prefix string) int {
	n := 0
	for _, p := range s.Paths {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// Stats returns a copy of the counters.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Blobs = append([]string(nil), s.Blobs...)
	s.Manifests = append([]string(nil), s.Manifests...)
	s.Paths = append([]string(nil), s.Paths...)
	s.Requests = map[string]int{}
	for k, v := range r.stats.Requests {
		s.Requests[k] = v
	}
	return s
}

// Reset zeroes the counters (faults stay).
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = Stats{Requests: map[string]int{}}
}

type fault struct {
	method string
	path   *regexp.Regexp
	status int
	skip   int // matching requests to let through first
	times  int // how many to fail; <0 = forever
}

// Fail makes the registry answer status (with a registry-style JSON error and without reading
// the body) to requests whose method is method ("" = any) and whose path matches pathRE: the
// first skip matching requests pass, then the next times fail (times < 0: all of them).
// Example: Fail(http.MethodPatch, `/blobs/uploads/`, 1, 1, 500) fails the second blob PATCH once.
func (r *Registry) Fail(method, pathRE string, skip, times, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, &fault{method: method, path: regexp.MustCompile(pathRE), status: status, skip: skip, times: times})
}

// Heal removes every injected fault (the counters stay).
func (r *Registry) Heal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = nil
}

// Drop makes the registry drop the connection (no answer at all, as a proxy or a crashed
// registry would) on requests matched as by Fail: the first skip pass, then the next times are
// dropped (times < 0: all of them). Drops count in Stats.Faults.
func (r *Registry) Drop(method, pathRE string, skip, times int) {
	r.Fail(method, pathRE, skip, times, dropStatus)
}

// dropStatus marks a fault that drops the connection instead of answering.
const dropStatus = 0

// Ref returns HOST:PORT/repo, the reference of a repository in this registry.
func (r *Registry) Ref(repo string) string { return r.Host + "/" + repo }

var blobUpload = regexp.MustCompile(`^/v2/.+/blobs/uploads/`)
var manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.stats.Requests[req.Method]++
	r.stats.Paths = append(r.stats.Paths, req.URL.Path)
	for _, f := range r.faults {
		if (f.method != "" && f.method != req.Method) || !f.path.MatchString(req.URL.Path) || f.times == 0 {
			continue
		}
		if f.skip > 0 {
			f.skip--
			continue
		}
		if f.times > 0 {
			f.times--
		}
		r.stats.Faults++
		r.mu.Unlock()
		if f.status == dropStatus {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the response
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"registrytest: injected %d"}]}`, f.status)
		return
	}
	r.mu.Unlock()

	upload := blobUpload.MatchString(req.URL.Path)
	if upload && req.Body != nil {
		req.Body = &countingBody{ReadCloser: req.Body, r: r}
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	r.backend.ServeHTTP(rec, req)
	if rec.status != http.StatusCreated || req.Method != http.MethodPut {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if upload {
		r.stats.Blobs = append(r.stats.Blobs, req.URL.Query().Get("digest"))
	} else if m := manifestPath.FindStringSubmatch(req.URL.Path); m != nil {
		r.stats.Manifests = append(r.stats.Manifests, m[1]+":"+m[2])
	}
}

type countingBody struct {
	io.ReadCloser
	r *Registry
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.r.mu.Lock()
	b.r.stats.BlobBytes += int64(n)
	b.r.mu.Unlock()
	return n, err
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// New starts go-containerregistry's in-process registry (pkg/registry) on a loopback port,
// wrapped in the counting handler, and stops it when the test ends. Its blobs are kept per
// repository (as on GHCR), so a push to a new repository uploads every blob it needs.
func New(t testing.TB) *Registry {
	t.Helper()
	return NewWith(t)
}

// NewWith is New with more go-containerregistry registry options, e.g.
// registry.WithReferrersSupport(true) for the OCI 1.1 referrers API.
func NewWith(t testing.TB, opts ...registry.Option) *Registry {
	t.Helper()
	opts = append([]registry.Option{registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(newRepoBlobs())}, opts...)
	return serve(t, registry.New(opts...))
}

func serve(t testing.TB, backend http.Handler) *Registry {
	r := &Registry{backend: backend}
	r.stats.Requests = map[string]int{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.URL, r.Host = srv.URL, u.Host
	return r
}

// Unreachable returns HOST:PORT of a loopback port with nothing listening on it.
func Unreachable(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return host
}
