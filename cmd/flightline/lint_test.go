package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/sarif"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// lintFixture copies pkg/lint's fixture repository (Go, Python, a workflow, a shell script and
// YAML, each with known problems) into a git repository.
func lintFixture(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	out, err := exec.Command("cp", "-r", filepath.Join("..", "..", "pkg", "lint", "testdata", "fixture")+"/.", dst).CombinedOutput()
	require.NoError(t, err, string(out))
	gitIn(t, dst, "init", "-q", "-b", "main")
	gitIn(t, dst, "add", "-A")
	gitIn(t, dst, "commit", "-q", "-m", "fixture")
	return dst
}

// The acceptance: on the fixture, flightline lint reports each expected finding with file and
// line, exits non-zero with fail-on error, and writes SARIF that validates.
func TestLint_FixtureFailsWithFindingsAndValidSARIF(t *testing.T) {
	for _, p := range []string{"go", "flake8", "black", "isort", "bandit", "actionlint", "shellcheck", "yamllint", "golangci-lint"} {
		testenv.LookPath(t, p, "run .ci/run")
	}
	dir := lintFixture(t)
	out := t.TempDir()
	env := terminalEnv(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(out, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(out, "sum")})
	sarifPath := filepath.Join(out, "lint.sarif")
	code, stdout, stderr := runCLI(t, env, "lint", "--working-directory", dir, "--fail-on", "error", "--sarif", sarifPath)
	assert.Equal(t, 1, code, stderr)
	for _, want := range []string{
		"::error col=20,file=cmd/hello/main.go,line=11,title=go-vet printf::fmt.Printf format %25d has arg name of wrong type string",
		"file=cmd/hello/main.go,line=12,title=golangci-lint errcheck::",
		"::error col=12,file=app/main.py,line=8,title=flake8 F821::undefined name 'undefined_name'",
		"::error file=app/main.py,line=11,title=black format::would reformat (black)",
		"::error file=app/main.py,line=1,title=isort import-order::",
		"::error file=app/main.py,line=7,title=bandit B602::subprocess call with shell=True",
		"::error col=24,file=.github/workflows/ci.yml,line=7,title=actionlint expression::",
		"::warning col=1,file=scripts/deploy.sh,line=3,title=shellcheck SC2164::",
		"::error col=3,file=config.yaml,line=4,title=yamllint key-duplicates::",
	} {
		assert.Contains(t, stdout+stderr, want)
	}
	b, err := os.ReadFile(env["GITHUB_OUTPUT"])
	require.NoError(t, err)
	outs, err := actions.ParseOutputs(string(b))
	require.NoError(t, err)
	assert.Equal(t, "true", outs["failed"])
	assert.Equal(t, sarifPath, outs["sarif"])
	assert.NotEqual(t, "0", outs["findings"])
	data, err := os.ReadFile(sarifPath)
	require.NoError(t, err)
	require.NoError(t, sarif.Validate(data))
	var doc struct{ Runs []json.RawMessage }
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.Len(t, doc.Runs, 9, "a run per linter")
	sum, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	require.NoError(t, err)
	assert.Contains(t, string(sum), "| linter | version | errors | warnings | info | time | status |")
	assert.Contains(t, string(sum), "| shellcheck | 0.9.0 | 0 | 1 | 1 |")
	assert.Contains(t, string(sum), "### First 20 of")
}

// only-new against a real history: the problem that was already there (line 3) is neither
// annotated nor counted; the new line's problem is, and fails the run at fail-on warning.
func TestLint_OnlyNewIgnoresUnchangedLines(t *testing.T) {
	testenv.LookPath(t, "shellcheck", "apt-get install shellcheck")
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/bash\ntarget=/srv\ncd /srv/app\necho done\n"), 0o644))
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "base")
	gitIn(t, dir, "checkout", "-q", "-b", "feature")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/bash\ntarget=/srv\ncd /srv/app\necho done\necho \"ok\"\n"), 0o644))
	gitIn(t, dir, "commit", "-q", "-am", "a clean change")

	out := t.TempDir()
	env := terminalEnv(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(out, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(out, "sum")})
	code, stdout, stderr := runCLI(t, env, "lint", "--working-directory", dir, "--linters", "shellcheck", "--only-new", "--base-ref", "main", "--fail-on", "warning")
	assert.Equal(t, 0, code, stderr)
	assert.NotContains(t, stdout, "SC2164", "the cd on unchanged line 3 is not annotated")
	b, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	outs, err := actions.ParseOutputs(string(b))
	require.NoError(t, err)
	assert.Equal(t, "0", outs["findings"])
	assert.Equal(t, "false", outs["failed"])
	sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	assert.Contains(t, string(sum), "3 finding(s) on unchanged lines left out")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/bash\ntarget=/srv\ncd /srv/app\necho done\necho \"ok\"\ncd /tmp\n"), 0o644))
	gitIn(t, dir, "commit", "-q", "-am", "a bad change")
	require.NoError(t, os.Remove(env["GITHUB_OUTPUT"]))
	code, stdout, _ = runCLI(t, env, "lint", "--working-directory", dir, "--linters", "shellcheck", "--only-new", "--base-ref", "main", "--fail-on", "warning")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "::warning col=1,file=deploy.sh,line=6,title=shellcheck SC2164::")
	assert.NotContains(t, stdout, "line=3", "the same problem on the unchanged line 3 is still not annotated")
}

func TestLint_BadInput(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, nil, "lint", "--working-directory", dir, "--linters", "flake8,pylint")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown linter "pylint": valid linters are go-vet, golangci-lint, flake8, ruff, black, isort, bandit, actionlint, shellcheck, yamllint, or auto`)

	code, _, stderr = runCLI(t, map[string]string{"FLIGHTLINE_INPUT_FAIL_ON": "sometimes"}, "lint", "--working-directory", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `fail-on "sometimes": want error, warning or none`)

	code, _, stderr = runCLI(t, map[string]string{"FLIGHTLINE_INPUT_ARGS": "flake8 --max-line-length=100"}, "lint", "--working-directory", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "want NAME: ARGS")

	code, _, stderr = runCLI(t, nil, "lint", "--working-directory", dir, "--only-new")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "only-new: the working directory is not in a git repository")

	code, _, stderr = runCLI(t, nil, "lint", "--working-directory", filepath.Join(dir, "missing"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "is not a directory")
}
