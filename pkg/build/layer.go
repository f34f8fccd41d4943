package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one regular file of a layer: its absolute path in the image, its mode and its bytes.
// Files are owned by root (uid/gid 0), so a non-root runtime user can run but not change them.
type File struct {
	Path string
	Mode int64
	Data []byte
}

// NewLayer makes a reproducible, gzip-compressed layer from files: entries sorted by path, each
// parent directory present (mode 0755), uid/gid 0 with empty user and group names, and every
// time set to mtime (truncated to the second). The same files and mtime always give the same
// digest and diff ID. The layer is kept compressed in memory, so it is compressed exactly once
// and go-containerregistry can skip it by digest when the registry already has it.
func NewLayer(files []File, mtime time.Time, mediaType types.MediaType) (v1.Layer, error) {
	mtime = mtime.UTC().Truncate(time.Second)
	dirs := map[string]bool{}
	byPath := map[string]File{}
	for _, f := range files {
		p := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if p == "" || p == "." {
			return nil, fmt.Errorf("layer file %q: not a file path", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("layer file %q: listed twice", f.Path)
		}
		byPath[p] = f
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	names := make([]string, 0, len(dirs)+len(byPath))
	for d := range dirs {
		if _, clash := byPath[d]; clash {
			return nil, fmt.Errorf("layer file %q is also a parent directory", d)
		}
		names = append(names, d)
	}
	for p := range byPath {
		names = append(names, p)
	}
	sort.Strings(names)

	var compressed bytes.Buffer
	digest, diffID := sha256.New(), sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(&compressed, digest), gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	for _, n := range names {
		h := &tar.Header{Name: n, ModTime: mtime, Format: tar.FormatPAX}
		f, isFile := byPath[n]
		if isFile {
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, f.Mode, int64(len(f.Data))
		} else {
			h.Typeflag, h.Mode, h.Name = tar.TypeDir, 0o755, n+"/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing layer entry %q: %w", n, err)
		}
		if isFile {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("writing layer entry %q: %w", n, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &memLayer{
		compressed: compressed.Bytes(),
		digest:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest.Sum(nil))},
		diffID:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
		mediaType:  mediaType,
	}, nil
}

// memLayer is a v1.Layer whose compressed bytes and both hashes are computed up front.
type memLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
	mediaType      types.MediaType
}

func (l *memLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)                { return int64(len(l.compressed)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(l.compressed))
	if err != nil {
		return nil, err
	}
	return zr, nil
}
