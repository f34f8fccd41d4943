package build_test

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/build"
)

func TestNewLayer(t *testing.T) {
	at := time.Unix(1700000000, 500) // sub-second part dropped
	files := []build.File{
		{Path: "/usr/local/bin/b", Mode: 0o755, Data: []byte("bbb")},
		{Path: "etc/a.conf", Mode: 0o644, Data: []byte("a")},
	}
	l, err := build.NewLayer(files, at, types.OCILayer)
	require.NoError(t, err)
	var got []string
	for _, h := range layerFiles(t, l) {
		got = append(got, h.Name)
		assert.Equal(t, int64(1700000000), h.ModTime.Unix())
		assert.Zero(t, h.ModTime.Nanosecond())
		assert.Equal(t, 0, h.Uid)
		assert.Empty(t, h.Uname)
	}
	assert.Equal(t, []string{"etc/", "etc/a.conf", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/b"}, got, "sorted, parents first")

	// Order of the input does not matter; content does.
	swapped, err := build.NewLayer([]build.File{files[1], files[0]}, at, types.OCILayer)
	require.NoError(t, err)
	d1, _ := l.Digest()
	d2, _ := swapped.Digest()
	assert.Equal(t, d1, d2)
	changed, err := build.NewLayer([]build.File{files[0], {Path: "etc/a.conf", Mode: 0o644, Data: []byte("A")}}, at, types.OCILayer)
	require.NoError(t, err)
	d3, _ := changed.Digest()
	assert.NotEqual(t, d1, d3)

	mt, err := l.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCILayer, mt)
}

func TestNewLayer_Errors(t *testing.T) {
	tests := []struct {
		name    string
		files   []build.File
		wantErr string
	}{
		{"duplicate", []build.File{{Path: "/a"}, {Path: "a"}}, `"a": listed twice`},
		{"root", []build.File{{Path: "/"}}, "not a file path"},
		{"file is a parent", []build.File{{Path: "/a"}, {Path: "/a/b"}}, `"a" is also a parent directory`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build.NewLayer(tc.files, time.Unix(0, 0), types.OCILayer)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
