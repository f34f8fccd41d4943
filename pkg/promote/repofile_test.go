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

// Many platform repositories keep the ImageRepository in a file of its own. Its exclusionList
// is part of Flux's selection: read from image-repository-file, a version Flux would never
// select is refused; without it, the promotion goes on and says that Flux's default exclusions
// were applied and how to read the real ones.
func TestPromote_ImageRepositoryInAnotherFile(t *testing.T) {
	reg := forgetest.NewRegistry(t)
	image := reg.Host + "/acme/agent"
	reg.Push(t, "acme/agent", "prod-v1.7.0-aaaaaaa", "prod-v1.7.3-bbbbbbb", "prod-v1.8.0-ccccccc")
	src, err := os.ReadFile("../imagepolicy/testdata/real/filter-extract.yaml")
	require.NoError(t, err)
	all := strings.ReplaceAll(strings.Replace(string(src), "'>=1.7.0 <2.0.0'", "1.7.0", 1), "IMAGE", image)
	repoDoc, policyDoc, ok := strings.Cut(all, "\n---\n")
	require.True(t, ok)
	require.Contains(t, repoDoc, "kind: ImageRepository")
	require.Contains(t, policyDoc, "kind: ImagePolicy")
	p := forgetest.GitPlatform(true)(t, map[string][]byte{
		"apps/agent/policy.yaml": []byte(policyDoc), "apps/agent/repository.yaml": []byte(repoDoc)})
	run := func(version, image, repoFile string) (promote.Result, error) {
		return promote.Run(context.Background(), p.Forge(), forgetest.Tags{}, promote.Request{
			Policy: "flux-system/agent", Version: version, File: "apps/agent/policy.yaml", Image: image,
			RepositoryFile: repoFile, DryRun: true})
	}

	res, err := run("1.8.0", image, "")
	require.NoError(t, err, "without the repository file, the hand-written exclusion is not known")
	require.Len(t, res.Notes, 1)
	assert.Contains(t, res.Notes[0], `the ImageRepository of ImagePolicy "flux-system/agent" was not found`)
	assert.Contains(t, res.Notes[0], `Flux's default exclusionList ["^.*\\.sig$"] is assumed; name its file with image-repository-file`)
	assert.Contains(t, res.Summary(), "Note: the ImageRepository of ImagePolicy")

	_, err = run("1.8.0", image, "apps/agent/repository.yaml")
	require.ErrorIs(t, err, imagepolicy.ErrNotSelectable)
	assert.Contains(t, err.Error(), `matches the ImageRepository's exclusionList pattern "^prod-v1\\.8\\.0-"`)

	res, err = run("1.7.3", "", "apps/agent/repository.yaml")
	require.NoError(t, err)
	assert.Equal(t, image, res.Image, "spec.image read from the repository file")
	assert.Equal(t, "prod-v1.7.3-bbbbbbb", res.Tag)
	assert.Empty(t, res.Notes)

	_, err = run("1.7.3", "", "")
	require.ErrorIs(t, err, promote.ErrInvalidInput)
	assert.Contains(t, err.Error(), `image: not given, and apps/agent/policy.yaml on main: not found: ImageRepository "flux-system/agent" is not in the file`)
	assert.Contains(t, err.Error(), "name its file with image-repository-file, or give the image")

	_, err = run("1.7.3", image, "apps/agent/missing.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "image-repository-file: reading apps/agent/missing.yaml")

	_, err = run("1.7.3", image, "apps/agent/policy.yaml")
	require.ErrorIs(t, err, imagepolicy.ErrNotFound)
	assert.Contains(t, err.Error(), `image-repository-file apps/agent/policy.yaml: not found: ImageRepository "flux-system/agent" is not in the file`)

	_, err = run("1.7.3", image, "../outside.yaml")
	require.ErrorIs(t, err, promote.ErrInvalidInput)
	assert.Contains(t, err.Error(), `image-repository-file "../outside.yaml": want a relative path inside the platform repository`)
}

// flux-version: the tag rules of the cluster's Flux release decide which tags are versions.
func TestPromote_FluxVersionRules(t *testing.T) {
	reg := forgetest.NewRegistry(t)
	image := reg.Host + "/acme/cal"
	reg.Push(t, "acme/cal", "2024.01.08", "2024.01.15")
	file := `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: cal, namespace: apps}
spec:
  image: ` + image + `
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: cal, namespace: apps}
spec:
  imageRepositoryRef: {name: cal}
  policy: {semver: {range: 2024.1.8}}
`
	p := forgetest.GitPlatform(true)(t, map[string][]byte{"cal.yaml": []byte(file)})
	run := func(rules imagepolicy.Rules) (promote.Result, error) {
		return promote.Run(context.Background(), p.Forge(), forgetest.Tags{}, promote.Request{
			Policy: "apps/cal", Version: "2024.1.15", File: "cal.yaml", Rules: rules, DryRun: true})
	}
	res, err := run("")
	require.NoError(t, err, "Flux 2.7 and later read leading zeros")
	assert.Equal(t, "2024.01.15", res.Tag)
	_, err = run(imagepolicy.Flux26)
	require.ErrorIs(t, err, promote.ErrTagMissing, "Flux 2.6 never selects 2024.01.15: promoting it would change nothing in the cluster")
}
