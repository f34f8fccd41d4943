package registrytest

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func registries(t *testing.T) map[string]func(testing.TB) *Registry {
	return map[string]func(testing.TB) *Registry{"in-process": New, "docker-registry": Distribution}
}

func TestRegistry_CountsUploadsAndManifests(t *testing.T) {
	for name_, start := range registries(t) {
		t.Run(name_, func(t *testing.T) {
			r := start(t)
			img, err := random.Image(1000, 2)
			require.NoError(t, err)
			ref, err := name.ParseReference(r.Ref("count/me:v1"))
			require.NoError(t, err)
			require.NoError(t, remote.Write(ref, img))

			s := r.Stats()
			layers, err := img.Layers()
			require.NoError(t, err)
			var want int64
			for _, l := range layers {
				n, err := l.Size()
				require.NoError(t, err)
				want += n
			}
			cfg, err := img.RawConfigFile()
			require.NoError(t, err)
			want += int64(len(cfg))
			assert.Equal(t, want, s.BlobBytes, "bytes of both layers and the config")
			assert.Len(t, s.Blobs, 3)
			assert.Equal(t, []string{"count/me:v1"}, s.Manifests)

			// Pushing again uploads nothing: the blobs and the manifest are already there.
			r.Reset()
			require.NoError(t, remote.Write(ref, img))
			assert.Zero(t, r.Stats().BlobBytes)
			assert.Empty(t, r.Stats().Blobs)
		})
	}
}

func TestRegistry_FaultInjection(t *testing.T) {
	r := New(t)
	r.Fail(http.MethodGet, `^/v2/$`, 1, 1, http.StatusInternalServerError)
	get := func() int {
		resp, err := http.Get(r.URL + "/v2/")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, []int{200, 500, 200}, []int{get(), get(), get()}, "skip one, fail one, then pass")
}

func TestRegistry_Drop(t *testing.T) {
	r := New(t)
	r.Drop(http.MethodGet, `^/v2/$`, 0, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := client.Get(r.URL + "/v2/")
	require.Error(t, err, "the connection is dropped without an answer")
	resp, err := client.Get(r.URL + "/v2/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, r.Stats().Faults)
}

func TestBaseIndex_IsDeterministicPerPlatform(t *testing.T) {
	ps := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	a, b := BaseIndex(t, ps...), BaseIndex(t, ps...)
	da, err := a.Digest()
	require.NoError(t, err)
	db, err := b.Digest()
	require.NoError(t, err)
	assert.Equal(t, da, db)
	im, err := a.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2)
	assert.NotEqual(t, im.Manifests[0].Digest, im.Manifests[1].Digest)
	assert.Equal(t, "linux/arm64", im.Manifests[1].Platform.String())
}

func TestUnreachable_RefusesConnections(t *testing.T) {
	_, err := http.Get("http://" + Unreachable(t) + "/v2/")
	require.Error(t, err)
}

func TestNew_BlobsArePerRepository(t *testing.T) {
	r := New(t)
	img, err := random.Image(1000, 1)
	require.NoError(t, err)
	for _, repo := range []string{"a/one", "b/two"} {
		ref, err := name.ParseReference(r.Ref(repo + ":v1"))
		require.NoError(t, err)
		r.Reset()
		require.NoError(t, remote.Write(ref, img))
		assert.Len(t, r.Stats().Blobs, 2, "%s: the layer and the config are uploaded to each repository", repo)
		got, err := remote.Image(ref)
		require.NoError(t, err)
		require.NoError(t, validate.Image(got), "%s: every blob can be read back", repo)
	}
}
