// Package trivytest gives tests the real Trivy: it finds the pinned binary, builds an offline vulnerability DB from Flightline's own fixture advisories, serves that DB as an OCI artifact, and makes small Alpine-shaped images with known packages.
package trivytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/labrats-work/flightline/internal/testenv"
)

// Version is the Trivy version the tests need (pkg/scan.TrivyVersion).
const Version = "v0.74.0"

// Install says how to get the binary here (TOOLS.md; .ci/run does it).
const Install = "go get -tool github.com/aquasecurity/trivy/cmd/trivy@" + Version + " in a tool module, then GOEXPERIMENT=jsonv2 go build -o ~/.cache/flightline/trivy-" + Version + "/trivy (see .ci/run)"

//go:embed testdata/fixtures.yaml
var fixtureYAML []byte

// Binary returns the path of the Trivy binary: FLIGHTLINE_TRIVY, else
// ${FLIGHTLINE_CACHE:-~/.cache/flightline}/trivy-v0.74.0/trivy, else trivy on PATH. Missing, it
// skips the test (fails under CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FLIGHTLINE_TRIVY"); p != "" {
		return p
	}
	cache := os.Getenv("FLIGHTLINE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "flightline")
	}
	p := filepath.Join(cache, "trivy-"+Version, "trivy")
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p
	}
	return testenv.LookPath(t, "trivy", Install)
}

// Meta is the metadata.json written next to the DB.
func Meta(now time.Time) metadata.Metadata {
	return metadata.Metadata{Version: db.SchemaVersion, NextUpdate: now.Add(24 * time.Hour), UpdatedAt: now.Add(-time.Hour)}
}

// DB writes the fixture vulnerability DB into cacheDir/db (trivy.db and metadata.json, fresh
// for a day from now), as Trivy keeps it in its cache.
func DB(t testing.TB, cacheDir string, meta metadata.Metadata) {
	t.Helper()
	dir := filepath.Join(cacheDir, "db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fix := filepath.Join(t.TempDir(), "fixtures.yaml")
	if err := os.WriteFile(fix, fixtureYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	loader, err := fixtures.New(filepath.Join(dir, "trivy.db"), []string{fix})
	if err != nil {
		t.Fatalf("opening the fixture DB: %v", err)
	}
	if err := loader.Load(); err != nil {
		t.Fatalf("loading the fixture advisories: %v", err)
	}
	if err := loader.Close(); err != nil {
		t.Fatal(err)
	}
	if err := metadata.NewClient(dir).Update(meta); err != nil {
		t.Fatalf("writing the DB metadata: %v", err)
	}
}

// DBLayerMediaType is the media type of the DB layer Trivy downloads.
const DBLayerMediaType = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"

// PushDB pushes the fixture DB to ref (HOST/REPO:TAG) as Trivy's DB artifact: one layer,
// db.tar.gz holding trivy.db and metadata.json, titled as Trivy expects.
func PushDB(t testing.TB, ref string, meta metadata.Metadata) {
	t.Helper()
	tmp := t.TempDir()
	DB(t, tmp, meta)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []string{"trivy.db", "metadata.json"} {
		data, err := os.ReadFile(filepath.Join(tmp, "db", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	layer := static.NewLayer(buf.Bytes(), DBLayerMediaType)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), "application/vnd.aquasec.trivy.config.v1+json")
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing the DB to %s: %v", ref, err)
	}
}

// Alpine returns an Alpine 3.19 image for platform ("linux/amd64") whose apk database lists
// pkgs (name → version, e.g. "openssl": "3.1.4-r0").
func Alpine(t testing.TB, platform string, pkgs map[string]string) v1.Image {
	t.Helper()
	var installed strings.Builder
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&installed, "P:%s\nV:%s\nA:x86_64\no:%s\nL:MIT\n\n", n, pkgs[n], n)
	}
	layer := tarLayer(t, map[string]string{
		"etc/alpine-release":   "3.19.1\n",
		"etc/os-release":       "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
		"lib/apk/db/installed": installed.String(),
	})
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	os, arch, _ := strings.Cut(platform, "/")
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = os, arch
	cfg.RootFS.Type = "layers"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.MediaType(img, types.OCIManifestSchema1)
}

func tarLayer(t testing.TB, files map[string]string) v1.Layer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	for _, d := range ds {
		_ = tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)})
	}
	for _, n := range names {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)})
		_, _ = tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Push writes img (or an index) to ref and returns REPO@DIGEST.
func Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return r.Context().String() + "@" + d.String()
}

// PushIndex writes an index of the images (keyed by platform) to ref and returns REPO@DIGEST.
func PushIndex(t testing.TB, ref string, imgs map[string]v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	ps := make([]string, 0, len(imgs))
	for p := range imgs {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		os, arch, _ := strings.Cut(p, "/")
		adds = append(adds, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, _ := idx.Digest()
	return r.Context().String() + "@" + d.String()
}

// ReportJSON decodes a JSON file into v.
func ReportJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
