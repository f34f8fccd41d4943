package registrytest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BaseIndex returns a small, deterministic multi-platform base image (OCI index): per platform
// one layer with /etc/passwd, /etc/group (a nonroot user 65532) and a per-platform /etc/os-release,
// a PATH and a label. It stands in for a distroless "static" base in tests and benchmarks.
func BaseIndex(t testing.TB, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		files := map[string]string{
			"etc/group":      "root:x:0:\nnonroot:x:65532:\n",
			"etc/os-release": "ID=flightline-test-base\nPLATFORM=" + p.String() + "\n",
			"etc/passwd":     "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)})
		for _, n := range []string{"etc/group", "etc/os-release", "etc/passwd"} {
			_ = tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)})
			_, _ = tw.Write([]byte(files[n]))
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cf.Config.Labels = map[string]string{"base": "flightline-test"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		pp := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pp}})
	}
	return idx
}

// PushBase pushes BaseIndex(platforms) to repo in r and returns its reference (HOST:PORT/repo:latest).
// The push is not counted in r's statistics.
func PushBase(t testing.TB, r *Registry, repo string, platforms ...v1.Platform) string {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repo) + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, BaseIndex(t, platforms...)); err != nil {
		t.Fatalf("pushing the test base %s: %v", ref, err)
	}
	r.Reset()
	return ref.String()
}
