package rollback_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// The tag a restored range selects is the one Flux would select: the ImageRepository's
// exclusionList keeps 1.4.1 out, so ~1.4.0 selects 1.4.0 (a plain semver pick would say 1.4.1).
func TestRollback_RestoredTagAsFluxSelectsIt(t *testing.T) {
	ctx := context.Background()
	reg := forgetest.NewRegistry(t)
	image := reg.Host + "/acme/agent"
	digests := reg.Push(t, "acme/agent", "1.4.0", "1.4.1", "1.5.0")
	file := strings.Join([]string{
		"apiVersion: image.toolkit.fluxcd.io/v1",
		"kind: ImageRepository",
		"metadata: {name: agent, namespace: flux-system}",
		"spec:",
		"  image: " + image,
		"  exclusionList: ['^1\\.4\\.1$']",
		"---",
		"apiVersion: image.toolkit.fluxcd.io/v1",
		"kind: ImagePolicy",
		"metadata: {name: agent, namespace: flux-system}",
		"spec:",
		"  imageRepositoryRef: {name: agent}",
		"  policy:",
		"    semver:",
		"      range: \"~1.4.0\"",
		"",
	}, "\n")
	p := forgetest.GitPlatform(true)(t, map[string][]byte{"policies.yaml": []byte(file)})
	_, err := promote.Run(ctx, p.Forge(), forgetest.Tags{}, promote.Request{
		Policy: "flux-system/agent", File: "policies.yaml", Version: "1.5.0", Pin: imagepolicy.PinPatch,
		Merge: promote.MergeNow})
	require.NoError(t, err)
	res, err := rollback.Run(ctx, p.Forge(), forgetest.Tags{}, rollback.Request{
		Policy: "flux-system/agent", File: "policies.yaml", Reason: "test", Trigger: "manual", Merge: promote.MergeNow})
	require.NoError(t, err)
	assert.Equal(t, "~1.4.0", res.RestoredRange)
	assert.Equal(t, "1.4.0", res.RestoredTag, "the exclusionList keeps 1.4.1 out, as in Flux")
	assert.Equal(t, digests["1.4.0"], res.RestoredDigest)
}
