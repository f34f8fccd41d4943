package acttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
)

// setupScript runs scripts/setup.sh of repo as a job step would (GITHUB_PATH, GITHUB_ENV in dir)
// with extra environment, and returns its output and the job environment it wrote.
func setupScript(tb testing.TB, repo, dir string, extraEnv ...string) (string, []string, error) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(repo, "scripts", "setup.sh"))
	cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=", "FLIGHTLINE_BIN=", "FLIGHTLINE_SHA256=",
		"GITHUB_PATH="+filepath.Join(dir, "path"), "GITHUB_ENV="+filepath.Join(dir, "env"))
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	return string(out), strings.Fields(string(env)), err
}

// releaseCopy is a repository copy that holds a release of itself, served by an in-process host.
func releaseCopy(tb testing.TB) (repo, base string) {
	tb.Helper()
	repo = filepath.Join(tb.TempDir(), "repo")
	copyRepo(tb, RepoRoot(tb), repo)
	return repo, serveRelease(tb, repo, nil)
}

// Outside act, the same script: the release path downloads once; a second use in the job (the
// environment the first one wrote) re-verifies and downloads nothing.
func TestSetupScript_ReleaseThenSecondUse(t *testing.T) {
	testenv.CIOnly(t, "builds a release of the lean binary first")
	repo, base := releaseCopy(t)
	home, job := t.TempDir(), t.TempDir()
	out, env, err := setupScript(t, repo, job, "FLIGHTLINE_HOME="+home, "FLIGHTLINE_RELEASE_BASE_URL="+base)
	require.NoError(t, err, out)
	assert.Contains(t, out, "verified against release/SHA256SUMS")
	require.Len(t, env, 2, "FLIGHTLINE_BIN and FLIGHTLINE_SHA256 for later steps")
	path, err := os.ReadFile(filepath.Join(job, "path"))
	require.NoError(t, err)
	bin := filepath.Join(strings.TrimSpace(string(path)), "flightline")
	assert.Contains(t, versionOf(t, bin), "edition=lean")

	out, _, err = setupScript(t, repo, job, append(env, "FLIGHTLINE_HOME="+home, "FLIGHTLINE_RELEASE_BASE_URL=http://127.0.0.1:1")...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "already set up in this job")

	// A binary swapped between two uses is not reused: the set-up fetches the release again.
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho planted\n"), 0o755))
	out, _, err = setupScript(t, repo, job, append(env, "FLIGHTLINE_HOME="+home, "FLIGHTLINE_RELEASE_BASE_URL="+base)...)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "already set up")
	assert.Contains(t, versionOf(t, bin), "edition=lean")
}

// A tree whose sources changed after its release (a later commit that kept release/) is not that
// release: the set-up must not download the release's binary for it.
func TestSetupScript_ChangedTreeIsNotTheRelease(t *testing.T) {
	repo, base := releaseCopy(t)
	writeFile(t, filepath.Join(repo, "pkg", "promote", "later.go"), "package promote\n")
	out, _, err := setupScript(t, repo, t.TempDir(), "FLIGHTLINE_HOME="+t.TempDir(),
		"FLIGHTLINE_RELEASE_BASE_URL="+base, "PATH=/usr/bin:/bin") // no Go: stop right after the decision
	require.Error(t, err)
	assert.Contains(t, out, "this tree's sources differ from release "+ReleaseVersion+"'s")
	assert.Contains(t, out, "no Go on PATH")
}

// BenchmarkSetup_Release is a new job that pins a release: download from a local release host,
// SHA-256, the tree's digest. Target ≤ 3 s.
func BenchmarkSetup_Release(b *testing.B) {
	repo, base := releaseCopy(b)
	for b.Loop() {
		if out, _, err := setupScript(b, repo, b.TempDir(), "FLIGHTLINE_HOME="+b.TempDir(), "FLIGHTLINE_RELEASE_BASE_URL="+base); err != nil {
			b.Fatal(out)
		}
	}
}

// BenchmarkSetup_SecondUse is the set-up of a second action in the same job: re-verify only.
func BenchmarkSetup_SecondUse(b *testing.B) {
	repo, base := releaseCopy(b)
	home, job := b.TempDir(), b.TempDir()
	out, env, err := setupScript(b, repo, job, "FLIGHTLINE_HOME="+home, "FLIGHTLINE_RELEASE_BASE_URL="+base)
	if err != nil {
		b.Fatal(out)
	}
	env = append(env, "FLIGHTLINE_HOME="+home, "FLIGHTLINE_RELEASE_BASE_URL="+base)
	b.ResetTimer()
	for b.Loop() {
		if out, _, err := setupScript(b, repo, job, env...); err != nil || !strings.Contains(out, "already set up") {
			b.Fatal(out)
		}
	}
}

// BenchmarkSetup_Source is a job on an unreleased commit: a cold compile of the lean binary with
// the Go of release/go-version (modules and that Go already downloaded; the build cache empty).
// Run with -benchtime=1x.
func BenchmarkSetup_Source(b *testing.B) {
	repo := filepath.Join(b.TempDir(), "repo")
	copyRepo(b, RepoRoot(b), repo)
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		b.Fatal(err)
	}
	proxy := "GOPROXY=file://" + filepath.ToSlash(filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download")) + ",https://proxy.golang.org"
	for b.Loop() {
		if out, _, err := setupScript(b, repo, b.TempDir(), "FLIGHTLINE_HOME="+b.TempDir(), proxy); err != nil {
			b.Fatal(out)
		}
	}
}
