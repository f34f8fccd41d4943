package publish_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/build"
	"github.com/labrats-work/flightline/pkg/publish"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// markerFile is added to the agent in the test copy; changing its one value line is the
// "one-line code change" (the init keeps the string in the binary).
const markerFile = `package main

var buildMarker = "base"

func init() {
	if buildMarker == "" {
		panic("buildMarker")
	}
}
`

// agentModule copies the module's go.mod, go.sum and examples/agent into a fresh git repository
// (one commit) and returns its directory; build it as ./examples/agent.
func agentModule(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	src := filepath.Join(root, "examples", "agent")
	dst := filepath.Join(dir, "examples", "agent")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type()&fs.ModeType != 0 || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dst, "marker.go"), []byte(markerFile), 0o644))
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "agent"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2025-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2025-01-02T03:04:05Z")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return dir
}

// setMarker makes the one-line change.
func setMarker(t testing.TB, dir, value string) {
	t.Helper()
	p := filepath.Join(dir, "examples", "agent", "marker.go")
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(markerFile, `"base"`, `"`+value+`"`, 1)), 0o644))
}

func TestAcceptance_AgentIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/agent for two platforms")
	}
	// A cold cross-compile of the agent for linux/arm64 (about 90 s of a newcomer's first go test):
	// the build and publish tests cover the same paths on one platform locally; CI runs this one.
	testenv.CIOnly(t, "builds examples/agent for linux/amd64 and linux/arm64 against two registries")
	dir := agentModule(t)
	for regName, start := range registries() {
		t.Run(regName, func(t *testing.T) {
			ctx := context.Background()
			reg := start(t)
			base := registrytest.PushBase(t, reg, "base/static", amd64, arm64)
			newBuilder := func() *build.Go {
				return build.NewGo(dir, "./examples/agent", build.WithPlatforms(amd64, arm64), build.WithBase(base),
					build.WithVersion("1.5.0"), build.WithExposedPorts("8080"), build.WithCacheDir(t.TempDir()))
			}
			p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
			require.NoError(t, err)

			// 1. A linux/amd64 + linux/arm64 index.
			first, err := newBuilder().Build(ctx)
			require.NoError(t, err)
			rep, err := p.Publish(ctx, first, []string{"1.5.0", "1.5"})
			require.NoError(t, err)
			ref, err := name.ParseReference(reg.Ref("acme/agent:1.5.0"))
			require.NoError(t, err)
			idx, err := remote.Index(ref)
			require.NoError(t, err)
			require.NoError(t, validate.Index(idx))
			im, err := idx.IndexManifest()
			require.NoError(t, err)
			require.Len(t, im.Manifests, 2)
			assert.Equal(t, "linux/amd64", im.Manifests[0].Platform.String())
			assert.Equal(t, "linux/arm64", im.Manifests[1].Platform.String())
			assert.Equal(t, "1.5.0", im.Annotations[build.LabelVersion])
			require.Len(t, rep.Images, 2)
			for _, img := range rep.Images {
				require.Len(t, img.Layers, 2, "base layer + binary layer")
				assert.Equal(t, publish.StatusUploaded, img.Layers[1].Status, "the binary layer is new")
			}

			// 2. Same inputs, new builder and cache: same digest, nothing uploaded.
			again, err := newBuilder().Build(ctx)
			require.NoError(t, err)
			assert.Equal(t, digestOf(t, first), digestOf(t, again))
			reg.Reset()
			rep, err = p.Publish(ctx, again, []string{"1.5.0", "1.5"})
			require.NoError(t, err)
			assert.Zero(t, rep.BytesUploaded)
			assert.Zero(t, reg.Stats().BlobBytes, "no-op rebuild: zero bytes")

			// 3. A one-line change uploads only the binary layers (and the configs that name them).
			setMarker(t, dir, "changed-"+regName)
			t.Cleanup(func() { setMarker(t, dir, "base") })
			changed, err := newBuilder().Build(ctx)
			require.NoError(t, err)
			reg.Reset()
			rep, err = p.Publish(ctx, changed, []string{"1.5.1"})
			require.NoError(t, err)
			var wantBlobs []string
			var wantBytes int64
			for i, img := range rep.Images {
				assert.Equal(t, publish.StatusPresent, img.Layers[0].Status, "%s: base layer not sent", img.Platform)
				assert.Equal(t, publish.StatusUploaded, img.Layers[1].Status, "%s: binary layer sent", img.Platform)
				assert.Equal(t, rep.Images[i].Layers[0].Digest, layerDigest(t, first, i, 0), "base layer digest unchanged")
				assert.NotEqual(t, rep.Images[i].Layers[1].Digest, layerDigest(t, first, i, 1), "binary layer digest changed")
				wantBlobs = append(wantBlobs, img.Layers[1].Digest)
				wantBytes += img.Layers[1].Size
				cfg := configOf(t, changed, i)
				wantBlobs = append(wantBlobs, cfg.Digest.String())
				wantBytes += cfg.Size
			}
			s := reg.Stats()
			assert.ElementsMatch(t, wantBlobs, s.Blobs, "the registry received the two binary layers and the two configs, nothing else")
			assert.Equal(t, wantBytes, s.BlobBytes)
			assert.Equal(t, wantBytes, rep.BytesUploaded)
		})
	}
}

func TestAcceptance_BadBaseNamesIt(t *testing.T) {
	dir := agentModule(t)
	for regName, start := range registries() {
		t.Run(regName, func(t *testing.T) {
			reg := start(t)
			missing := reg.Ref("base/missing:latest")
			_, err := build.NewGo(dir, "./examples/agent", build.WithBase(missing)).Build(context.Background())
			require.ErrorIs(t, err, build.ErrBase)
			assert.Contains(t, err.Error(), missing)
		})
	}
}

func digestOf(t testing.TB, a build.Artifact) string {
	t.Helper()
	d, err := a.Digest()
	require.NoError(t, err)
	return d.String()
}

func childImage(t testing.TB, a build.Artifact, i int) v1.Image {
	t.Helper()
	idx := a.(v1.ImageIndex)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	img, err := idx.Image(im.Manifests[i].Digest)
	require.NoError(t, err)
	return img
}

func layerDigest(t testing.TB, a build.Artifact, img, layer int) string {
	t.Helper()
	ls, err := childImage(t, a, img).Layers()
	require.NoError(t, err)
	d, err := ls[layer].Digest()
	require.NoError(t, err)
	return d.String()
}

func configOf(t testing.TB, a build.Artifact, i int) v1.Descriptor {
	t.Helper()
	m, err := childImage(t, a, i).Manifest()
	require.NoError(t, err)
	return m.Config
}
