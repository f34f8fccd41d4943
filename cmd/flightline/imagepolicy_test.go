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
		{"no ImageRepository", []string{"resolve", copyFile(t, filepath.Join(policyTestdata, "v1.yaml"), 0o644), "--policy", "apps/agent"}, []string{"which is not in the policy's file and was not found elsewhere", "YAML files searched", "--image"}},
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

// pushTags pushes one small random image per tag to repo and returns the digests.
func pushTags(t *testing.T, repo string, tags ...string) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for _, tag := range tags {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		ref, err := name.NewTag(repo + ":" + tag)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img))
		d, err := img.Digest()
		require.NoError(t, err)
		digests[tag] = d.String()
	}
	return digests
}

// Acceptance: resolve selects what Flux selects for a policy with filterTags (and extract)
// whose ImageRepository has an exclusionList, wherever the ImageRepository is.
func TestImagePolicyResolve_FilterTagsAndExclusionList(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/agent"
	digests := pushTags(t, repo,
		"prod-v1.7.0-aaaaaaa", "prod-v1.7.3-bbbbbbb", "prod-v1.8.0-ccccccc", "prod-v1.8.0-ccccccc.sig",
		"prod-v1.8.1-rc.1-eeeeeee", "prod-v2.0.0-fffffff", "staging-v1.9.0-ddddddd", "1.9.5", "latest")
	src, err := os.ReadFile("../../pkg/imagepolicy/testdata/real/filter-extract.yaml")
	require.NoError(t, err)
	full := strings.ReplaceAll(string(src), "IMAGE", repo)
	i := strings.Index(full, "---\n")
	repoDoc, policyDoc := full[:i], full[i:]

	// A platform repo: the policy in one file, the ImageRepository in another.
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, ".git"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "clusters", "prod", "image-repos"), 0o755))
	policyFile := filepath.Join(root, "clusters", "prod", "agent-policy.yaml")
	repoFile := filepath.Join(root, "clusters", "prod", "image-repos", "agent.yaml")
	require.NoError(t, os.WriteFile(policyFile, []byte(policyDoc), 0o644))
	require.NoError(t, os.WriteFile(repoFile, []byte(repoDoc), 0o644))
	sameFile := filepath.Join(t.TempDir(), "both.yaml")
	require.NoError(t, os.WriteFile(sameFile, []byte(full), 0o644))

	want := map[string]string{"range": ">=1.7.0 <2.0.0", "image": repo, "tag": "prod-v1.7.3-bbbbbbb", "digest": digests["prod-v1.7.3-bbbbbbb"]}
	for name, args := range map[string][]string{
		"same file":             {sameFile},
		"bounded search":        {policyFile},
		"image-repository-file": {policyFile, "--image-repository-file", repoFile},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append(append([]string{"imagepolicy", "resolve"}, args...), "--policy", "flux-system/agent")...)
			require.Equal(t, 0, code, stderr)
			outs, err := actions.ParseOutputs(stdout)
			require.NoError(t, err)
			assert.Equal(t, want, outs, "1.8.0 is excluded by the ImageRepository, 1.8.1-rc.1 is a pre-release, 2.0.0 is out of range")
			assert.Contains(t, stderr, "`^prod-v1\\.8\\.0-`")
			assert.Contains(t, stderr, "pattern `^prod-v(?P<version>")
		})
	}

	// Without the ImageRepository (only the image given), Flux's default exclusions are assumed,
	// with a warning, and the excluded release would be picked.
	lone := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(lone, []byte(policyDoc), 0o644))
	code, stdout, stderr := runCLI(t, nil, "imagepolicy", "resolve", lone, "--policy", "flux-system/agent", "--image", repo)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tag=prod-v1.8.0-ccccccc\n")
	assert.Contains(t, stderr, "was not found")
	assert.Contains(t, stderr, "Flux's default exclusionList")

	// A bad pattern is a clear error naming the policy, the line and the pattern.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(full, "[a-f0-9]{7}$", "[a-f0-9{7}$", 1)), 0o644))
	code, stdout, stderr = runCLI(t, nil, "imagepolicy", "resolve", bad, "--policy", "flux-system/agent")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `invalid filterTags pattern: ImagePolicy "flux-system/agent" spec.filterTags.pattern (line 25)`)
	assert.Contains(t, stderr, "missing closing ]")
	assert.Contains(t, stderr, "fix the regular expression")
}

func TestImagePolicyResolve_FluxVersion(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/cal"
	pushTags(t, repo, "2023.12.31", "2024.01.15", "2024.02.01")
	file := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(file, []byte("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: cal, namespace: apps}\nspec: {policy: {semver: {range: '>=2024.1.0'}}}\n"), 0o644))
	code, stdout, stderr := runCLI(t, nil, "imagepolicy", "resolve", file, "--policy", "apps/cal", "--image", repo)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tag=2024.02.01\n", "Flux 2.7 reads leading zeros")
	code, _, stderr = runCLI(t, map[string]string{"FLIGHTLINE_INPUT_FLUX_VERSION": "2.6"}, "imagepolicy", "resolve", file, "--policy", "apps/cal", "--image", repo)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "matches none of the 3 tags (1 of them versions under Flux ≤ 2.6 rules)")
	code, _, stderr = runCLI(t, nil, "imagepolicy", "resolve", file, "--policy", "apps/cal", "--image", repo, "--flux-version", "latest")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--flux-version: invalid Flux version "latest"`)
}

// get refuses what set refuses, and says so; deprecated apiVersions and Lists are read.
func TestImagePolicyGet_ValidatesLikeSet(t *testing.T) {
	base := "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: agent, namespace: apps}\nspec:\n  policy:\n    semver:\n      range: "
	for value, fragment := range map[string]string{
		"1.10":     "YAML reads \"1.10\" as a number",
		"":         "as null",
		"~":        "as null",
		"true":     "as a boolean",
		`"latest"`: `:7:14: ImagePolicy "apps/agent": invalid semver range "latest"`,
		`""`:       "the range is empty",
	} {
		file := filepath.Join(t.TempDir(), "p.yaml")
		require.NoError(t, os.WriteFile(file, []byte(base+value+"\n"), 0o644))
		for _, args := range [][]string{{"get", file}, {"set", file, "--range", "1.5.0"}} {
			code, stdout, stderr := runCLI(t, nil, append(append([]string{"imagepolicy"}, args...), "--policy", "apps/agent")...)
			if args[0] == "set" && strings.HasPrefix(value, `"`) {
				assert.Equal(t, 0, code, "set replaces a string range even when it is invalid")
				continue
			}
			assert.Equal(t, 1, code, "%s %q", args[0], value)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, fragment, "%s %q", args[0], value)
		}
	}

	code, stdout, stderr := runCLI(t, nil, "imagepolicy", "get", filepath.Join(policyTestdata, "v1beta1.yaml"), "--policy", "flux-system/podinfo")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "range=>=5.0.0 <6.0.0\n")
	assert.Contains(t, stderr, "warning: ImagePolicy \"flux-system/podinfo\" (line 11): Flux 2.7 and later")
	assert.Contains(t, stderr, "flux migrate")

	code, stdout, stderr = runCLI(t, nil, "imagepolicy", "get", filepath.Join(policyTestdata, "list.yaml"), "--policy", "apps/agent")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "range=1.4.0\nline=25\n")

	code, _, stderr = runCLI(t, nil, "imagepolicy", "get", "../../pkg/imagepolicy/testdata/errors/old-api.yaml", "--policy", "apps/agent")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "unsupported apiVersion: ImagePolicy \"apps/agent\"")
	assert.NotContains(t, stderr, "not found")
}
