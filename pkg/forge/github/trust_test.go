package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// Scenario 12 of issue 16: a redirect to another host never carries the token.
func TestTransport_RedirectToAnotherHost_NoToken(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}))
	t.Cleanup(other.Close)
	s := newServer(t, map[string][]byte{"f.yaml": []byte("a\n")})
	f := newForge(t, s)
	s.Inject(&githubtest.Fault{Op: "GET /repos/{owner}/{repo}/git/ref/{ref...}", Redirect: other.URL, Times: 1})

	_, err := f.Head(context.Background(), "main")
	require.Error(t, err, "the other host answered 404")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 1, "the client followed the redirect")
	assert.Empty(t, seen[0], "no Authorization header on another host")
	for _, r := range s.Log() {
		assert.NotEqual(t, http.StatusUnauthorized, r.Status, "the API host itself still got the token")
	}
}

// GET /user tells a PAT's login; an App installation token gets 403 and ErrIdentityUnknown.
func TestIdentity_PATAndAppToken(t *testing.T) {
	s := newServer(t, map[string][]byte{"f.yaml": []byte("a\n")})
	s.AddToken(testToken, githubtest.Token{Write: true, Login: "octo-deployer"})
	f := newForge(t, s)
	who, err := f.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "octo-deployer", who)

	s2 := newServer(t, map[string][]byte{"f.yaml": []byte("a\n")})
	s2.AddToken(testToken, githubtest.Token{Write: true, Installation: true, Login: "flightline-app[bot]"})
	_, err = newForge(t, s2).Identity(context.Background())
	require.ErrorIs(t, err, forge.ErrIdentityUnknown)
	assert.Contains(t, err.Error(), "403")
}

// A fork's PR is marked Fork, carries its author, and closing it never deletes the platform
// repository's branch of the same name.
func TestClose_ForkPR_LeavesSameNamedBranch(t *testing.T) {
	s := newServer(t, map[string][]byte{"f.yaml": []byte("a\n")})
	f := newForge(t, s)
	ctx := context.Background()
	s.OpenPullBy(testRepo, githubtest.PullSpec{Title: "ours", Head: "feature-x", Files: map[string][]byte{"f.yaml": []byte("b\n")}})
	n := s.OpenPullBy(testRepo, githubtest.PullSpec{Title: "theirs", Head: "feature-x", Author: "mallory", Fork: "mallory",
		Files: map[string][]byte{"f.yaml": []byte("c\n")}})
	pr, err := f.Get(ctx, itoa(n))
	require.NoError(t, err)
	assert.True(t, pr.Fork)
	assert.Equal(t, "mallory", pr.Author)
	require.NoError(t, f.Close(ctx, pr, "closing"))
	assert.Contains(t, s.Branches(testRepo), "feature-x")
}

func itoa(n int) string { return strconv.Itoa(n) }

// An App installation token cannot name itself (GET /user is 403): promote and rollback then
// need app-slug (or trusted-authors) and say so; with it, the App's PRs (SLUG[bot]) are trusted.
func TestTrust_AppToken_NeedsAppSlug(t *testing.T) {
	appPlatform := func(t testing.TB, files map[string][]byte) forgetest.Platform {
		s := newServer(t, files)
		s.AddToken(testToken, githubtest.Token{Write: true, Installation: true, Login: "flightline-app[bot]"})
		return &platform{s: s, f: newForge(t, s)}
	}
	e := forgetest.NewEnv(t, appPlatform)
	_, err := e.Promote(promote.Request{Version: "1.5.0"})
	require.ErrorIs(t, err, promote.ErrInvalidInput)
	assert.Contains(t, err.Error(), "app-slug")
	assert.Empty(t, e.PRBranches(), "nothing written")

	p := e.MustPromote(promote.Request{Version: "1.5.0", AppSlug: "flightline-app", Merge: promote.MergeNow})
	assert.Equal(t, "flightline-app[bot]", p.PR.Author)
	_, err = e.Rollback(rollback.Request{DryRun: true})
	require.ErrorIs(t, err, promote.ErrInvalidInput)
	r, err := e.Rollback(rollback.Request{TrustedAuthors: []string{"octo-deployer", "flightline-app[bot]"}, Merge: promote.MergeNow})
	require.NoError(t, err)
	assert.True(t, r.Verified)
}

// With merge commits (not GitHub's squash), GitHub's history of a path names the PR's own
// commit, not the merge: rollback still finds the promotion (the commit's PR) and verifies its
// merge commit against its first parent.
func TestTrust_MergeCommitMethod_RollbackFindsAndVerifies(t *testing.T) {
	mergePlatform := func(t testing.TB, files map[string][]byte) forgetest.Platform {
		s := newServer(t, files)
		return &platform{s: s, f: newForge(t, s, WithMergeMethod("merge"))}
	}
	e := forgetest.NewEnv(t, mergePlatform)
	p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	e.P.Push(t, map[string][]byte{"README.md": []byte("flux pushed\n")}, "flux: update images")
	r, err := e.Rollback(rollback.Request{Merge: promote.MergeNow})
	require.NoError(t, err)
	assert.Equal(t, p15.PR.ID(), r.Reverted.ID())
	assert.True(t, r.Verified)
}
