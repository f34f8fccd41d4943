package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
)

const testSHA = "0123456789abcdef0123456789abcdef01234567"

// helloDir copies pkg/build's tiny main package into a module and git repository of its own.
func helloDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../../pkg/build/testdata/hello/main.go")
	require.NoError(t, err)
	mod, err := os.ReadFile("../../pkg/build/testdata/hello/go.mod.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "hello"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return dir
}

// buildEnv is a minimal environment for the in-process CLI: the real PATH and Go caches (go
// build needs them), a HOME of its own, plus extra.
func buildEnv(t *testing.T, extra map[string]string) map[string]string {
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		out, err := exec.Command("go", "env", k).Output()
		require.NoError(t, err)
		env[k] = strings.TrimSpace(string(out))
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func listTags(t *testing.T, repo string) []string {
	r, err := name.NewRepository(repo)
	require.NoError(t, err)
	tags, err := remote.List(r)
	if err != nil {
		return nil
	}
	return tags
}

func TestBuild_FlagsPushTwoPlatformsWithTags(t *testing.T) {
	testenv.CIOnly(t, "a cold cross-compile for linux/arm64 (a minute and more on 2 cores)")
	reg := registrytest.New(t)
	dir := helloDir(t)
	env := buildEnv(t, map[string]string{"GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_SHA": testSHA})
	code, stdout, stderr := runCLI(t, env, "build", "--dir", dir, "--image", reg.Ref("Acme/Hello"),
		"--platforms", "linux/amd64,linux/arm64",
		"--tags", "type=semver,pattern={{version}}", "--tags", "type=semver,pattern={{major}}.{{minor}}", "--tags", "type=sha",
		"--labels", "team=agents")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	repo := strings.ToLower(reg.Ref("Acme/Hello"))
	assert.Equal(t, "1.2.3", outs["version"])
	assert.Equal(t, repo+"@"+outs["digest"], outs["image"])
	assert.Equal(t, repo+":1.2.3\n"+repo+":1.2\n"+repo+":sha-0123456", outs["tags"])
	assert.ElementsMatch(t, []string{"1.2.3", "1.2", "sha-0123456"}, listTags(t, repo))

	var meta struct {
		Digest string `json:"containerimage.digest"`
		Pushed bool   `json:"pushed"`
		Report struct {
			Images []struct {
				Platform string `json:"platform"`
				Layers   []struct {
					Status string `json:"status"`
					Size   int64  `json:"size"`
				} `json:"layers"`
			} `json:"images"`
		} `json:"report"`
	}
	require.NoError(t, json.Unmarshal([]byte(outs["metadata"]), &meta))
	assert.Equal(t, outs["digest"], meta.Digest)
	assert.True(t, meta.Pushed)
	require.Len(t, meta.Report.Images, 2)
	assert.Equal(t, "linux/arm64", meta.Report.Images[1].Platform)
	assert.Equal(t, "uploaded", meta.Report.Images[0].Layers[0].Status)

	assert.Contains(t, stderr, "flightline build: "+outs["image"])
	assert.Contains(t, stderr, "| linux/amd64 |")
	assert.Contains(t, stderr, "| uploaded |")
	assert.Contains(t, stderr, "Version `1.2.3`")

	ref, err := name.ParseReference(repo + ":1.2.3")
	require.NoError(t, err)
	idx, err := remote.Index(ref)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, "agents", im.Annotations["team"])

	// Again: nothing new is sent, and the summary says the layers were present.
	code, stdout2, stderr := runCLI(t, env, "build", "--dir", dir, "--image", reg.Ref("Acme/Hello"),
		"--platforms", "linux/amd64,linux/arm64",
		"--tags", "type=semver,pattern={{version}}", "--tags", "type=semver,pattern={{major}}.{{minor}}", "--tags", "type=sha",
		"--labels", "team=agents")
	require.Equal(t, 0, code, stderr)
	outs2, err := actions.ParseOutputs(stdout2)
	require.NoError(t, err)
	assert.Equal(t, outs["digest"], outs2["digest"], "same inputs, same digest")
	assert.Contains(t, stderr, "0 layer(s) uploaded, 2 already present, 0 B sent.")
}

func TestBuild_InputsFromEnvironmentAndNoPush(t *testing.T) {
	dir := helloDir(t)
	layoutDir := filepath.Join(t.TempDir(), "oci")
	env := buildEnv(t, map[string]string{
		"GITHUB_REF":                    "refs/heads/feature/x",
		"GITHUB_SHA":                    testSHA,
		"FLIGHTLINE_INPUT_IMAGE":        "ghcr.io/Acme/Hello",
		"FLIGHTLINE_INPUT_TAGS":         "type=ref,event=branch\ntype=raw,value=edge,suffix=-1\n",
		"FLIGHTLINE_INPUT_PUSH":         "false",
		"FLIGHTLINE_INPUT_LAYOUT":       layoutDir,
		"FLIGHTLINE_INPUT_DIR":          dir,
		"FLIGHTLINE_INPUT_TOKEN":        "s3cr3t-token",
		"FLIGHTLINE_INPUT_PLATFORMS":    "linux/" + runtime.GOARCH, // no cross-compile: that is TestBuild_FlagsPushTwoPlatformsWithTags's
		"FLIGHTLINE_INPUT_BUILDER":      "go",
		"FLIGHTLINE_INPUT_MAIN":         ".",
		"FLIGHTLINE_INPUT_LABELS":       "a=b",
		"FLIGHTLINE_INPUT_BASE":         "",
		"FLIGHTLINE_NOT_AN_INPUT_IMAGE": "ignored",
	})
	// --like-self: the test binary's compile flags, whose standard library is in the build cache
	// already; the image flags' cold compile is pkg/build's to test (and, run alongside, would be
	// paid twice).
	code, stdout, stderr := runCLI(t, env, "build", "--like-self")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "", outs["version"])
	assert.Equal(t, "ghcr.io/acme/hello:feature-x\nghcr.io/acme/hello:edge-1", outs["tags"])
	assert.Contains(t, stderr, "**No semver tag:**")
	assert.Contains(t, stderr, "Built and written to the OCI layout "+layoutDir+" (not pushed)")
	assert.Contains(t, stderr, "1 layer(s) written, 0 already there.")
	assert.NotContains(t, stdout+stderr, "s3cr3t-token")

	p, err := layout.FromPath(layoutDir)
	require.NoError(t, err)
	idx, err := p.ImageIndex()
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2, "one entry per tag")
	assert.Equal(t, outs["digest"], im.Manifests[0].Digest.String())
}

func TestBuild_ForkPullRequestBuildsButDoesNotPush(t *testing.T) {
	reg := registrytest.New(t)
	dir := helloDir(t)
	event := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(event, []byte(`{"pull_request":{"head":{"repo":{"full_name":"mallory/hello"}},"base":{"repo":{"full_name":"acme/hello"}}}}`), 0o644))
	env := buildEnv(t, map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event, "GITHUB_TOKEN": "ro",
		"GITHUB_REF": "refs/pull/7/merge", "GITHUB_SHA": testSHA, "GITHUB_ACTIONS": "true",
		"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out"), "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "sum")})
	code, stdout, stderr := runCLI(t, env, "build", "--dir", dir, "--image", reg.Ref("acme/hello"),
		"--tags", "type=ref,event=pr", "--layout", filepath.Join(t.TempDir(), "oci"), "--like-self") // as above
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "::warning title=flightline build%3A not pushed::this is a pull request from the fork mallory/hello")
	assert.Zero(t, reg.Stats().Requests["PUT"]+reg.Stats().Requests["PATCH"]+reg.Stats().Requests["POST"], "nothing was pushed")
	sum, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	require.NoError(t, err)
	assert.Contains(t, string(sum), "**Not pushed:** this is a pull request from the fork mallory/hello")
	out, err := os.ReadFile(env["GITHUB_OUTPUT"])
	require.NoError(t, err)
	outs, err := actions.ParseOutputs(string(out))
	require.NoError(t, err)
	assert.NotEmpty(t, outs["digest"])
}

func TestBuild_BadInputs(t *testing.T) {
	dir := helloDir(t)
	reg := registrytest.New(t)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr []string
	}{
		{"no image", []string{"build", "--dir", dir}, nil, []string{"image"}},
		{"unknown builder", []string{"build", "--dir", dir, "--image", reg.Ref("a/b"), "--builder", "docker"}, nil,
			[]string{`builder "docker": unknown (valid: go)`}},
		{"bad tag rule", []string{"build", "--dir", dir, "--image", reg.Ref("a/b"), "--tags", "type=semver,pattern={{version}}", "--tags", "type=latest"}, nil,
			[]string{`"type=latest"`, "valid types: raw, ref, semver, sha"}},
		{"bad tag rule from the input", []string{"build", "--dir", dir, "--image", reg.Ref("a/b")}, map[string]string{"FLIGHTLINE_INPUT_TAGS": "type=sha,format=tiny"},
			[]string{`format="tiny"`}},
		{"bad platform", []string{"build", "--dir", dir, "--image", reg.Ref("a/b"), "--platforms", "linux"}, nil, []string{`platforms: bad platform "linux"`}},
		{"bad image", []string{"build", "--dir", dir, "--image", "ghcr.io/acme/hello:1.0"}, nil, []string{`image repository "ghcr.io/acme/hello:1.0"`}},
		{"bad label", []string{"build", "--dir", dir, "--image", reg.Ref("a/b"), "--labels", "nokey"}, nil, []string{`label "nokey": want KEY=VALUE`}},
		// These two compile (with --like-self: see TestBuild_InputsFromEnvironmentAndNoPush).
		{"bad base", []string{"build", "--dir", dir, "--image", reg.Ref("a/b"), "--base", reg.Ref("no/base:1"), "--like-self"}, nil, []string{"base image", reg.Ref("no/base:1")}},
		{"unreachable registry", []string{"build", "--dir", dir, "--image", registrytest.Unreachable(t) + "/a/b", "--tags", "type=raw,value=x", "--like-self"}, nil,
			[]string{"push failed", "/a/b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, buildEnv(t, tc.env), tc.args...)
			assert.Equal(t, 1, code)
			for _, w := range tc.wantErr {
				assert.Contains(t, stderr, w)
			}
		})
	}
}
