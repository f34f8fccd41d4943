package build_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/build"
)

// binarySettings builds the hello module and returns the go build settings recorded in the
// image's binary.
func binarySettings(t *testing.T, opts ...build.GoOption) map[string]string {
	t.Helper()
	art, err := build.NewGo(helloModule(t), ".", opts...).Build(context.Background())
	require.NoError(t, err)
	layers, err := art.(v1.Image).Layers()
	require.NoError(t, err)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		bi, err := buildinfo.Read(bytes.NewReader(data))
		require.NoError(t, err)
		s := map[string]string{}
		for _, kv := range bi.Settings {
			s[kv.Key] = kv.Value
		}
		return s
	}
	t.Fatal("no binary in the layer")
	return nil
}

// By default an image's binary is built with -trimpath and CGO_ENABLED=0; WithLocalFlags gives
// a plain go build's settings instead (what the demo uses to share go run's build cache).
func TestGo_LocalFlags(t *testing.T) {
	def := binarySettings(t)
	assert.Equal(t, "true", def["-trimpath"])
	assert.Equal(t, "0", def["CGO_ENABLED"])

	local := binarySettings(t, build.WithLocalFlags(build.LocalFlags{}))
	assert.Empty(t, local["-trimpath"], "no -trimpath")
	assert.Equal(t, "0", local["CGO_ENABLED"])
}
