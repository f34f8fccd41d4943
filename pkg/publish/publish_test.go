package publish_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/pkg/publish"
)

var fast = publish.WithBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3})

func registries() map[string]func(testing.TB) *registrytest.Registry {
	return map[string]func(testing.TB) *registrytest.Registry{"in-process": registrytest.New, "docker-registry": registrytest.Distribution}
}

func randomIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(2048, 2, 2)
	require.NoError(t, err)
	return idx
}

func tagsOf(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	require.NoError(t, err)
	tags, err := remote.List(r)
	if err != nil {
		return nil // an unknown repository has no tags
	}
	return tags
}

func TestRegistry_PublishThenNothingToSend(t *testing.T) {
	for regName, start := range registries() {
		t.Run(regName, func(t *testing.T) {
			reg := start(t)
			idx := randomIndex(t)
			p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
			require.NoError(t, err)

			rep, err := p.Publish(context.Background(), idx, []string{"1.2.3", "latest"})
			require.NoError(t, err)
			d, err := idx.Digest()
			require.NoError(t, err)
			assert.Equal(t, d.String(), rep.Digest)
			assert.Equal(t, reg.Ref("acme/agent")+"@"+d.String(), rep.Reference())
			assert.True(t, rep.Pushed)
			require.Len(t, rep.Images, 2)
			for _, img := range rep.Images {
				require.Len(t, img.Layers, 2)
				for _, l := range img.Layers {
					assert.Equal(t, publish.StatusUploaded, l.Status)
					assert.Positive(t, l.Size)
				}
			}
			assert.Equal(t, reg.Stats().BlobBytes, rep.BytesUploaded, "the report counts what the registry received")
			assert.ElementsMatch(t, []string{"1.2.3", "latest"}, tagsOf(t, reg.Ref("acme/agent")))

			// The same artifact again: every blob and manifest is already there.
			reg.Reset()
			rep, err = p.Publish(context.Background(), idx, []string{"1.2.3", "latest"})
			require.NoError(t, err)
			assert.Zero(t, rep.BytesUploaded)
			assert.Zero(t, reg.Stats().BlobBytes)
			sent, present := rep.Uploaded()
			assert.Equal(t, 0, sent)
			assert.Equal(t, 4, present)
			assert.Empty(t, reg.Stats().Manifests, "the tags already point at the index")

			// The pushed index is intact.
			ref, err := name.ParseReference(rep.Reference())
			require.NoError(t, err)
			got, err := remote.Index(ref)
			require.NoError(t, err)
			require.NoError(t, validate.Index(got))
		})
	}
}

func TestRegistry_RetriesA500MidPush(t *testing.T) {
	for regName, start := range registries() {
		t.Run(regName, func(t *testing.T) {
			reg := start(t)
			// The second blob PATCH and the first manifest PUT each fail once with a 500.
			reg.Fail(http.MethodPatch, `/blobs/uploads/`, 1, 1, http.StatusInternalServerError)
			reg.Fail(http.MethodPut, `/manifests/`, 0, 1, http.StatusServiceUnavailable)
			p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
			require.NoError(t, err)
			idx := randomIndex(t)
			rep, err := p.Publish(context.Background(), idx, []string{"v1"})
			require.NoError(t, err)
			assert.Equal(t, 2, reg.Stats().Faults, "both faults were hit and retried")
			assert.Equal(t, []string{"v1"}, tagsOf(t, reg.Ref("acme/agent")))
			ref, err := name.ParseReference(rep.Reference())
			require.NoError(t, err)
			got, err := remote.Index(ref)
			require.NoError(t, err)
			require.NoError(t, validate.Index(got), "every blob arrived despite the 500s")
		})
	}
}

func TestRegistry_FailingHalfWayLeavesNoTag(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		skip   int
	}{
		{"blob uploads fail after the first", http.MethodPatch, `/blobs/uploads/`, 1},
		{"the index manifest fails", http.MethodPut, `/manifests/sha256:`, 2},
	}
	for regName, start := range registries() {
		for _, tc := range tests {
			t.Run(regName+"/"+tc.name, func(t *testing.T) {
				reg := start(t)
				reg.Fail(tc.method, tc.path, tc.skip, -1, http.StatusInternalServerError)
				p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
				require.NoError(t, err)
				_, err = p.Publish(context.Background(), randomIndex(t), []string{"1.0.0", "latest"})
				require.ErrorIs(t, err, publish.ErrPush)
				assert.Contains(t, err.Error(), reg.Ref("acme/agent"))
				assert.Contains(t, err.Error(), "no tag was written")
				assert.Empty(t, tagsOf(t, reg.Ref("acme/agent")))
			})
		}
	}
}

func TestRegistry_Errors(t *testing.T) {
	down := registrytest.Unreachable(t) + "/acme/agent"
	p, err := publish.NewRegistry(down, fast)
	require.NoError(t, err)
	_, err = p.Publish(context.Background(), randomIndex(t), []string{"v1"})
	require.ErrorIs(t, err, publish.ErrPush)
	assert.Contains(t, err.Error(), down)

	_, err = publish.NewRegistry("ghcr.io/Acme/Agent")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"ghcr.io/Acme/Agent"`)
	assert.Contains(t, err.Error(), "lower case")

	reg := registrytest.New(t)
	p, err = publish.NewRegistry(reg.Ref("acme/agent"), fast)
	require.NoError(t, err)
	_, err = p.Publish(context.Background(), randomIndex(t), []string{"ok", "not ok"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tag "not ok"`)
	assert.Zero(t, reg.Stats().Requests[http.MethodPut]+reg.Stats().Requests[http.MethodPatch], "a bad tag is caught before anything is sent")
}

func TestRegistry_SingleImage(t *testing.T) {
	reg := registrytest.New(t)
	img, err := random.Image(512, 1)
	require.NoError(t, err)
	p, err := publish.NewRegistry(reg.Ref("acme/one"), fast)
	require.NoError(t, err)
	rep, err := p.Publish(context.Background(), img, nil)
	require.NoError(t, err)
	require.Len(t, rep.Images, 1)
	assert.Empty(t, tagsOf(t, reg.Ref("acme/one")), "no tags asked, none written")
	ref, err := name.ParseReference(rep.Reference())
	require.NoError(t, err)
	_, err = remote.Image(ref)
	require.NoError(t, err)
}

func TestLayout_Publish(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	idx := randomIndex(t)
	l := publish.NewLayout(dir)
	rep, err := l.Publish(context.Background(), idx, []string{"1.0.0", "latest"})
	require.NoError(t, err)
	assert.False(t, rep.Pushed)
	assert.Equal(t, dir, rep.Repository)
	for _, img := range rep.Images {
		for _, layer := range img.Layers {
			assert.Equal(t, publish.StatusWritten, layer.Status)
		}
	}

	// Again, with one tag moved to a new artifact: the tag is replaced, not duplicated.
	idx2 := randomIndex(t)
	_, err = l.Publish(context.Background(), idx2, []string{"latest"})
	require.NoError(t, err)

	p, err := layout.FromPath(dir)
	require.NoError(t, err)
	top, err := p.ImageIndex()
	require.NoError(t, err)
	im, err := top.IndexManifest()
	require.NoError(t, err)
	byTag := map[string]string{}
	for _, d := range im.Manifests {
		byTag[d.Annotations[publish.RefNameAnnotation]] = d.Digest.String()
	}
	d1, _ := idx.Digest()
	d2, _ := idx2.Digest()
	assert.Equal(t, map[string]string{"1.0.0": d1.String(), "latest": d2.String()}, byTag)
	got, err := p.ImageIndex()
	require.NoError(t, err)
	child, err := got.ImageIndex(d1)
	require.NoError(t, err)
	require.NoError(t, validate.Index(child))
}

func TestLayout_UntaggedTwiceIsOneEntry(t *testing.T) {
	dir := t.TempDir()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	for range 2 {
		_, err = publish.NewLayout(dir).Publish(context.Background(), img, nil)
		require.NoError(t, err)
	}
	p, err := layout.FromPath(dir)
	require.NoError(t, err)
	top, err := p.ImageIndex()
	require.NoError(t, err)
	im, err := top.IndexManifest()
	require.NoError(t, err)
	assert.Len(t, im.Manifests, 1)
}

func TestPushBlocked(t *testing.T) {
	dir := t.TempDir()
	event := func(head, base string) string {
		p := filepath.Join(dir, strings.ReplaceAll(head+"-"+base, "/", "_")+".json")
		var ev map[string]any
		if head == "" {
			ev = map[string]any{"pull_request": map[string]any{"head": map[string]any{"repo": nil}, "base": map[string]any{"repo": map[string]any{"full_name": base}}}}
		} else {
			ev = map[string]any{"pull_request": map[string]any{"head": map[string]any{"repo": map[string]any{"full_name": head}}, "base": map[string]any{"repo": map[string]any{"full_name": base}}}}
		}
		data, err := json.Marshal(ev)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	withToken := authn.NewMultiKeychain(staticKeychain{})
	anonymous := authn.NewMultiKeychain()
	tests := []struct {
		name string
		repo string
		env  map[string]string
		kc   authn.Keychain
		want string // substring; "" = may push
	}{
		{"push event", "ghcr.io/acme/agent", map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_TOKEN": "t"}, withToken, ""},
		{"same-repo pull request", "ghcr.io/acme/agent", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_TOKEN": "t",
			"GITHUB_EVENT_PATH": event("acme/agent", "acme/agent")}, withToken, ""},
		{"fork pull request", "ghcr.io/acme/agent", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_TOKEN": "t",
			"GITHUB_EVENT_PATH": event("mallory/agent", "acme/agent")}, withToken, "fork mallory/agent"},
		{"deleted fork", "ghcr.io/acme/agent", map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_TOKEN": "t",
			"GITHUB_EVENT_PATH": event("", "acme/agent")}, withToken, "deleted fork"},
		{"pull request without token", "127.0.0.1:5000/acme/agent", map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, anonymous, "no token"},
		{"ghcr without credentials", "ghcr.io/acme/agent", map[string]string{}, anonymous, "no credentials for ghcr.io"},
		{"local registry without credentials", "127.0.0.1:5000/acme/agent", map[string]string{}, anonymous, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := name.NewRepository(tc.repo)
			require.NoError(t, err)
			got := publish.PushBlocked(context.Background(), func(k string) string { return tc.env[k] }, repo, tc.kc)
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tc.want)
			}
		})
	}
}

type staticKeychain struct{}

func (staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: "u", Password: "p"}, nil
}
