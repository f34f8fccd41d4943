package forgetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
)

// People is what a platform lets a test do as someone other than the forge under test: a
// contributor opening a PR from a branch of the platform repository, and pushing onto a branch.
// Both forges implement it; the trust scenarios need it.
type People interface {
	// Stranger is an author nobody listed as trusted (a login on GitHub, an email locally).
	Stranger() string
	// OpenAs opens a PR from a new branch of the platform repository whose one commit, by
	// author, sets files on the base tip.
	OpenAs(t testing.TB, author, branch, title, body string, files map[string][]byte) forge.PR
	// PushAs pushes one commit by author setting files onto an existing branch (on the local
	// forge it keeps the tip's message, marker included, as an attacker would).
	PushAs(t testing.TB, author, branch string, files map[string][]byte)
}

// BodyEditor edits a PR's description after it merged (GitHub: anyone with triage access).
type BodyEditor interface {
	EditBody(t testing.TB, pr forge.PR, body string)
}

// Forks opens PRs from forks (GitHub).
type Forks interface {
	// OpenFork opens a PR by author from branch of author's fork of the platform repository.
	OpenFork(t testing.TB, author, branch, title, body string, files map[string][]byte) forge.PR
}

// Clutter adds n closed PRs updated after everything else (GitHub): they push older PRs out
// of a window of recently updated PRs.
type Clutter interface {
	CloseMany(t testing.TB, n int)
}

func people(t testing.TB, p Platform) People {
	t.Helper()
	pp, ok := p.(People)
	if !ok {
		t.Skipf("%T cannot act as another person", p)
	}
	return pp
}

// Stranger is mallory's email on the local git forge.
func (p *gitPlatform) Stranger() string { return "mallory@example.com" }

// OpenAs makes branch (a PR on the local git forge) with one commit by author.
func (p *gitPlatform) OpenAs(t testing.TB, author, branch, title, body string, files map[string][]byte) forge.PR {
	t.Helper()
	tip := strings.TrimSpace(p.git(t, nil, "rev-parse", "refs/heads/main"))
	msg := title + "\n\n" + body + "\n\nBase: main\nBranch: " + branch + "\n"
	sha := p.commitAs(t, author, tip, files, msg)
	p.git(t, nil, "update-ref", "refs/heads/"+branch, sha, "0000000000000000000000000000000000000000")
	pr, err := p.f.Get(context.Background(), branch)
	require.NoError(t, err)
	return pr
}

// PushAs adds a commit by author on branch, keeping the tip's message.
func (p *gitPlatform) PushAs(t testing.TB, author, branch string, files map[string][]byte) {
	t.Helper()
	tip := strings.TrimSpace(p.git(t, nil, "rev-parse", "refs/heads/"+branch))
	msg := p.git(t, nil, "log", "-1", "--format=%B", tip)
	sha := p.commitAs(t, author, tip, files, msg)
	p.git(t, nil, "update-ref", "refs/heads/"+branch, sha, tip)
}

// commitAs writes a commit by author on parent setting files (not moving any ref).
func (p *gitPlatform) commitAs(t testing.TB, author, parent string, files map[string][]byte, msg string) string {
	t.Helper()
	env := []string{"GIT_INDEX_FILE=" + t.TempDir() + "/index", "GIT_AUTHOR_EMAIL=" + author, "GIT_AUTHOR_NAME=" + author}
	p.git(t, env, "read-tree", parent)
	for path, data := range files {
		blob := strings.TrimSpace(p.gitIn(t, nil, data, "hash-object", "-w", "--stdin"))
		p.git(t, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+path)
	}
	tree := strings.TrimSpace(p.git(t, env, "write-tree"))
	return strings.TrimSpace(p.gitIn(t, env, []byte(msg), "commit-tree", tree, "-p", parent, "-F", "-"))
}
