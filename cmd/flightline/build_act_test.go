package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/registrytest"
)

// actions/build under act: the composite action sets up the binary, builds examples/agent for
// two platforms and pushes it to a loopback registry; its outputs reach the workflow.
func TestBuildAction_PushesToALoopbackRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act and builds examples/agent")
	}
	reg := registrytest.New(t)
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/build-action.yml"),
		Env:      map[string]string{"FLIGHTLINE_TEST_REGISTRY": reg.Host},
		Timeout:  15 * time.Minute,
	})
	require.NoError(t, res.Err, res.Log)
	repo := reg.Ref("acme/agent")
	assert.Equal(t, "1.5.0", res.Outputs["version"])
	assert.Equal(t, repo+"@"+res.Outputs["digest"], res.Outputs["image"])
	assert.Equal(t, "3", res.Outputs["tag-count"])
	assert.Contains(t, res.Summary, "flightline build: "+repo+"@")
	assert.Contains(t, res.Summary, "| linux/arm64 |")

	ref, err := name.ParseReference(repo + ":1.5")
	require.NoError(t, err)
	idx, err := remote.Index(ref)
	require.NoError(t, err)
	d, err := idx.Digest()
	require.NoError(t, err)
	assert.Equal(t, res.Outputs["digest"], d.String())
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Len(t, im.Manifests, 2)
	assert.Equal(t, "acttest agent", im.Annotations["org.opencontainers.image.description"])
	assert.Len(t, im.Annotations["org.opencontainers.image.revision"], 40, "the revision label is the commit SHA")
	assert.Equal(t, "https://github.com/labrats-work/flightline", im.Annotations["org.opencontainers.image.source"])
}
