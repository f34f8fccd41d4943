package registrytest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// repoBlobs keeps blobs per repository, as GHCR and distribution do: a blob pushed to one
// repository is not present in another. (pkg/registry's default store is global, which would
// make every push to a new repository look free.) Like pkg/registry, it has no cross-repository
// mount.
type repoBlobs struct {
	mu sync.Mutex
	m  map[string]map[v1.Hash][]byte
}

func newRepoBlobs() *repoBlobs { return &repoBlobs{m: map[string]map[v1.Hash][]byte{}} }

// key is the repository name: pkg/registry passes NAME for blob reads and NAME/blobs for
// uploads (it cuts the path at a fixed depth).
func key(repo string) string { return strings.TrimSuffix(repo, "/blobs") }

func (b *repoBlobs) blob(repo string, h v1.Hash) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[key(repo)][h]
	return data, ok
}

func (b *repoBlobs) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	data, ok := b.blob(repo, h)
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *repoBlobs) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	data, ok := b.blob(repo, h)
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

func (b *repoBlobs) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m[key(repo)] == nil {
		b.m[key(repo)] = map[v1.Hash][]byte{}
	}
	b.m[key(repo)][h] = data
	return nil
}

func (b *repoBlobs) Delete(_ context.Context, repo string, h v1.Hash) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[key(repo)][h]; !ok {
		return registry.ErrNotFound
	}
	delete(b.m[key(repo)], h)
	return nil
}
