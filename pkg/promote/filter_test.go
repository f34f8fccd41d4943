package promote_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/promote"
)

// A promotion is checked with the policy's filterTags and its ImageRepository's exclusionList,
// as Flux selects: a version Flux would never select is refused, saying why.
func TestPromote_FilterTagsAndExclusionList(t *testing.T) {
	reg := forgetest.NewRegistry(t)
	image := reg.Host + "/acme/agent"
	digests := reg.Push(t, "acme/agent", "prod-v1.7.0-aaaaaaa", "prod-v1.7.3-bbbbbbb", "prod-v1.8.0-ccccccc", "1.9.0", "prod-v1.9.1-ddddddd")
	src, err := os.ReadFile("../imagepolicy/testdata/real/filter-extract.yaml")
	require.NoError(t, err)
	// Start from 1.7.0 pinned, with the same exclusions and filter.
	data := []byte(strings.ReplaceAll(strings.Replace(string(src), "'>=1.7.0 <2.0.0'", "1.7.0", 1), "IMAGE", image))
	const file = "image-automation.yaml"
	p := forgetest.GitPlatform(true)(t, map[string][]byte{file: data})
	run := func(version string) (promote.Result, error) {
		return promote.Run(context.Background(), p.Forge(), forgetest.Tags{}, promote.Request{
			Policy: "flux-system/agent", Version: version, File: file, DryRun: true})
	}

	res, err := run("1.7.3")
	require.NoError(t, err)
	assert.Equal(t, "prod-v1.7.3-bbbbbbb", res.Tag, "the tag the filter extracts 1.7.3 from")
	assert.Equal(t, digests["prod-v1.7.3-bbbbbbb"], res.Digest)
	assert.Equal(t, "1.7.3", res.Range)

	_, err = run("1.8.0")
	require.ErrorIs(t, err, imagepolicy.ErrNotSelectable)
	assert.Contains(t, err.Error(), `tag "prod-v1.8.0-ccccccc" matches the ImageRepository's exclusionList pattern "^prod-v1\\.8\\.0-"`)

	_, err = run("1.9.0")
	require.ErrorIs(t, err, imagepolicy.ErrNotSelectable)
	assert.Contains(t, err.Error(), `tag "1.9.0" does not match spec.filterTags.pattern`)

	res, err = run("1.9.1")
	require.NoError(t, err)
	assert.Equal(t, "prod-v1.9.1-ddddddd", res.Tag)

	_, err = run("2.0.0")
	require.ErrorIs(t, err, promote.ErrTagMissing)
}
