package publish

import (
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tracker records, per blob digest, how many compressed bytes the writer read. go-containerregistry
// opens a blob (Compressed) only to send it: a blob never opened was already present (or was
// mounted from another repository).
type tracker struct {
	mu   sync.Mutex
	read map[v1.Hash]int64
	sent map[v1.Hash]bool
}

func newTracker() *tracker { return &tracker{read: map[v1.Hash]int64{}, sent: map[v1.Hash]bool{}} }

func (t *tracker) add(h v1.Hash, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.read[h] += n
	t.sent[h] = true
}

func (t *tracker) uploaded(h v1.Hash) (bool, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent[h], t.read[h]
}

func (t *tracker) total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, v := range t.read {
		n += v
	}
	return n
}

// trackLayer wraps l so that reads of its compressed bytes are counted, keeping a
// *remote.MountableLayer mountable.
func (t *tracker) trackLayer(l v1.Layer) v1.Layer {
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: &trackedLayer{Layer: ml.Layer, t: t}, Reference: ml.Reference}
	}
	return &trackedLayer{Layer: l, t: t}
}

type trackedLayer struct {
	v1.Layer
	t *tracker
}

func (l *trackedLayer) Compressed() (io.ReadCloser, error) {
	h, err := l.Digest()
	if err != nil {
		return nil, err
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	l.t.add(h, 0)
	return &countingReader{ReadCloser: rc, h: h, t: l.t}, nil
}

type countingReader struct {
	io.ReadCloser
	h v1.Hash
	t *tracker
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.t.add(r.h, int64(n))
	return n, err
}

type trackedImage struct {
	v1.Image
	t *tracker
}

func (i *trackedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.t.trackLayer(l)
	}
	return out, nil
}

func (i *trackedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.t.trackLayer(l), nil
}

func (i *trackedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return i.t.trackLayer(l), nil
}

// ConfigLayer is what go-containerregistry uploads as the config blob.
func (i *trackedImage) ConfigLayer() (v1.Layer, error) {
	l, err := partial.ConfigLayer(i.Image)
	if err != nil {
		return nil, err
	}
	return i.t.trackLayer(l), nil
}

type trackedIndex struct {
	inner v1.ImageIndex
	t     *tracker
}

func (x *trackedIndex) MediaType() (types.MediaType, error)       { return x.inner.MediaType() }
func (x *trackedIndex) Digest() (v1.Hash, error)                  { return x.inner.Digest() }
func (x *trackedIndex) Size() (int64, error)                      { return x.inner.Size() }
func (x *trackedIndex) IndexManifest() (*v1.IndexManifest, error) { return x.inner.IndexManifest() }
func (x *trackedIndex) RawManifest() ([]byte, error)              { return x.inner.RawManifest() }

func (x *trackedIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.inner.Image(h)
	if err != nil {
		return nil, err
	}
	return &trackedImage{Image: img, t: x.t}, nil
}

func (x *trackedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.inner.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &trackedIndex{inner: idx, t: x.t}, nil
}
