package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/pkg/forge"
)

// Five behaviours of github.com that the emulator reproduces and the forge handles (issue 19).
// Each message is GitHub's, with where it is documented; where GitHub documents none the
// wording is said to be assumed.

const opGetPull = "GET /repos/{owner}/{repo}/pulls/{number}"

// 1. Enabling auto-merge on a base branch without protection rules is refused — gh prints
// "GraphQL: Pull request Protected branch rules not configured for this branch
// (enablePullRequestAutoMerge)" (hatena/Hatena-Blog-Workflows-Boilerplate#12). Nothing can
// gate such a PR, so merge: auto merges it directly and says so.
func TestMerge_AutoRefusedWithoutBranchProtection_MergesDirectlyAndSaysSo(t *testing.T) {
	s, f := setup(t) // main has no protection rules
	pr := open(t, f)
	s.ResetLog()
	got, err := f.Merge(context.Background(), pr, forge.MergeOptions{Auto: true})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, got.State)
	assert.Contains(t, got.Note, "auto-merge was refused because main of acme/platform has no branch protection rules")
	assert.Contains(t, got.Note, "merged directly")
	assert.Equal(t, 1, githubtest.Count(s.Log())[opAuto])
	assert.Equal(t, 1, githubtest.Count(s.Log())[opMerge])
	assert.Equal(t, v2, s.File(testRepo, "main", file))

	t.Run("ProtectedBranch_AutoMergeEnabled", func(t *testing.T) {
		s, f := setup(t)
		s.Configure(testRepo, func(st *githubtest.Settings) { st.Protection["main"] = githubtest.Protection{PendingChecks: true} })
		got, err := f.Merge(context.Background(), open(t, f), forge.MergeOptions{Auto: true})
		require.NoError(t, err)
		assert.True(t, got.AutoMerge, "a protected branch can gate the PR: auto-merge waits")
		assert.Empty(t, got.Note)
	})
	t.Run("NoProtectionButConflicting_NotMergedDirectly", func(t *testing.T) {
		s, f := setup(t)
		pr := open(t, f)
		s.Push(testRepo, "main", map[string][]byte{file: v3}, "a hand edit of the same line")
		_, err := f.Merge(context.Background(), pr, forge.MergeOptions{Auto: true})
		require.ErrorIs(t, err, forge.ErrConflict)
		assert.Equal(t, v3, s.File(testRepo, "main", file))
	})
}

// 2. GraphQL rate limits come back as HTTP 200 with an error: "If you exceed your primary
// rate limit, the response status will still be 200, but you will receive an error message,
// and the value of the x-ratelimit-remaining header will be 0" and, for secondary limits, "a
// 200 or 403 response and an error message" (GitHub docs, "Rate limits and query limits for
// the GraphQL API"). The error's type is RATE_LIMITED (github/docs#22607) or RATE_LIMIT with
// "API rate limit already exceeded for user ID …" (yanyongyu/githubkit#271). They are waited
// for like REST's, and reported as GitHub unavailable when they persist.
func TestGraphQL_RateLimitsIn200Answers_WaitedForOrReported(t *testing.T) {
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	reset := fmt.Sprint(clock.Add(30 * time.Second).Unix())
	const primary = "API rate limit exceeded for installation ID 4242."
	const secondaryMsg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	tests := []struct {
		name      string
		fault     githubtest.Fault
		wantSleep []time.Duration
		wantErr   error
	}{
		{name: "Primary_200_RATE_LIMITED_WaitsUntilReset", fault: githubtest.Fault{Status: 200, GraphQL: "RATE_LIMITED", Message: primary, Times: 1,
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}}, wantSleep: []time.Duration{30 * time.Second}},
		{name: "Primary_200_RATE_LIMIT_RemainingNotZero_BacksOff", fault: githubtest.Fault{Status: 200, GraphQL: "RATE_LIMIT", Times: 1,
			Message: "API rate limit already exceeded for user ID 1234."}, wantSleep: []time.Duration{time.Second}},
		{name: "Secondary_200_HonoursRetryAfter", fault: githubtest.Fault{Status: 200, GraphQL: "RATE_LIMITED", Message: secondaryMsg, RetryAfter: 7, Times: 1},
			wantSleep: []time.Duration{7 * time.Second}},
		{name: "Secondary_403_NoRetryAfter_WaitsAMinute", fault: githubtest.Fault{Status: 403, Message: secondaryMsg, Times: 1},
			wantSleep: []time.Duration{time.Minute}},
		{name: "Primary_Persists_ReportedUnavailable", fault: githubtest.Fault{Status: 200, GraphQL: "RATE_LIMITED", Message: primary,
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(clock.Add(2 * time.Hour).Unix())}},
			wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, map[string][]byte{file: v1})
			rec := &recorder{}
			f := newForge(t, s, withSleep(rec.sleep), WithRetry(4, time.Second, time.Minute), WithClock(func() time.Time { return clock }))
			c := change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b")
			fault := tt.fault
			fault.Op = opCommit
			s.Inject(&fault)
			pr, _, err := f.Propose(context.Background(), c)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), "rate limit")
				assert.Contains(t, err.Error(), "resets at 11:00:00 UTC", "says when the limit resets")
				assert.Equal(t, []string{"main"}, s.Branches(testRepo), "nothing left behind")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantSleep, rec.sleeps)
			assert.Equal(t, v2, s.File(testRepo, pr.Branch, file))
			assert.Equal(t, 2, githubtest.Count(s.Log())[opCommit], "the limited mutation was not done, so it was sent again")
		})
	}
}

// 3. Mergeability is computed in the background: "If the value is null, then GitHub has
// started a background job to compute the mergeability. After giving the job time to
// complete, resubmit the request." (GET a pull request, GitHub's REST description). A merge
// meanwhile answers 405 "Pull Request is not mergeable" (the description's example; seen for
// a PR merged right after it was opened in octokit/octokit.net#688). Merge waits, bounded.
func TestMerge_WaitsForMergeabilityAndRetriesA405WhileUnknown(t *testing.T) {
	t.Run("NullAtFirst_WaitedFor", func(t *testing.T) {
		rec := &recorder{}
		s, f := setup(t, withSleep(rec.sleep))
		s.SetMergeabilityDelay(3) // the answer to the PR's creation is the first read
		pr := open(t, f)
		s.ResetLog()
		got, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
		require.NoError(t, err)
		assert.Equal(t, forge.StateMerged, got.State)
		assert.Equal(t, 3, githubtest.Count(s.Log())[opGetPull], "two reads answered mergeable null, the third computed it")
		assert.Equal(t, 1, githubtest.Count(s.Log())[opMerge])
		assert.Len(t, rec.sleeps, 2)
	})
	t.Run("405WhileUnknown_Retried", func(t *testing.T) {
		s, f := setup(t)
		pr := open(t, f)
		s.SetMergeabilityDelay(1)
		// Someone pushes to main just before the merge: GitHub recomputes the PR's test merge
		// and refuses the merge until it has.
		s.Inject(&githubtest.Fault{Op: opMerge, Times: 1, Status: http.StatusMethodNotAllowed, Message: "Pull Request is not mergeable", Before: func() {
			s.Push(testRepo, "main", map[string][]byte{"README.md": []byte("edited\n")}, "unrelated push")
		}})
		s.ResetLog()
		got, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
		require.NoError(t, err)
		assert.Equal(t, forge.StateMerged, got.State)
		assert.Equal(t, 2, githubtest.Count(s.Log())[opMerge], "the 405 answered while unknown was retried once computed")
		assert.Equal(t, v2, s.File(testRepo, "main", file))
	})
	t.Run("NeverComputed_BoundedAndClear", func(t *testing.T) {
		s, f := setup(t, WithMergeabilityWait(3))
		s.SetMergeabilityDelay(100)
		pr := open(t, f)
		_, err := f.Merge(context.Background(), pr, forge.MergeOptions{})
		require.ErrorIs(t, err, forge.ErrNotMergeable)
		assert.Contains(t, err.Error(), "had still not computed whether it can merge")
		assert.LessOrEqual(t, githubtest.Count(s.Log())[opMerge], 3, "bounded")
		got, _ := s.Pull(testRepo, pr.Number)
		assert.Equal(t, "open", got.State, "the PR is left open")
	})
}

// 4. "To view merge-related settings, you must have the contents:read and contents:write
// permissions." (GET a repository, GitHub's REST description): a read-only token does not see
// allow_auto_merge, and doctor says so instead of "auto-merge off".
func TestDiagnose_ReadOnlyToken_SaysWhatItCannotSee(t *testing.T) {
	find := func(checks []Check, prefix string) Check {
		for _, c := range checks {
			if strings.HasPrefix(c.Name, prefix) {
				return c
			}
		}
		t.Fatalf("no check %q in %v", prefix, checks)
		return Check{}
	}
	s := newServer(t, map[string][]byte{file: v1})
	s.AddToken("reader", githubtest.Token{})
	s.AddToken(testToken, githubtest.Token{Write: true})
	reader, err := New(context.Background(), testRepo, "reader", WithBaseURL(s.URL), WithHTTPClient(s.Client()))
	require.NoError(t, err)
	c := find(reader.Diagnose(context.Background(), nil), "auto-merge allowed")
	assert.Equal(t, Unknown, c.Status)
	assert.Contains(t, c.Detail, "cannot see")
	assert.Contains(t, c.Detail, "contents:write")
	assert.NotContains(t, c.Detail, "off", "no guess")
	actions := find(reader.Diagnose(context.Background(), nil), "GitHub Actions may create")
	assert.Equal(t, Unknown, actions.Status)

	writer := newForge(t, s)
	assert.Equal(t, Pass, find(writer.Diagnose(context.Background(), nil), "auto-merge allowed").Status, "a token that may write sees it on")
	s.Configure(testRepo, func(st *githubtest.Settings) { st.AllowAutoMerge = false })
	writer = newForge(t, s)
	off := find(writer.Diagnose(context.Background(), nil), "auto-merge allowed")
	assert.Equal(t, Warn, off.Status)
	assert.Contains(t, off.Detail, "off")
}

// 5. GitHub answers 502/504 on timeouts after doing the work (the wording of such answers is
// assumed: a proxy's "Bad Gateway"), so a non-idempotent write is never blindly sent again:
// the forge looks for what the lost answer made first.
func TestWrites_AnswerLost_LookBeforeRetrying(t *testing.T) {
	ctx := context.Background()
	t.Run("revertPullRequest_NoSecondRevertPR", func(t *testing.T) {
		s, f := setup(t)
		merged, err := f.Merge(ctx, open(t, f), forge.MergeOptions{})
		require.NoError(t, err)
		s.Inject(&githubtest.Fault{Op: opRevert, Status: http.StatusBadGateway, Times: 1, Lose: true})
		s.ResetLog()
		rv, err := f.Revert(ctx, merged, forge.RevertRequest{Title: "Revert the promotion", Body: "<!-- flightline:revert {} -->"})
		require.NoError(t, err)
		assert.Equal(t, 1, githubtest.Count(s.Log())[opRevert], "not sent twice")
		var reverts []int
		for _, p := range s.Pulls(testRepo) {
			if strings.HasPrefix(p.Head, fmt.Sprintf("revert-%d-", merged.Number)) {
				reverts = append(reverts, p.Number)
			}
		}
		assert.Equal(t, []int{rv.Number}, reverts, "one revert PR, the one returned")
		assert.Equal(t, "<!-- flightline:revert {} -->", rv.Body)
	})
	t.Run("revertPullRequest_NothingMade_Retried", func(t *testing.T) {
		s, f := setup(t)
		merged, err := f.Merge(ctx, open(t, f), forge.MergeOptions{})
		require.NoError(t, err)
		s.Inject(&githubtest.Fault{Op: opRevert, Status: http.StatusBadGateway, Times: 1})
		s.ResetLog()
		rv, err := f.Revert(ctx, merged, forge.RevertRequest{Title: "Revert", Body: "b"})
		require.NoError(t, err)
		assert.Equal(t, 2, githubtest.Count(s.Log())[opRevert], "nothing was made: sent again")
		assert.NotZero(t, rv.Number)
	})
	t.Run("CreatePullRequest_NoSecondPR", func(t *testing.T) {
		s, f := setup(t)
		s.Inject(&githubtest.Fault{Op: opCreatePR, Status: http.StatusGatewayTimeout, Times: 1, Lose: true})
		pr, res, err := f.Propose(ctx, change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b"))
		require.NoError(t, err)
		assert.Equal(t, forge.Created, res)
		assert.Len(t, s.Pulls(testRepo), 1)
		assert.Equal(t, 1, githubtest.Count(s.Log())[opCreatePR])
		assert.Equal(t, 1, pr.Number)
	})
	t.Run("CreateRef_Adopted", func(t *testing.T) {
		s, f := setup(t)
		s.Inject(&githubtest.Fault{Op: opCreateRef, Status: http.StatusBadGateway, Times: 1, Lose: true})
		_, _, err := f.Propose(ctx, change(t, f, "flightline/promote/ns/app/1.5.0", v2, "b"))
		require.NoError(t, err)
		assert.Equal(t, 1, githubtest.Count(s.Log())[opCreateRef])
	})
	t.Run("Comment_NotDuplicated", func(t *testing.T) {
		s, f := setup(t)
		pr := open(t, f)
		s.Inject(&githubtest.Fault{Op: "POST /repos/{owner}/{repo}/issues/{number}/comments", Status: http.StatusBadGateway, Times: 1, Lose: true})
		require.NoError(t, f.Close(ctx, pr, "Superseded by #9."))
		got, _ := s.Pull(testRepo, pr.Number)
		assert.Equal(t, []string{"Superseded by #9."}, got.Comments)
		assert.Equal(t, "closed", got.State)
	})
}
