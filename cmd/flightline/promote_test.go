package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/actions"
)

// localPlatform is a bare platform repository with the suite's file and a registry with tags.
func localPlatform(t *testing.T) (*forgetest.Env, string) {
	t.Helper()
	e := forgetest.NewEnv(t, forgetest.GitPlatform(true))
	dir := e.P.(interface{ Dir() string }).Dir()
	return e, dir
}

func TestPromoteCmd_InputsFromEnv_OutputsAndSummary(t *testing.T) {
	e, dir := localPlatform(t)
	env := map[string]string{
		"FLIGHTLINE_INPUT_PLATFORM_DIR": dir,
		"FLIGHTLINE_INPUT_FILE":         forgetest.PlatformFile,
		"FLIGHTLINE_INPUT_POLICY":       forgetest.Policy,
		"FLIGHTLINE_INPUT_VERSION":      "v1.5.0",
		"FLIGHTLINE_INPUT_IMAGE":        e.Image + "@" + e.Digests["1.5.0"],
		"FLIGHTLINE_INPUT_REQUIRE_SCAN": "false", // no scan attached in this registry: pkg/scan and scan_test.go check the evidence
		"FLIGHTLINE_INPUT_LABELS":       "promotion,prod",
		"FLIGHTLINE_INPUT_TOKEN":        "s3cr3t-token-value",
	}
	code, stdout, stderr := runCLI(t, env, "promote")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "created", outs["operation"])
	assert.Equal(t, "1.4.0", outs["previous-range"])
	assert.Equal(t, "1.5.0", outs["range"])
	assert.Equal(t, "1.5.0", outs["tag"])
	assert.Equal(t, e.Digests["1.5.0"], outs["digest"])
	assert.Equal(t, "", outs["pr-number"], "the local forge has no PR numbers")
	assert.Equal(t, "flightline/promote/"+forgetest.Policy+"/1.5.0", outs["pr-url"])
	assert.Contains(t, stderr, "| policy | from | to | tag | digest | PR |")
	assert.Contains(t, stderr, "```diff")
	assert.NotContains(t, stdout+stderr, "s3cr3t-token-value")

	// Same again: unchanged; then merge it.
	code, stdout, stderr = runCLI(t, env, "promote")
	require.Equal(t, 0, code, stderr)
	outs, _ = actions.ParseOutputs(stdout)
	assert.Equal(t, "unchanged", outs["operation"])
	code, stdout, stderr = runCLI(t, env, "promote", "--merge", "merge")
	require.Equal(t, 0, code, stderr)
	outs, _ = actions.ParseOutputs(stdout)
	assert.Equal(t, "merged", outs["operation"])
	assert.Equal(t, e.WithRange("1.5.0"), e.File("main"))
}

func TestPromoteCmd_BadInputs(t *testing.T) {
	_, dir := localPlatform(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no platform", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0"}, "give platform-repo (OWNER/REPO) or platform-dir"},
		{"both platforms", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-dir", dir, "--platform-repo", "o/r"}, "give one of them"},
		{"github without token", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-repo", "o/r"}, "no token given"},
		{"missing version", []string{"promote", "--policy", forgetest.Policy, "--platform-dir", dir}, "version"},
		{"bad pin", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-dir", dir, "--file", forgetest.PlatformFile, "--pin", "minor"}, "exact, patch"},
		{"tag missing", []string{"promote", "--policy", forgetest.Policy, "--version", "9.9.9", "--platform-dir", dir, "--file", forgetest.PlatformFile}, "push the image before promoting it"},
		{"not a repo", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-dir", t.TempDir()}, "is not a git repository"},
		{"bad flux version", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-dir", dir, "--flux-version", "latest"}, `flux-version: invalid Flux version "latest"`},
		{"missing repository file", []string{"promote", "--policy", forgetest.Policy, "--version", "1.5.0", "--platform-dir", dir, "--file", forgetest.PlatformFile, "--image-repository-file", "nope.yaml"}, "image-repository-file: reading nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, tt.args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}
