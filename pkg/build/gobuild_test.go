package build_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/pkg/build"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// commitTime is the time of the test module's only commit.
const commitTime = 1700000000

// helloModule copies testdata/hello into a fresh module and git repository (one commit at
// commitTime) and returns its directory.
func helloModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/hello/main.go")
	require.NoError(t, err)
	mod, err := os.ReadFile("testdata/hello/go.mod.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "hello")
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	date := time.Unix(commitTime, 0).UTC().Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func digest(t *testing.T, a build.Artifact) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	require.NoError(t, err)
	return d
}

// layerFiles reads a layer's tar entries.
func layerFiles(t *testing.T, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		require.NoError(t, err)
		hs = append(hs, h)
	}
}

func TestGo_BuildsAMultiPlatformIndex(t *testing.T) {
	dir := helloModule(t)
	b := build.NewGo(dir, ".", build.WithPlatforms(amd64, arm64), build.WithVersion("1.2.3"),
		build.WithExposedPorts("8080"), build.WithEnv("MODE=prod"),
		build.WithGetenv(env(map[string]string{"GITHUB_SHA": "abc123", "GITHUB_REPOSITORY": "Acme/Agent", "GITHUB_SERVER_URL": "https://github.com"})))
	art, err := b.Build(context.Background())
	require.NoError(t, err)
	idx, ok := art.(v1.ImageIndex)
	require.True(t, ok, "two platforms give an index, got %T", art)
	require.NoError(t, validate.Index(idx))

	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIImageIndex, im.MediaType)
	assert.Equal(t, "https://github.com/Acme/Agent", im.Annotations[build.LabelSource])
	require.Len(t, im.Manifests, 2)
	wantMachine := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
	for i, p := range []v1.Platform{amd64, arm64} {
		desc := im.Manifests[i]
		require.NotNil(t, desc.Platform)
		assert.Equal(t, p.String(), desc.Platform.String())
		img, err := idx.Image(desc.Digest)
		require.NoError(t, err)
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, p.Architecture, cf.Architecture)
		assert.Equal(t, []string{"/usr/local/bin/" + filepath.Base(dir)}, cf.Config.Entrypoint)
		assert.Equal(t, build.DefaultUser, cf.Config.User)
		assert.Equal(t, "/", cf.Config.WorkingDir)
		assert.Contains(t, cf.Config.Env, "MODE=prod")
		assert.Contains(t, cf.Config.ExposedPorts, "8080/tcp")
		assert.Equal(t, map[string]string{
			build.LabelSource:   "https://github.com/Acme/Agent",
			build.LabelRevision: "abc123",
			build.LabelVersion:  "1.2.3",
			build.LabelCreated:  "2023-11-14T22:13:20Z",
			build.LabelTitle:    filepath.Base(dir),
		}, cf.Config.Labels)
		assert.Equal(t, int64(commitTime), cf.Created.Unix(), "created defaults to the commit time")

		layers, err := img.Layers()
		require.NoError(t, err)
		require.Len(t, layers, 1, "empty base: the binary layer only")
		hs := layerFiles(t, layers[0])
		var names []string
		for _, h := range hs {
			names = append(names, h.Name)
			assert.Equal(t, 0, h.Uid)
			assert.Equal(t, 0, h.Gid)
			assert.Equal(t, int64(commitTime), h.ModTime.Unix())
			assert.Equal(t, int64(0o755), h.Mode)
		}
		assert.Equal(t, []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/" + filepath.Base(dir)}, names)

		// The binary is really built for the platform.
		rc, err := layers[0].Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		for h, err := tr.Next(); err == nil; h, err = tr.Next() {
			if h.Typeflag == tar.TypeReg {
				bin, err := io.ReadAll(tr)
				require.NoError(t, err)
				f, err := elf.NewFile(bytes.NewReader(bin))
				require.NoError(t, err)
				assert.Equal(t, wantMachine[p.String()], f.Machine)
			}
		}
		rc.Close()
	}
}

func TestGo_SinglePlatformIsAnImageAndRuns(t *testing.T) {
	dir := helloModule(t)
	art, err := build.NewGo(dir, ".", build.WithVersion("v9.9.9")).Build(context.Background())
	require.NoError(t, err)
	img, ok := art.(v1.Image)
	require.True(t, ok, "one platform gives an image, got %T", art)
	require.NoError(t, validate.Image(img))

	// Extract the binary and run it (the host is linux/amd64): the version is linked in.
	layers, err := img.Layers()
	require.NoError(t, err)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	bin := filepath.Join(t.TempDir(), "hello")
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(bin, data, 0o755))
		}
	}
	out, err := exec.Command(bin).Output()
	require.NoError(t, err)
	assert.Equal(t, "hello v9.9.9\n", string(out))
}

func TestGo_SameInputsSameDigest(t *testing.T) {
	dir := helloModule(t)
	opts := []build.GoOption{build.WithPlatforms(amd64, arm64), build.WithVersion("1.0.0")}
	a, err := build.NewGo(dir, ".", opts...).Build(context.Background())
	require.NoError(t, err)
	// A second build, with its binaries elsewhere and the module copied to another path.
	dir2 := filepath.Join(t.TempDir(), "elsewhere")
	require.NoError(t, os.CopyFS(dir2, os.DirFS(dir)))
	b, err := build.NewGo(dir2, ".", append(opts, build.WithCacheDir(t.TempDir()), build.WithName(filepath.Base(dir)))...).Build(context.Background())
	require.NoError(t, err)
	assert.Equal(t, digest(t, a), digest(t, b))

	// A different SOURCE_DATE_EPOCH is a different input.
	c, err := build.NewGo(dir, ".", append(opts, build.WithGetenv(env(map[string]string{"SOURCE_DATE_EPOCH": "1600000000"})))...).Build(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, digest(t, a), digest(t, c))
	idx := c.(v1.ImageIndex)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, "2020-09-13T12:26:40Z", im.Annotations[build.LabelCreated])
}

func TestGo_CodeChangeChangesOnlyTheBinaryLayer(t *testing.T) {
	reg := registrytest.New(t)
	base := registrytest.PushBase(t, reg, "base/static", amd64, arm64)
	dir := helloModule(t)
	cache := t.TempDir()
	b := build.NewGo(dir, ".", build.WithPlatforms(amd64, arm64), build.WithBase(base), build.WithCacheDir(cache))
	before, err := b.Build(context.Background())
	require.NoError(t, err)

	src := filepath.Join(dir, "main.go")
	code, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(src, bytes.Replace(code, []byte(`"hello"`), []byte(`"hello, world"`), 1), 0o644))
	after, err := b.Build(context.Background())
	require.NoError(t, err)

	for _, p := range []v1.Platform{amd64, arm64} {
		l1 := platformLayers(t, before, p)
		l2 := platformLayers(t, after, p)
		require.Len(t, l1, 2, "base layer + binary layer")
		require.Len(t, l2, 2)
		assert.Equal(t, l1[0], l2[0], "%s: base layer untouched", p)
		assert.NotEqual(t, l1[1], l2[1], "%s: binary layer changed", p)
	}
	cf := platformConfig(t, after, arm64)
	assert.Equal(t, "flightline-test", cf.Config.Labels["base"], "base labels kept")
	assert.Contains(t, cf.Config.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "base PATH kept")
}

func platformImage(t *testing.T, a build.Artifact, p v1.Platform) v1.Image {
	t.Helper()
	idx := a.(v1.ImageIndex)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, d := range im.Manifests {
		if d.Platform.String() == p.String() {
			img, err := idx.Image(d.Digest)
			require.NoError(t, err)
			return img
		}
	}
	t.Fatalf("no %s in index", p)
	return nil
}

func platformConfig(t *testing.T, a build.Artifact, p v1.Platform) *v1.ConfigFile {
	cf, err := platformImage(t, a, p).ConfigFile()
	require.NoError(t, err)
	return cf
}

func platformLayers(t *testing.T, a build.Artifact, p v1.Platform) []v1.Hash {
	t.Helper()
	ls, err := platformImage(t, a, p).Layers()
	require.NoError(t, err)
	var out []v1.Hash
	for _, l := range ls {
		d, err := l.Digest()
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

func TestGo_Errors(t *testing.T) {
	reg := registrytest.New(t)
	amdOnly := registrytest.PushBase(t, reg, "base/amd64only", amd64)
	dir := helloModule(t)
	broken := helloModule(t)
	require.NoError(t, os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644))
	unreachable := registrytest.Unreachable(t) + "/base/static:latest"

	tests := []struct {
		name    string
		dir     string
		opts    []build.GoOption
		wantErr []string
	}{
		{"missing base", dir, []build.GoOption{build.WithBase(reg.Ref("base/missing:latest"))}, []string{"base image", reg.Ref("base/missing:latest")}},
		{"unreachable base registry", dir, []build.GoOption{build.WithBase(unreachable)}, []string{"base image", unreachable}},
		{"invalid base reference", dir, []build.GoOption{build.WithBase("Not A Ref")}, []string{"base image", `"Not A Ref"`}},
		{"base without the platform", dir, []build.GoOption{build.WithBase(amdOnly), build.WithPlatforms(amd64, arm64)},
			[]string{"has no image for linux/arm64", "it has: linux/amd64"}},
		{"bad SOURCE_DATE_EPOCH", dir, []build.GoOption{build.WithGetenv(env(map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}))},
			[]string{`SOURCE_DATE_EPOCH "yesterday"`}},
		{"compile error", broken, nil, []string{"go build . for linux/amd64", "undefinedThing"}},
		{"missing source directory", filepath.Join(dir, "nope"), nil, []string{"source directory", "nope"}},
		{"unsupported platform", dir, []build.GoOption{build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "z80"})}, []string{"for linux/z80"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build.NewGo(tc.dir, ".", tc.opts...).Build(context.Background())
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"linux/amd64", []string{"linux/amd64"}, ""},
		{" linux/amd64 , linux/arm64,linux/arm/v7,", []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}, ""},
		{"", nil, "no platform"},
		{"amd64", nil, `"amd64": want os/arch`},
		{"linux//amd64", nil, `"linux//amd64"`},
		{"linux/amd64,linux/amd64", nil, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := build.ParsePlatforms(tc.in)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, build.ErrBadPlatform)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			assert.Equal(t, tc.want, s)
		})
	}
}

func FuzzParsePlatforms(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm/v7,linux/arm64", "", ",,", "a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := build.ParsePlatforms(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.OS == "" || p.Architecture == "" {
				t.Fatalf("%q parsed to an incomplete platform %+v", s, p)
			}
		}
	})
}
