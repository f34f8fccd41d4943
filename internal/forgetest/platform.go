package forgetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
)

// Platform is a platform repository under test: a forge plus what a test needs to act as a
// person next to it and to look behind the forge.
type Platform interface {
	// Forge is the forge under test.
	Forge() forge.Forge
	// Base is the default branch.
	Base() string
	// Push commits files directly on the base branch (as a person pushing would) and returns
	// the new tip.
	Push(t testing.TB, files map[string][]byte, message string) string
	// Branches lists every branch of the repository, sorted.
	Branches(t testing.TB) []string
}

// NewPlatform makes a fresh platform repository whose base branch holds files.
type NewPlatform func(t testing.TB, files map[string][]byte) Platform

// GitPlatform is the local git forge (opened with opts) over a fresh repository: bare when bare
// is true, else a clone with the base branch checked out (the forge must not touch its HEAD or
// working tree, which the platform checks at cleanup).
func GitPlatform(bare bool, opts ...gitforge.Option) NewPlatform {
	return func(t testing.TB, files map[string][]byte) Platform {
		t.Helper()
		testenv.LookPath(t, "git", "apt-get install git")
		dir := t.TempDir()
		p := &gitPlatform{dir: dir}
		if bare {
			p.git(t, nil, "init", "-q", "--bare", "-b", "main")
		} else {
			p.git(t, nil, "init", "-q", "-b", "main")
		}
		p.commitFiles(t, "", files, "initial platform repository")
		if !bare {
			p.git(t, nil, "read-tree", "-u", "--reset", "HEAD") // populate index and work tree
			want := snapshot(t, dir)
			t.Cleanup(func() {
				head := strings.TrimSpace(p.git(t, nil, "symbolic-ref", "HEAD"))
				if head != "refs/heads/main" {
					t.Errorf("the forge changed HEAD to %s", head)
				}
				if got := snapshot(t, dir); !equalFiles(got, want) {
					t.Errorf("the forge changed the working tree")
				}
			})
		}
		f, err := gitforge.Open(context.Background(), dir, opts...)
		require.NoError(t, err)
		p.f = f
		return p
	}
}

type gitPlatform struct {
	dir string
	f   *gitforge.Forge
}

func (p *gitPlatform) Forge() forge.Forge { return p.f }
func (p *gitPlatform) Base() string       { return "main" }

func (p *gitPlatform) git(t testing.TB, env []string, args ...string) string {
	t.Helper()
	return p.gitIn(t, env, nil, args...)
}

func (p *gitPlatform) gitIn(t testing.TB, env []string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", p.dir}, args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=Person", "GIT_AUTHOR_EMAIL=person@example.com",
		"GIT_COMMITTER_NAME=Person", "GIT_COMMITTER_EMAIL=person@example.com")
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// commitFiles commits files on main with plumbing only (parent: the current main, if any).
func (p *gitPlatform) commitFiles(t testing.TB, parent string, files map[string][]byte, msg string) string {
	t.Helper()
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(t.TempDir(), "index")}
	if parent != "" {
		p.git(t, env, "read-tree", parent)
	}
	for path, data := range files {
		blob := strings.TrimSpace(p.gitIn(t, nil, data, "hash-object", "-w", "--stdin"))
		p.git(t, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+path)
	}
	tree := strings.TrimSpace(p.git(t, env, "write-tree"))
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	sha := strings.TrimSpace(p.git(t, nil, args...))
	old := parent
	if old == "" {
		old = "0000000000000000000000000000000000000000"
	}
	p.git(t, nil, "update-ref", "refs/heads/main", sha, old)
	return sha
}

func (p *gitPlatform) Push(t testing.TB, files map[string][]byte, message string) string {
	t.Helper()
	tip := strings.TrimSpace(p.git(t, nil, "rev-parse", "refs/heads/main"))
	return p.commitFiles(t, tip, files, message)
}

func (p *gitPlatform) Branches(t testing.TB) []string {
	t.Helper()
	out := p.git(t, nil, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	b := strings.Fields(out)
	sort.Strings(b)
	return b
}

// snapshot reads every file of the working tree (outside .git).
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			m[path] = string(b)
		}
		return nil
	})
	require.NoError(t, err)
	return m
}

func equalFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Dir is the repository directory (the local git forge's platform-dir).
func (p *gitPlatform) Dir() string { return p.dir }

// CountingGit writes a wrapper around the git binary that counts its invocations, for
// benchmarks: pass the path to gitforge.WithGit and read the count with the returned func.
func CountingGit(t testing.TB) (path string, count func() int) {
	t.Helper()
	real, err := exec.LookPath("git")
	require.NoError(t, err)
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	path = filepath.Join(dir, "git")
	script := "#!/bin/sh\necho >>'" + log + "'\nexec '" + real + "' \"$@\"\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path, func() int {
		b, err := os.ReadFile(log)
		if err != nil {
			return 0
		}
		return len(b)
	}
}
