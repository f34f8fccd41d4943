package imagepolicy_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/registry"
)

var _ imagepolicy.TagSource = (*registry.Client)(nil)

// startRegistry runs go-containerregistry's in-process registry and pushes one small random
// image per tag (tags in one group share an image); it returns the repository and the digests.
func startRegistry(t testing.TB, groups ...[]string) (string, map[string]string) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/ai-agents-api"
	digests := map[string]string{}
	for _, tags := range groups {
		img, err := random.Image(128, 1)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		for _, tag := range tags {
			ref, err := name.NewTag(repo + ":" + tag)
			require.NoError(t, err)
			require.NoError(t, remote.Write(ref, img))
			digests[tag] = d.String()
		}
	}
	return repo, digests
}

func TestResolve_Registry(t *testing.T) {
	repo, digests := startRegistry(t,
		[]string{"1.3.0"}, []string{"1.4.0", "latest"}, []string{"1.4.1"},
		[]string{"v1.5.0"}, []string{"1.6.0-rc.1"}, []string{"2.0.0"}, []string{"v2.0.0"})
	src := registry.New(registry.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3}))
	ctx := context.Background()

	tests := []struct {
		name, rng, tag string
		err            error
		fragments      []string
	}{
		{"exact", "1.4.0", "1.4.0", nil, nil},
		{"patch", "~1.4.0", "1.4.1", nil, nil},
		{"v prefix", "1.5.0", "v1.5.0", nil, nil},
		{"pre-release excluded", ">=1.4.0 <2.0.0", "v1.5.0", nil, nil},
		{"pre-release included when asked", ">=1.6.0-0 <2.0.0", "1.6.0-rc.1", nil, nil},
		// OCI tags cannot hold '+', so in a registry the tie is a leading v. The registry lists
		// tags in lexical order and Flux keeps the first of equal versions: "2.0.0".
		{"equal versions: the first listed", ">=2.0.0", "2.0.0", nil, nil},
		{"no match", "~3.0.0", "", imagepolicy.ErrNoMatch, []string{`"~3.0.0"`, repo}},
		{"invalid range", "one", "", imagepolicy.ErrInvalidRange, []string{`"one"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := imagepolicy.Resolve(ctx, tc.rng, repo, src)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				for _, f := range tc.fragments {
					assert.Contains(t, err.Error(), f)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, imagepolicy.Resolution{Range: tc.rng, Tag: tc.tag, Digest: digests[tc.tag]}, res)
		})
	}
}

func TestResolve_Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = imagepolicy.Resolve(context.Background(), "1.4.0", addr+"/acme/agent", registry.New())
	require.ErrorIs(t, err, registry.ErrUnreachable)
	assert.Contains(t, err.Error(), `resolving range "1.4.0" in `+addr+"/acme/agent")
	assert.Contains(t, err.Error(), "check the address and the network")
}

func TestTarget_Resolve(t *testing.T) {
	repo, digests := startRegistry(t,
		[]string{"prod-v1.7.0-aaaaaaa"}, []string{"prod-v1.7.3-bbbbbbb"}, []string{"prod-v1.8.0-ccccccc"},
		[]string{"prod-v1.8.0-ccccccc.sig"}, []string{"1.9.0", "latest"})
	data, err := os.ReadFile("testdata/real/filter-extract.yaml")
	require.NoError(t, err)
	data = []byte(strings.ReplaceAll(string(data), "IMAGE", repo))
	ref := imagepolicy.Ref{Namespace: "flux-system", Name: "agent"}
	src := registry.New(registry.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3}))

	tg, err := imagepolicy.Load(data, ref, imagepolicy.LoadOptions{})
	require.NoError(t, err)
	res, err := tg.Resolve(context.Background(), src, "")
	require.NoError(t, err)
	assert.Equal(t, "prod-v1.7.3-bbbbbbb", res.Tag)
	assert.Equal(t, digests["prod-v1.7.3-bbbbbbb"], res.Digest)
	assert.Equal(t, repo, res.Image)
	sum := res.Summary()
	for _, f := range []string{
		"### ImagePolicy flux-system/agent",
		"| tag | `prod-v1.7.3-bbbbbbb` |",
		"| version rules | Flux ≥ 2.7 |",
		"| filterTags | pattern `^prod-v(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+(-rc\\.[0-9]+)?)-[a-f0-9]{7}$`, extract `$version` |",
		"`^prod-v1\\.8\\.0-` (ImageRepository flux-system/agent)",
	} {
		assert.Contains(t, sum, f)
	}

	// The range matches nothing that reaches it: the message counts what was dropped where.
	tg.Policy.Range = ">=1.9.0"
	_, err = tg.Resolve(context.Background(), src, "")
	require.ErrorIs(t, err, imagepolicy.ErrNoMatch)
	assert.Contains(t, err.Error(), `ImagePolicy "flux-system/agent": resolving range ">=1.9.0" in `+repo)
	assert.Contains(t, err.Error(), "matches none of the 6 tags (2 excluded by the ImageRepository's exclusionList, 2 not matching filterTags.pattern; 2 of the rest versions under Flux ≥ 2.7 rules)")
}
