package forgetest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// Registry is an in-process OCI registry (go-containerregistry's pkg/registry) on loopback.
type Registry struct {
	Host string // 127.0.0.1:PORT
}

// NewRegistry starts a registry for the test.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://")}
}

// Push pushes a random image under each tag of repo (a path such as "team/agent") and returns
// the digests by tag.
func (r *Registry) Push(t testing.TB, repo string, tags ...string) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for _, tag := range tags {
		img, err := random.Image(256, 1)
		require.NoError(t, err)
		ref, err := name.NewTag(r.Host+"/"+repo+":"+tag, name.Insecure)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img))
		d, err := img.Digest()
		require.NoError(t, err)
		digests[tag] = d.String()
	}
	return digests
}

// Tags is an imagepolicy.TagSource over go-containerregistry's remote package, for tests
// (plain http to loopback; anonymous).
type Tags struct{}

// Tags lists repo's tags.
func (Tags) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repo, err)
	}
	return remote.List(r, remote.WithContext(ctx))
}

// Digest resolves repo:tag.
func (Tags) Digest(ctx context.Context, repo, tag string) (string, error) {
	r, err := name.NewTag(repo+":"+tag, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("image %s:%s: %w", repo, tag, err)
	}
	d, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}
