package main

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/actions"
)

const policyTestdata = "../../pkg/imagepolicy/testdata/set"

// copyFile copies src into a temporary directory with the given mode and returns the copy.
func copyFile(t *testing.T, src string, mode os.FileMode) string {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.WriteFile(dst, data, mode))
	require.NoError(t, os.Chmod(dst, mode))
	return dst
}

func TestImagePolicyGet(t *testing.T) {
	file := filepath.Join(policyTestdata, "multidoc.yaml")
	code, stdout, stderr := runCLI(t, nil, "imagepolicy", "get", file, "--policy", "flux-system/ai-agents-api")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"range": "1.4.0", "line": "26"}, outs)

	// The policy may come from the action input instead of the flag.
	code, stdout, stderr = runCLI(t, map[string]string{"FLIGHTLINE_INPUT_POLICY": "flux-system/ai-agents-api-staging"}, "imagepolicy", "get", file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "range=>=1.0.0-0\n")
}

func TestImagePolicy_Errors(t *testing.T) {
	file := filepath.Join(policyTestdata, "multidoc.yaml")
	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"missing policy", []string{"get", file, "--policy", "apps/nope"},
			[]string{file, `"apps/nope" is not in the file`, "flux-system/ai-agents-api (line 15)"}},
		{"no --policy", []string{"get", file}, []string{"FLIGHTLINE_INPUT_POLICY", "--policy"}},
		{"bad --policy", []string{"get", file, "--policy", "a/b/c"}, []string{"--policy", `"a/b/c"`, "NS/NAME"}},
		{"missing file", []string{"get", "nope.yaml", "--policy", "a/b"}, []string{"reading nope.yaml"}},
		{"invalid range", []string{"set", file, "--policy", "flux-system/ai-agents-api", "--range", "latest"}, []string{`invalid semver range "latest"`}},
		{"no --range", []string{"set", file, "--policy", "flux-system/ai-agents-api"}, []string{"FLIGHTLINE_INPUT_RANGE", "--range"}},
		{"no ImageRepository", []string{"resolve", filepath.Join(policyTestdata, "v1.yaml"), "--policy", "apps/agent"}, []string{"which is not in the policy's file and was not found elsewhere", "YAML files searched", "--image"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"imagepolicy"}, tc.args...)...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			for _, f := range tc.fragments {
				assert.Contains(t, stderr, f)
			}
		})
	}
}

func TestImagePolicySet_Stdout(t *testing.T) {
	for _, name := range []string{"crlf", "bom", "no-final-newline", "flow-plain"} {
		t.Run(name, func(t *testing.T) {
			file := copyFile(t, filepath.Join(policyTestdata, name+".yaml"), 0o644)
			before, err := os.ReadFile(file)
			require.NoError(t, err)
			golden, err := os.ReadFile(filepath.Join(policyTestdata, name+".golden.yaml"))
			require.NoError(t, err)
			rng := map[string]string{"bom": ">=1.5.0", "flow-plain": "1.5.0, <2.0.0"}[name]
			if rng == "" {
				rng = "1.5.0"
			}
			code, stdout, stderr := runCLI(t, nil, "imagepolicy", "set", file, "--policy", "apps/agent", "--range", rng)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, string(golden), stdout, "exactly the new file's bytes and nothing else")
			after, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, before, after, "without --write the file is untouched")
		})
	}
}

func TestImagePolicySet_Write(t *testing.T) {
	file := copyFile(t, filepath.Join(policyTestdata, "crlf.yaml"), 0o640)
	// Through a symlink: the target is edited and the link stays a link.
	link := filepath.Join(t.TempDir(), "link.yaml")
	require.NoError(t, os.Symlink(file, link))

	code, stdout, stderr := runCLI(t, map[string]string{"FLIGHTLINE_INPUT_RANGE": "1.5.0", "FLIGHTLINE_INPUT_WRITE": "true"},
		"imagepolicy", "set", link, "--policy", "apps/agent")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)

	got, err := os.ReadFile(file)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(policyTestdata, "crlf.golden.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm())
	li, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, li.Mode()&os.ModeSymlink)
	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	// A failed edit leaves the file as it was.
	code, _, stderr = runCLI(t, nil, "imagepolicy", "set", file, "--policy", "apps/agent", "--range", "nope", "--write")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "invalid semver range")
	again, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, got, again)
}

func TestImagePolicyResolve(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/ai-agents-api"
	digests := map[string]string{}
	for _, tag := range []string{"1.4.0", "1.4.1", "v1.5.0", "1.6.0-rc.1"} {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		ref, err := name.NewTag(repo + ":" + tag)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img))
		d, err := img.Digest()
		require.NoError(t, err)
		digests[tag] = d.String()
	}
	data, err := os.ReadFile(filepath.Join(policyTestdata, "multidoc.yaml"))
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "ai-agents-image-automation.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(string(data), "ghcr.io/acme/ai-agents-api", repo)), 0o644))

	code, stdout, stderr := runCLI(t, nil, "imagepolicy", "resolve", file, "--policy", "flux-system/ai-agents-api")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"range": "1.4.0", "image": repo, "tag": "1.4.0", "digest": digests["1.4.0"]}, outs)

	// In Actions the outputs go to GITHUB_OUTPUT; --image overrides the ImageRepository.
	dir := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum")}
	code, stdout, stderr = runCLI(t, env, "imagepolicy", "resolve", file, "--policy", "flux-system/ai-agents-api-staging", "--image", repo)
	require.Equal(t, 0, code, stderr+stdout)
	b, err := os.ReadFile(env["GITHUB_OUTPUT"])
	require.NoError(t, err)
	outs, err = actions.ParseOutputs(string(b))
	require.NoError(t, err)
	assert.Equal(t, "1.6.0-rc.1", outs["tag"], ">=1.0.0-0 includes pre-releases")
	assert.Equal(t, digests["1.6.0-rc.1"], outs["digest"])

	// A range that matches nothing names the range and the repository.
	none := filepath.Join(t.TempDir(), "none.yaml")
	require.NoError(t, os.WriteFile(none, []byte("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: agent, namespace: apps}\nspec: {policy: {semver: {range: ~3.0.0}}}\n"), 0o644))
	code, _, stderr = runCLI(t, nil, "imagepolicy", "resolve", none, "--policy", "apps/agent", "--image", repo)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `range "~3.0.0" in `+repo)
	assert.Contains(t, stderr, "matches none of the 4 tags")
	code, _, stderr = runCLI(t, nil, "imagepolicy", "resolve", filepath.Join(policyTestdata, "two-namespaces.yaml"), "--policy", "prod/agent", "--image", repo+"-missing")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "does not exist, or it is private")
}
