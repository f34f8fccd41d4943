package acttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
)

func releaseScript(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "scripts", "release.sh"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// versionOf runs `bin version` as on a terminal (outputs on stdout, also when the tests run in a
// GitHub Actions step) and returns what it printed.
func versionOf(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT=", "GITHUB_STEP_SUMMARY=", "GITHUB_ACTIONS=")
	out, err := cmd.Output()
	require.NoError(t, err)
	return string(out)
}

// Two builds of one tree, in directories of different depths, each with its own empty build
// cache, give the same bytes: what lets release/SHA256SUMS be committed before the tag and the
// release workflow check its own build against it.
func TestRelease_TwoBuildsInDifferentDirectoriesAreIdentical(t *testing.T) {
	testenv.CIOnly(t, "two cold compiles of the lean binary with the Go of release/go-version (minutes on 2 cores)")
	root := RepoRoot(t)
	var sums []string
	for _, dir := range []string{
		filepath.Join(t.TempDir(), "a"),
		filepath.Join(t.TempDir(), "somewhere", "much", "deeper", "b"),
	} {
		copyRepo(t, root, dir)
		out := filepath.Join(dir, "out", "flightline")
		log, err := releaseScript(t, dir, []string{"GOCACHE=" + t.TempDir(), "GOFLAGS=-race", "GOAMD64=v3"},
			"binary", runtime.GOOS, runtime.GOARCH, "lean", "v0.0.0-repro", out)
		require.NoError(t, err, log)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		sums = append(sums, sha256Hex(b))
		v := versionOf(t, out)
		assert.Contains(t, v, "version=v0.0.0-repro")
		assert.Contains(t, v, "edition=lean")
		gv, err := os.ReadFile(filepath.Join(root, "release", "go-version"))
		require.NoError(t, err)
		assert.Contains(t, v, "go=go"+strings.TrimSpace(string(gv)), "built with the Go of release/go-version")
	}
	assert.Equal(t, sums[0], sums[1], "two builds of one tree differ")
	t.Logf("both builds: sha256 %s", sums[0])
}

// The digest that ties a tree to its release: the same in any directory, blind to the hash files
// (outputs of the build) and to tests, changed by any source of the binary.
func TestRelease_Digest(t *testing.T) {
	root := RepoRoot(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "x", "b")
	copyRepo(t, root, a)
	copyRepo(t, root, b)
	da, err := releaseScript(t, a, nil, "digest")
	require.NoError(t, err, da)
	require.Regexp(t, `^[0-9a-f]{64}$`, da)
	db, err := releaseScript(t, b, nil, "digest")
	require.NoError(t, err, db)
	assert.Equal(t, da, db, "the digest depends on the directory")

	writeFile(t, filepath.Join(b, "release", "SHA256SUMS"), strings.Repeat("0", 64)+"  flightline-lean_linux_amd64\n")
	writeFile(t, filepath.Join(b, "release", "source.sha256"), da+"\n")
	writeFile(t, filepath.Join(b, "pkg", "promote", "new_test.go"), "package promote\n")
	writeFile(t, filepath.Join(b, "README.md"), "changed\n")
	db, err = releaseScript(t, b, nil, "digest")
	require.NoError(t, err, db)
	assert.Equal(t, da, db, "hash files, tests and docs are not inputs of the build")

	writeFile(t, filepath.Join(b, "pkg", "promote", "new.go"), "package promote\n")
	db, err = releaseScript(t, b, nil, "digest")
	require.NoError(t, err, db)
	assert.NotEqual(t, da, db, "a new source file must change the digest")
	writeFile(t, filepath.Join(a, "release", "go-version"), "1.26.99\n")
	da2, err := releaseScript(t, a, nil, "digest")
	require.NoError(t, err, da2)
	assert.NotEqual(t, da, da2, "the Go version is an input")
}

// verify refuses a build whose bytes differ from the committed hashes, and a tree whose sources
// changed after the release was prepared.
func TestRelease_Verify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	copyRepo(t, RepoRoot(t), dir)
	writeFile(t, filepath.Join(dir, "release", "version"), "v0.0.0-verify\n")
	digest, err := releaseScript(t, dir, nil, "digest")
	require.NoError(t, err, digest)
	sums := strings.Repeat("a", 64) + "  flightline_linux_amd64\n"
	writeFile(t, filepath.Join(dir, "release", "SHA256SUMS"), sums)
	writeFile(t, filepath.Join(dir, "release", "source.sha256"), digest+"\n")

	dist := filepath.Join(t.TempDir(), "dist")
	writeFile(t, filepath.Join(dist, "SHA256SUMS"), sums)
	out, err := releaseScript(t, dir, nil, "verify", dist)
	require.NoError(t, err, out)

	writeFile(t, filepath.Join(dist, "SHA256SUMS"), strings.Repeat("b", 64)+"  flightline_linux_amd64\n")
	out, err = releaseScript(t, dir, nil, "verify", dist)
	require.Error(t, err)
	assert.Contains(t, out, "differ from the hashes committed in release/SHA256SUMS")
	assert.Contains(t, out, "-"+strings.Repeat("a", 64))
	assert.Contains(t, out, "+"+strings.Repeat("b", 64))

	writeFile(t, filepath.Join(dist, "SHA256SUMS"), sums)
	writeFile(t, filepath.Join(dir, "cmd", "flightline", "extra.go"), "package main\n")
	out, err = releaseScript(t, dir, nil, "verify", dist)
	require.Error(t, err)
	assert.Contains(t, out, "the build inputs changed after")
}
