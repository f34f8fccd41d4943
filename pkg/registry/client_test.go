package registry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastBackoff keeps retry tests quick.
var fastBackoff = remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 4}

// newRegistry starts go-containerregistry's in-process registry behind wrap (nil: none) and
// returns its host.
func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// push writes a small random image to repo under each tag and returns its digest.
func push(t *testing.T, repo string, tags ...string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	for _, tag := range tags {
		ref, err := name.NewTag(repo + ":" + tag)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img))
	}
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

func TestClient_TagsAndDigest(t *testing.T) {
	host := newRegistry(t, nil)
	repo := host + "/acme/agent"
	d140 := push(t, repo, "1.4.0", "v1.4.0")
	d150 := push(t, repo, "1.5.0")

	c := New(WithRetryBackoff(fastBackoff))
	tags, err := c.Tags(context.Background(), repo)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"1.4.0", "v1.4.0", "1.5.0"}, tags)

	got, err := c.Digest(context.Background(), repo, "1.5.0")
	require.NoError(t, err)
	assert.Equal(t, d150, got)
	got, err = c.Digest(context.Background(), repo, "v1.4.0")
	require.NoError(t, err)
	assert.Equal(t, d140, got)
	assert.True(t, strings.HasPrefix(got, "sha256:"))
}

func TestClient_DigestFallsBackToGet(t *testing.T) {
	var gets atomic.Int32
	var strip atomic.Bool // after the push: remote.Write checks for the manifest with HEAD too
	host := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				if r.Method == http.MethodHead && strip.Load() {
					// A registry whose HEAD answer carries no digest.
					w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
					w.WriteHeader(http.StatusOK)
					return
				}
				if r.Method == http.MethodGet {
					gets.Add(1)
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	repo := host + "/acme/agent"
	want := push(t, repo, "1.5.0")
	strip.Store(true)
	got, err := New(WithRetryBackoff(fastBackoff)).Digest(context.Background(), repo, "1.5.0")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, int32(1), gets.Load())
}

func TestClient_RetriesServerErrors(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var failures, lists atomic.Int32
			host := newRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/tags/list") {
						lists.Add(1)
						if failures.Load() < 2 {
							failures.Add(1)
							http.Error(w, "try again", status)
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			})
			repo := host + "/acme/agent"
			push(t, repo, "1.5.0")
			tags, err := New(WithRetryBackoff(fastBackoff)).Tags(context.Background(), repo)
			require.NoError(t, err)
			assert.Equal(t, []string{"1.5.0"}, tags)
			assert.Equal(t, int32(3), lists.Load(), "two failures, then success")
		})
	}
}

func TestClient_GivesUpAfterRetries(t *testing.T) {
	var lists atomic.Int32
	host := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				lists.Add(1)
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, err := New(WithRetryBackoff(fastBackoff)).Tags(context.Background(), host+"/acme/agent")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listing the tags of "+host+"/acme/agent")
	assert.Contains(t, err.Error(), "502")
	assert.Equal(t, int32(fastBackoff.Steps), lists.Load())
}

func TestClient_Errors(t *testing.T) {
	// An address where nothing listens any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())

	// A registry that wants credentials.
	authHost := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "secret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	forbiddenHost := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				next.ServeHTTP(w, r)
				return
			}
			http.Error(w, `{"errors":[{"code":"DENIED","message":"denied"}]}`, http.StatusForbidden)
		})
	})
	host := newRegistry(t, nil)
	push(t, host+"/acme/agent", "1.5.0")

	tests := []struct {
		name      string
		call      func(c *Client) error
		want      error
		fragments []string
	}{
		{"unreachable", func(c *Client) error { _, err := c.Tags(context.Background(), closed+"/acme/agent"); return err },
			ErrUnreachable, []string{closed + "/acme/agent", "check the address and the network"}},
		{"unreachable digest", func(c *Client) error {
			_, err := c.Digest(context.Background(), closed+"/acme/agent", "1.5.0")
			return err
		},
			ErrUnreachable, []string{closed + "/acme/agent:1.5.0"}},
		{"401", func(c *Client) error { _, err := c.Tags(context.Background(), authHost+"/acme/agent"); return err },
			ErrUnauthorized, []string{authHost + "/acme/agent", "GITHUB_TOKEN needs packages:read", "docker login"}},
		{"403", func(c *Client) error {
			_, err := c.Digest(context.Background(), forbiddenHost+"/acme/agent", "1.5.0")
			return err
		},
			ErrUnauthorized, []string{forbiddenHost + "/acme/agent:1.5.0", "(403)"}},
		{"missing repository", func(c *Client) error { _, err := c.Tags(context.Background(), host+"/acme/nothing"); return err },
			ErrNotFound, []string{host + "/acme/nothing", "does not exist, or it is private"}},
		{"missing tag", func(c *Client) error {
			_, err := c.Digest(context.Background(), host+"/acme/agent", "9.9.9")
			return err
		},
			ErrNotFound, []string{host + "/acme/agent:9.9.9"}},
		{"bad repository", func(c *Client) error { _, err := c.Tags(context.Background(), "Not A Repo"); return err },
			ErrInvalidReference, []string{`"Not A Repo"`, "HOST/PATH"}},
		{"bad tag", func(c *Client) error {
			_, err := c.Digest(context.Background(), host+"/acme/agent", "bad tag")
			return err
		},
			ErrInvalidReference, []string{`"bad tag"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(New(WithRetryBackoff(fastBackoff)))
			require.ErrorIs(t, err, tc.want)
			t.Log(err)
			for _, f := range tc.fragments {
				assert.Contains(t, err.Error(), f)
			}
		})
	}

	// With the right credentials the same registry answers.
	kc := staticKeychain{authn.FromConfig(authn.AuthConfig{Username: "robot", Password: "secret"})}
	ref, err := name.NewTag(authHost + "/acme/agent:1.5.0")
	require.NoError(t, err)
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithAuthFromKeychain(kc)))
	tags, err := New(WithKeychain(kc), WithRetryBackoff(fastBackoff)).Tags(context.Background(), authHost+"/acme/agent")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.5.0"}, tags)
}

func TestClient_ContextCancelled(t *testing.T) {
	host := newRegistry(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(WithRetryBackoff(fastBackoff)).Tags(ctx, host+"/acme/agent")
	require.ErrorIs(t, err, context.Canceled)
}

type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// toLocal sends every request to the test registry, whatever host it names (ghcr.io here), so
// that the GHCR credentials path runs end to end.
type toLocal struct{ host string }

func (t toLocal) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = "http", t.host
	return http.DefaultTransport.RoundTrip(r)
}

func TestClient_GHCRUsesWorkflowToken(t *testing.T) {
	var seen atomic.Value
	host := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tags/list") {
				seen.Store(u + ":" + p)
			}
			if !ok || u != "octo" || p != "ghs_token" {
				w.Header().Set("WWW-Authenticate", `Basic realm="ghcr"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	ref, err := name.NewTag(host + "/acme/agent:1.5.0") // the same repository as ghcr.io/acme/agent through toLocal
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "octo", Password: "ghs_token"})))

	env := map[string]string{"GITHUB_TOKEN": "ghs_token", "GITHUB_ACTOR": "octo"}
	c := New(WithGetenv(func(k string) string { return env[k] }), WithTransport(toLocal{host}), WithRetryBackoff(fastBackoff))
	tags, err := c.Tags(context.Background(), "ghcr.io/acme/agent")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.5.0"}, tags)
	assert.Equal(t, "octo:ghs_token", seen.Load())

	// Without the token the same call is refused, and the error says what to check.
	_, err = New(WithTransport(toLocal{host}), WithRetryBackoff(fastBackoff)).Tags(context.Background(), "ghcr.io/acme/agent")
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Contains(t, err.Error(), "ghcr.io/acme/agent")
	assert.Contains(t, err.Error(), "GITHUB_TOKEN needs packages:read")
}
