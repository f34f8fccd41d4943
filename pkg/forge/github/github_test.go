package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v90/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/pkg/forge"
)

const file = "apps/images.yaml"

var (
	v1 = []byte("# images\nrange: 1.4.0 # pinned\n")
	v2 = []byte("# images\nrange: 1.5.0 # pinned\n")
	v3 = []byte("# images\nrange: 1.6.0 # pinned\n")
)

const (
	opCommit    = "graphql createCommitOnBranch"
	opAuto      = "graphql enablePullRequestAutoMerge"
	opRevert    = "graphql revertPullRequest"
	opMerge     = "PUT /repos/{owner}/{repo}/pulls/{number}/merge"
	opCreatePR  = "POST /repos/{owner}/{repo}/pulls"
	opContents  = "GET /repos/{owner}/{repo}/contents/{path...}"
	opGetRepo   = "GET /repos/{owner}/{repo}"
	opCreateRef = "POST /repos/{owner}/{repo}/git/refs"
)

func change(t *testing.T, f *Forge, branch string, content []byte, body string, labels ...string) forge.Change {
	t.Helper()
	sha, err := f.Head(context.Background(), "main")
	require.NoError(t, err)
	return forge.Change{Base: "main", BaseSHA: sha, Branch: branch, Title: "promote ns/app to 1.5.0", Body: body,
		Files: map[string][]byte{file: content}, Labels: labels}
}

// setup is an emulator, a forge on it, and the file at v1.
func setup(t *testing.T, opts ...Option) (*githubtest.Server, *Forge) {
	t.Helper()
	s := newServer(t, map[string][]byte{file: v1, "README.md": []byte("platform\n")})
	return s, newForge(t, s, opts...)
}

func TestPropose_CreatesMissingLabels(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	s.CreateLabel(testRepo, "promotion")
	pr, res, err := f.Propose(ctx, change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b", "promotion", "prod"))
	require.NoError(t, err)
	assert.Equal(t, forge.Created, res)
	assert.Equal(t, []string{"prod", "promotion"}, pr.Labels)
	assert.Equal(t, []string{"prod", "promotion"}, s.Labels(testRepo))
	got, ok := s.Pull(testRepo, pr.Number)
	require.True(t, ok)
	assert.Equal(t, []string{"prod", "promotion"}, got.Labels)
}

func TestPropose_422AlreadyExistsFindsAndUpdatesTheExistingPR(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	const branch = "flightline/promote/ns/app/1.5.0"
	var other int
	// Another run opens a PR on the branch between our commit and our PR creation.
	s.Inject(&githubtest.Fault{Op: opCreatePR, Times: 1, Before: func() {
		other = s.OpenPull(testRepo, "someone else's title", "old body", branch, "main")
	}})
	pr, res, err := f.Propose(ctx, change(t, f, branch, v2, "new body"))
	require.NoError(t, err)
	assert.Equal(t, forge.Updated, res)
	assert.Equal(t, other, pr.Number, "the existing PR is reused, not an error")
	got, _ := s.Pull(testRepo, other)
	assert.Equal(t, "new body", got.Body)
	assert.Equal(t, "promote ns/app to 1.5.0", got.Title)
	assert.Len(t, s.Pulls(testRepo), 1)
}

func TestPropose_RaceRetriedOnceOnNewHead(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	const branch = "flightline/promote/ns/app/1.5.0"
	_, _, err := f.Propose(ctx, change(t, f, branch, v2, "b"))
	require.NoError(t, err)
	// Someone pushes to the PR branch between the forge's read of its head and its commit.
	s.Inject(&githubtest.Fault{Op: opCommit, Times: 1, Before: func() {
		s.Push(testRepo, branch, map[string][]byte{"notes.txt": []byte("a concurrent push\n")}, "concurrent")
	}})
	s.ResetLog()
	pr, res, err := f.Propose(ctx, change(t, f, branch, v3, "b"))
	require.NoError(t, err)
	assert.Equal(t, forge.Updated, res)
	assert.Equal(t, 2, githubtest.Count(s.Log())[opCommit], "one lost compare-and-swap, one retry on the new head")
	assert.Equal(t, v3, s.File(testRepo, branch, file))
	assert.Equal(t, "a concurrent push\n", string(s.File(testRepo, branch, "notes.txt")), "the concurrent push is kept")
	assert.Equal(t, s.Head(testRepo, branch), pr.HeadSHA)
}

func TestPropose_RaceLostTwice_CleanStaleErrorAndNoOrphanBranch(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	const branch = "flightline/promote/ns/app/1.5.0"
	n := 0
	s.Inject(&githubtest.Fault{Op: opCommit, Before: func() {
		n++
		s.Push(testRepo, branch, map[string][]byte{"notes.txt": []byte(fmt.Sprintf("push %d\n", n))}, "concurrent")
	}})
	_, _, err := f.Propose(ctx, change(t, f, branch, v2, "b"))
	require.ErrorIs(t, err, forge.ErrStale)
	assert.Contains(t, err.Error(), "moved twice")
	assert.Contains(t, err.Error(), "run again")
	assert.Equal(t, 2, githubtest.Count(s.Log())[opCommit], "retried once, not more")
	assert.Equal(t, []string{"main"}, s.Branches(testRepo), "the branch the failed run made is deleted")
	assert.Empty(t, s.Pulls(testRepo))
}

func TestPropose_ActionsMayNotCreatePRs_ActionableMessageNoOrphan(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, map[string][]byte{file: v1})
	s.AddToken(testToken, githubtest.Token{Write: true, Actions: true})
	s.Configure(testRepo, func(st *githubtest.Settings) { st.ActionsCanCreatePRs = false })
	f := newForge(t, s)
	_, _, err := f.Propose(ctx, change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b"))
	require.ErrorIs(t, err, ErrPermission)
	assert.Contains(t, err.Error(), `"Allow GitHub Actions to create and approve pull requests"`)
	assert.Contains(t, err.Error(), "GitHub App installation token")
	assert.Equal(t, []string{"main"}, s.Branches(testRepo), "no branch left behind")
}

func TestPropose_ReadOnlyToken_403SaysWhichPermissions(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, map[string][]byte{file: v1})
	s.AddToken(testToken, githubtest.Token{})
	f := newForge(t, s)
	_, _, err := f.Propose(ctx, change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b"))
	require.ErrorIs(t, err, ErrPermission)
	assert.Contains(t, err.Error(), "Contents: write and Pull requests: write")
	assert.Contains(t, err.Error(), "GITHUB_TOKEN only reaches its own repository")
	assert.Equal(t, []string{"main"}, s.Branches(testRepo))
}

func TestPropose_BadInputRefused(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	for name, c := range map[string]forge.Change{
		"NoFiles":      {Base: "main", BaseSHA: "abc", Branch: "flightline/x", Title: "t"},
		"BadBranch":    {Base: "main", BaseSHA: "abc", Branch: "flightline/../x", Title: "t", Files: map[string][]byte{file: v2}},
		"MultiLineTtl": {Base: "main", BaseSHA: "abc", Branch: "flightline/x", Title: "a\nb", Files: map[string][]byte{file: v2}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.Propose(ctx, c)
			require.Error(t, err)
			assert.Equal(t, []string{"main"}, s.Branches(testRepo))
		})
	}
}

func TestNew_RepoNotVisible_SaysUseAppTokenOrPAT(t *testing.T) {
	s := newServer(t, map[string][]byte{file: v1})
	s.AddToken(testToken, githubtest.Token{Repos: []string{"acme/app"}, Write: true})
	_, err := New(context.Background(), testRepo, testToken, WithBaseURL(s.URL), WithHTTPClient(s.Client()))
	require.ErrorIs(t, err, ErrPermission)
	assert.Contains(t, err.Error(), "acme/platform is not visible to the token")
	assert.Contains(t, err.Error(), "GITHUB_TOKEN is scoped to the workflow's own repository")
	assert.Contains(t, err.Error(), "fine-grained PAT")
}

func TestNew_BadCredentials_401(t *testing.T) {
	s := newServer(t, map[string][]byte{file: v1})
	s.AddToken("another-token", githubtest.Token{Write: true})
	_, err := New(context.Background(), testRepo, testToken, WithBaseURL(s.URL), WithHTTPClient(s.Client()))
	require.ErrorIs(t, err, ErrAuth)
	assert.Contains(t, err.Error(), "expired")
}

func TestNew_BadInputRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, repo, token string
		opts              []Option
		want              string
	}{
		{"RepoWithoutOwner", "platform", "t", nil, "want OWNER/REPO"},
		{"RepoWithURL", "https://github.com/acme/platform", "t", nil, "want OWNER/REPO"},
		{"NoToken", "acme/platform", " ", nil, "no token given"},
		{"UnknownMergeMethod", "acme/platform", "t", []Option{WithMergeMethod("octopus")}, "use one of squash, merge, rebase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ctx, tt.repo, tt.token, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// open proposes v2 and returns the open PR.
func open(t *testing.T, f *Forge) forge.PR {
	t.Helper()
	pr, _, err := f.Propose(context.Background(), change(t, f, "flightline/promote/ns/app/1.5.0", v2, "body <!-- m -->"))
	require.NoError(t, err)
	return pr
}

func TestMerge_5xxRetriedThenMerged(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.Inject(&githubtest.Fault{Op: opMerge, Status: http.StatusBadGateway, Times: 2})
	s.ResetLog()
	merged, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, merged.State)
	assert.Equal(t, 3, githubtest.Count(s.Log())[opMerge])
	assert.Equal(t, v2, s.File(testRepo, "main", file))
	assert.Equal(t, []string{"main"}, s.Branches(testRepo))
}

func TestMerge_5xxPersistent_LeavesUsableOpenPRAndPrintsManualCommand(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.Inject(&githubtest.Fault{Op: opMerge, Status: http.StatusServiceUnavailable})
	_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), fmt.Sprintf("gh pr merge %d --repo acme/platform --squash --match-head-commit %s", pr.Number, pr.HeadSHA))
	assert.Contains(t, err.Error(), "the PR is open and unchanged")
	got, _ := s.Pull(testRepo, pr.Number)
	assert.Equal(t, "open", got.State)
	assert.Equal(t, pr.HeadSHA, got.HeadSHA, "the PR is usable: its branch is intact")

	s.ClearFaults()
	merged, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.NoError(t, err, "the same PR merges once GitHub recovers")
	assert.Equal(t, forge.StateMerged, merged.State)
}

func TestMerge_AutoWaitsOnPendingChecksThenMerges(t *testing.T) {
	s, f := setup(t)
	s.Configure(testRepo, func(st *githubtest.Settings) { st.Protection["main"] = githubtest.Protection{PendingChecks: true} })
	pr := open(t, f)
	got, err := f.Merge(context.Background(), pr, forge.MergeOptions{Auto: true})
	require.NoError(t, err)
	assert.Equal(t, forge.StateOpen, got.State)
	assert.True(t, got.AutoMerge)
	s.Configure(testRepo, func(st *githubtest.Settings) { st.Protection["main"] = githubtest.Protection{} })
	after, ok := s.Pull(testRepo, pr.Number)
	require.True(t, ok)
	assert.True(t, after.Merged, "GitHub merges it once the checks pass")
	assert.Equal(t, v2, s.File(testRepo, "main", file))
}

func TestMerge_AutoOnCleanPR_MergesDirectly(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.ResetLog()
	got, err := f.Merge(context.Background(), pr, forge.MergeOptions{Auto: true})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, got.State)
	assert.Equal(t, 1, githubtest.Count(s.Log())[opAuto], `"clean status" answered, then a direct merge`)
	assert.Equal(t, 1, githubtest.Count(s.Log())[opMerge])
}

func TestMerge_AutoMergeDisabledInRepo_FallsBackToDirect(t *testing.T) {
	s, f := setup(t)
	s.Configure(testRepo, func(st *githubtest.Settings) { st.AllowAutoMerge = false })
	got, err := f.Merge(context.Background(), open(t, f), forge.MergeOptions{Auto: true})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, got.State)
}

func TestMerge_BlockedLeftOpenWithMessage(t *testing.T) {
	tests := []struct {
		name string
		prot githubtest.Protection
		want []string
	}{
		{"RequiredReview", githubtest.Protection{RequireReview: true}, []string{"approving review", "use merge: auto", "gh pr merge"}},
		{"MergeQueue", githubtest.Protection{MergeQueue: true}, []string{"requires a merge queue", "--auto"}},
		{"PendingChecks", githubtest.Protection{PendingChecks: true}, []string{`status check "ci"`, "gh pr merge"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := setup(t)
			s.Configure(testRepo, func(st *githubtest.Settings) { st.Protection["main"] = tt.prot })
			pr := open(t, f)
			_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
			require.ErrorIs(t, err, forge.ErrNotMergeable)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			got, _ := s.Pull(testRepo, pr.Number)
			assert.Equal(t, "open", got.State)
			assert.Equal(t, v1, s.File(testRepo, "main", file))
		})
	}
}

func TestMerge_HeadMovedAfterRead_Stale(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.Push(testRepo, pr.Branch, map[string][]byte{"x": []byte("x\n")}, "pushed after review")
	_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.ErrorIs(t, err, forge.ErrStale)
	assert.Equal(t, v1, s.File(testRepo, "main", file))
}

func TestMerge_HeadMovedBetweenReadAndMerge_409Stale(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.Inject(&githubtest.Fault{Op: opMerge, Times: 1, Before: func() {
		s.Push(testRepo, pr.Branch, map[string][]byte{"x": []byte("x\n")}, "pushed during the merge")
	}})
	_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.ErrorIs(t, err, forge.ErrStale)
	assert.Contains(t, err.Error(), "Head branch was modified")
	assert.Equal(t, v1, s.File(testRepo, "main", file))
}

func TestMerge_ConflictIsErrConflict(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	s.Push(testRepo, "main", map[string][]byte{file: v3}, "a hand edit of the same line")
	_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
	require.ErrorIs(t, err, forge.ErrConflict)
}

// recorder records the retry sleeps.
type recorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	return nil
}

func TestRetry_RateLimitsAndServerErrors(t *testing.T) {
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		fault     githubtest.Fault
		wantSleep []time.Duration
		wantErr   error
		wantMsg   string
	}{
		{name: "SecondaryRateLimit_HonoursRetryAfter", fault: githubtest.Fault{Status: 403, RetryAfter: 7, Times: 1,
			Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
			wantSleep: []time.Duration{7 * time.Second}},
		{name: "SecondaryRateLimit_NoRetryAfter", fault: githubtest.Fault{Status: 403, Times: 1,
			Message: "You have exceeded a secondary rate limit."}, wantSleep: []time.Duration{time.Minute}},
		{name: "PrimaryRateLimit_WaitsUntilReset", fault: githubtest.Fault{Status: 403, Times: 1, Message: "API rate limit exceeded",
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(clock.Add(30 * time.Second).Unix())}},
			wantSleep: []time.Duration{30 * time.Second}},
		{name: "TooManyRequests_Backoff", fault: githubtest.Fault{Status: 429, Times: 2},
			wantSleep: []time.Duration{time.Second, 2 * time.Second}},
		{name: "BadGateway_Backoff", fault: githubtest.Fault{Status: 502, Times: 1}, wantSleep: []time.Duration{time.Second}},
		{name: "RetryAfterTooLong_NotWaited", fault: githubtest.Fault{Status: 429, RetryAfter: 3600, Times: 1},
			wantErr: ErrUnavailable, wantMsg: "try again later"},
		{name: "ServerErrorsPersist", fault: githubtest.Fault{Status: 500},
			wantSleep: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, wantErr: ErrUnavailable, wantMsg: "after 4 attempts"},
		{name: "PlainForbidden_NotRetried", fault: githubtest.Fault{Status: 403, Times: 1, Message: "Resource not accessible by integration"},
			wantErr: ErrPermission, wantMsg: "Contents: write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, map[string][]byte{file: v1})
			rec := &recorder{}
			f := newForge(t, s, withSleep(rec.sleep), WithRetry(4, time.Second, time.Minute), WithClock(func() time.Time { return clock }))
			fault := tt.fault
			fault.Op = opContents
			s.Inject(&fault)
			got, err := f.ReadFile(context.Background(), "main", file)
			assert.Equal(t, tt.wantSleep, rec.sleeps)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), tt.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, v1, got)
		})
	}
}

func TestToken_NeverInErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, s *githubtest.Server) error
	}{
		{"BadCredentials", func(t *testing.T, s *githubtest.Server) error {
			s.AddToken("other", githubtest.Token{})
			_, err := New(ctx, testRepo, testToken, WithBaseURL(s.URL), WithHTTPClient(s.Client()))
			return err
		}},
		{"NotVisible", func(t *testing.T, s *githubtest.Server) error {
			s.AddToken(testToken, githubtest.Token{Repos: []string{"x/y"}})
			_, err := New(ctx, testRepo, testToken, WithBaseURL(s.URL), WithHTTPClient(s.Client()))
			return err
		}},
		{"ServerEchoesTheToken", func(t *testing.T, s *githubtest.Server) error {
			f := newForge(t, s)
			s.Inject(&githubtest.Fault{Op: opContents, Status: 404, Message: "bad header: Bearer " + testToken})
			_, err := f.ReadFile(ctx, "main", file)
			return err
		}},
		{"GraphQLEchoesTheToken", func(t *testing.T, s *githubtest.Server) error {
			f := newForge(t, s)
			s.Inject(&githubtest.Fault{Op: opCommit, Status: 502, Message: "proxy saw token " + testToken})
			_, _, err := f.Propose(ctx, change(t, f, "flightline/x", v2, "b"))
			return err
		}},
		{"Unreachable", func(t *testing.T, s *githubtest.Server) error {
			url := s.URL
			s.Close()
			_, err := New(ctx, testRepo, testToken, WithBaseURL(url), withSleep(noSleep), WithRetry(2, time.Millisecond, time.Second))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, map[string][]byte{file: v1})
			err := tt.run(t, s)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err.Error()), testToken)
		})
	}
}

func TestFind_MergedIsBoundedAndPaginated(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t, WithFindPages(2))
	f.perPage = 2
	var merged []forge.PR
	for i, content := range [][]byte{v2, v3, v1, v2, v3} {
		pr, _, err := f.Propose(ctx, change(t, f, fmt.Sprintf("flightline/promote/ns/app/%d", i), content, fmt.Sprintf("promotion %d <!-- m -->", i)))
		require.NoError(t, err)
		m, err := f.Merge(ctx, pr, forge.MergeOptions{})
		require.NoError(t, err)
		merged = append(merged, m)
	}
	s.ResetLog()
	found, err := f.Find(ctx, forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"<!-- m -->"}})
	require.NoError(t, err)
	require.Len(t, found, 4, "2 pages of 2: the bound")
	for i, pr := range found {
		assert.Equal(t, merged[4-i].Number, pr.Number, "newest merge first")
	}
	assert.Equal(t, 2, githubtest.Count(s.Log())["GET /repos/{owner}/{repo}/pulls"])

	s.ResetLog()
	one, err := f.Find(ctx, forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"<!-- m -->"}, Limit: 1})
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, merged[4].Number, one[0].Number)
	assert.Equal(t, 1, githubtest.Count(s.Log())["GET /repos/{owner}/{repo}/pulls"], "stops when no older page can hold a newer merge")
}

func TestGet_ByBranchAndBadIDs(t *testing.T) {
	ctx := context.Background()
	_, f := setup(t)
	pr := open(t, f)
	got, err := f.Get(ctx, pr.Branch)
	require.NoError(t, err)
	assert.Equal(t, pr.Number, got.Number)
	got, err = f.Get(ctx, "#"+fmt.Sprint(pr.Number))
	require.NoError(t, err)
	assert.Equal(t, pr.Number, got.Number)
	for _, id := range []string{"", "flightline/none", "a b"} {
		_, err := f.Get(ctx, id)
		require.ErrorIs(t, err, forge.ErrNotFound, id)
	}
}

func TestEnterpriseServer_APIv3AndGraphQLPaths(t *testing.T) {
	s := newServer(t, map[string][]byte{file: v1})
	f, err := New(context.Background(), testRepo, testToken, WithBaseURL(s.URL+"/api/v3/"), WithHTTPClient(s.Client()))
	require.NoError(t, err)
	s.ResetLog()
	_, _, err = f.Propose(context.Background(), change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b"))
	require.NoError(t, err)
	var paths []string
	for _, r := range s.Log() {
		paths = append(paths, r.Path)
	}
	assert.Contains(t, paths, "/api/graphql")
	for _, p := range paths {
		assert.True(t, strings.HasPrefix(p, "/api/"), p)
	}
	assert.Equal(t, "https://ghe.example.com/api/graphql", graphqlURL("https://ghe.example.com/api/v3"))
	assert.Equal(t, "https://api.github.com/graphql", graphqlURL("https://api.github.com/"))
}

func TestClose_CommentsClosesAndDeletesBranch(t *testing.T) {
	s, f := setup(t)
	pr := open(t, f)
	require.NoError(t, f.Close(context.Background(), pr, "Superseded by #9."))
	got, _ := s.Pull(testRepo, pr.Number)
	assert.Equal(t, "closed", got.State)
	assert.Equal(t, []string{"Superseded by #9."}, got.Comments)
	assert.Equal(t, []string{"main"}, s.Branches(testRepo))
}

func TestPropose_LeftoverBranch(t *testing.T) {
	ctx := context.Background()
	t.Run("AtTheBaseCommit_Adopted", func(t *testing.T) {
		s, f := setup(t)
		c := change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b")
		// A branch creation whose answer was lost, or a run interrupted right after it.
		_, _, err := f.rest.Git.CreateRef(ctx, "acme", "platform", refAt(c.Branch, c.BaseSHA))
		require.NoError(t, err)
		pr, res, err := f.Propose(ctx, c)
		require.NoError(t, err)
		assert.Equal(t, forge.Created, res)
		assert.Equal(t, v2, s.File(testRepo, pr.Branch, file))
	})
	t.Run("WithOtherWork_Refused", func(t *testing.T) {
		s, f := setup(t)
		c := change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b")
		_, _, err := f.rest.Git.CreateRef(ctx, "acme", "platform", refAt(c.Branch, c.BaseSHA))
		require.NoError(t, err)
		s.Push(testRepo, c.Branch, map[string][]byte{"mine.txt": []byte("someone's work\n")}, "work")
		_, _, err = f.Propose(ctx, c)
		require.ErrorIs(t, err, forge.ErrExists)
		assert.Contains(t, err.Error(), "git push origin --delete "+c.Branch)
		assert.Equal(t, "someone's work\n", string(s.File(testRepo, c.Branch, "mine.txt")), "somebody's branch is left alone")
	})
}

func refAt(branch, sha string) gh.CreateRef {
	return gh.CreateRef{Ref: "refs/heads/" + branch, SHA: sha}
}

// A 5xx that GitHub answers after making the commit: the retry loses its compare-and-swap
// against our own commit, which the forge recognises instead of failing or committing twice.
func TestPropose_CommitAnswerLostThenRetried_NoDoubleCommit(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	c := change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b")
	s.Inject(&githubtest.Fault{Op: opCommit, Status: http.StatusBadGateway, Times: 1, Lose: true})
	pr, res, err := f.Propose(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, forge.Created, res)
	assert.Equal(t, 1, githubtest.Count(s.Log())[opCommit], "the lost commit is found on the branch, not made again")
	assert.Equal(t, v2, s.File(testRepo, pr.Branch, file))
	assert.Equal(t, c.BaseSHA, strings.TrimSpace(s.Parent(testRepo, pr.HeadSHA)), "one commit on the base, not two")
}

func TestRevert_UnexpectedRefusalWordingIsErrConflict(t *testing.T) {
	ctx := context.Background()
	s, f := setup(t)
	merged, err := f.Merge(ctx, open(t, f), forge.MergeOptions{})
	require.NoError(t, err)
	s.Inject(&githubtest.Fault{Op: opRevert, Status: 422, Message: "Could not revert the pull request"})
	_, err = f.Revert(ctx, merged, forge.RevertRequest{Title: "Revert", Body: "b"})
	require.ErrorIs(t, err, forge.ErrConflict)
	s.ClearFaults()
	s.Inject(&githubtest.Fault{Op: opRevert, Status: 403, Message: "Resource not accessible by integration"})
	_, err = f.Revert(ctx, merged, forge.RevertRequest{Title: "Revert", Body: "b"})
	require.ErrorIs(t, err, ErrPermission)
	require.NotErrorIs(t, err, forge.ErrConflict, "a permission problem is not answered with a forward fix")
}

func TestPropose_AnyFailureLeavesNoBranchNorOpenPR(t *testing.T) {
	tests := []struct {
		name  string
		fault githubtest.Fault
		want  error
	}{
		{"CommitKeepsFailing", githubtest.Fault{Op: opCommit, Status: 502}, ErrUnavailable},
		{"CommitForbidden", githubtest.Fault{Op: opCommit, Status: 403, Message: "Resource not accessible by integration"}, ErrPermission},
		{"OpeningThePRKeepsFailing", githubtest.Fault{Op: opCreatePR, Status: 500}, ErrUnavailable},
		{"OpeningThePRRefusedByRule", githubtest.Fault{Op: opCreatePR, Status: 422, Message: "Repository rule violations found"}, ErrPermission},
		{"LabelsForbidden", githubtest.Fault{Op: "POST /repos/{owner}/{repo}/issues/{number}/labels", Status: 403, Message: "Resource not accessible by integration"}, ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := setup(t)
			fault := tt.fault
			s.Inject(&fault)
			_, _, err := f.Propose(context.Background(), change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b", "promotion"))
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, []string{"main"}, s.Branches(testRepo), "no orphan branch")
			for _, p := range s.Pulls(testRepo) {
				assert.Equal(t, "closed", p.State, "no half-made PR left open")
			}
		})
	}
}
