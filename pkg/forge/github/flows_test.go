package github

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

func serverOf(e *forgetest.Env) *githubtest.Server { return e.P.(*platform).s }

func TestRevert_ConflictForwardFix(t *testing.T) {
	e := forgetest.NewEnv(t, ghPlatform)
	s := serverOf(e)
	p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	// A person edits the promoted line by hand: GitHub cannot revert the promotion cleanly. The
	// range is now the person's, so reverting the promotion over it takes force (issue 16).
	s.Push(testRepo, "main", map[string][]byte{forgetest.PlatformFile: e.WithRange("1.5.0-hotfix")}, "hand edit")
	s.ResetLog()

	r, err := rollback.Run(context.Background(), e.P.Forge(), forgetest.Tags{}, rollback.Request{PR: p15.PR.ID(), Reason: "errors", Force: true})
	require.NoError(t, err)
	assert.Equal(t, rollback.ForwardFixed, r.Operation, r.Message)
	assert.Equal(t, 1, githubtest.Count(s.Log())[opRevert], "GitHub's revert was tried first")
	assert.Equal(t, e.WithRange("1.4.0"), s.File(testRepo, r.Revert.Branch, forgetest.PlatformFile), "the forward fix sets the recorded previous range")
	for _, b := range s.Branches(testRepo) {
		assert.False(t, strings.HasPrefix(b, "revert-"), "the failed revert left no branch: %s", b)
	}
	got, ok := s.Pull(testRepo, r.Revert.Number)
	require.True(t, ok)
	assert.Contains(t, got.Body, "flightline:revert", "the forward fix carries the revert marker")
	assert.Equal(t, "open", got.State)
}

// calls tallies a request log into "N (op: n, …)".
func calls(log []githubtest.Request) string {
	c := githubtest.Count(log)
	var parts []string
	for op, n := range c {
		parts = append(parts, fmt.Sprintf("%s ×%d", op, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d calls: %s", len(log), strings.Join(parts, "; "))
}

// TestAPICalls_PerPromotionAndRollback measures, from the emulator's request log, the API calls
// of a promotion (created and merged) and of a rollback (decide → revert merged), and keeps
// them within a budget so that a change that adds calls is noticed. The figures are logged
// (go test -v -run TestAPICalls ./pkg/forge/github/).
func TestAPICalls_PerPromotionAndRollback(t *testing.T) {
	e := forgetest.NewEnv(t, ghPlatform)
	s := serverOf(e)
	// Steady state: the labels exist (the first run in a repository creates them: +1 call per
	// missing label, +1 retried label call, measured below).
	s.CreateLabel(testRepo, "promotion")
	s.CreateLabel(testRepo, "rollback")
	// New reads the repository once per process (default branch, permissions): 1 call.
	s.ResetLog()
	p := e.MustPromote(promote.Request{Version: "1.5.0", ScanCheck: forgetest.PassedScan(), Labels: []string{"promotion"}, Merge: promote.MergeNow})
	require.Equal(t, promote.Merged, p.Operation)
	promo := s.Log()
	t.Logf("promotion (create + merge, one label): %s", calls(promo))

	s.ResetLog()
	again := e.MustPromote(promote.Request{Version: "1.5.0", ScanCheck: forgetest.PassedScan()})
	require.Equal(t, promote.Unchanged, again.Operation)
	t.Logf("promotion re-run (already pinned): %s", calls(s.Log()))

	s.ResetLog()
	r, err := rollback.Run(context.Background(), e.P.Forge(), forgetest.Tags{}, rollback.Request{Policy: forgetest.Policy, Reason: "canary failed",
		Trigger: "canary", Merge: promote.MergeNow, Labels: []string{"rollback"}})
	require.NoError(t, err)
	require.True(t, r.Merged)
	rb := s.Log()
	t.Logf("rollback (decide → revert merged, one label): %s", calls(rb))

	for _, r := range append(promo, rb...) {
		assert.Less(t, r.Status, 400, "no failed call on the happy path: %s %s", r.Op, r.Path)
	}
	// Before issue 16's trust checks: 12 and 9. The promotion +1: GET /user, once per process
	// (the token's identity, the default trusted author; none when trusted-authors or app-slug
	// is given). The rollback +5 (+1 more for GET /user in a process of its own): the file's
	// history, the PR of the commit that set the range, the merge commit's files, the file at
	// the commits it reads, the write-time re-read of the branch head; two PR listings fewer.
	assert.LessOrEqual(t, len(promo), 13, "promotion budget")
	// Issue 19: +1 for the rollback: GitHub computes the new revert PR's mergeability in the
	// background, so the first read before merging it says null and is read again.
	assert.LessOrEqual(t, len(rb), 15, "rollback budget")

	// As on github.com, where GitHub computes mergeability in the background: the answer to
	// the PR's creation and the first read say mergeable null. And merge: auto on a base
	// without protection rules: refused, then merged directly.
	for _, tc := range []struct {
		name  string
		delay int
		mode  promote.MergeMode
	}{{"mergeability computed after 2 reads", 2, promote.MergeNow}, {"merge: auto, no branch protection", 0, promote.MergeAuto}} {
		e := forgetest.NewEnv(t, ghPlatform)
		s := serverOf(e)
		s.CreateLabel(testRepo, "promotion")
		s.CreateLabel(testRepo, "rollback")
		s.SetMergeabilityDelay(tc.delay)
		s.ResetLog()
		p := e.MustPromote(promote.Request{Version: "1.5.0", Labels: []string{"promotion"}, Merge: tc.mode})
		require.Equal(t, promote.Merged, p.Operation)
		t.Logf("promotion, %s: %s", tc.name, calls(s.Log()))
		s.ResetLog()
		r, err := rollback.Run(context.Background(), e.P.Forge(), forgetest.Tags{}, rollback.Request{Policy: forgetest.Policy, Reason: "canary failed",
			Trigger: "canary", Merge: tc.mode, Labels: []string{"rollback"}})
		require.NoError(t, err)
		require.True(t, r.Merged)
		t.Logf("rollback, %s: %s", tc.name, calls(s.Log()))
	}

	// First use in a repository without the label.
	f := newServer(t, map[string][]byte{file: v1})
	fg := newForge(t, f)
	sha, err := fg.Head(context.Background(), "main")
	require.NoError(t, err)
	f.ResetLog()
	_, _, err = fg.Propose(context.Background(), forge.Change{Base: "main", BaseSHA: sha, Branch: "flightline/promote/ns/app/1.5.0",
		Title: "t", Body: "b", Files: map[string][]byte{file: v2}, Labels: []string{"promotion"}})
	require.NoError(t, err)
	t.Logf("propose with a label the repository lacks: %s", calls(f.Log()))
	assert.Equal(t, 2, githubtest.Count(f.Log())["POST /repos/{owner}/{repo}/issues/{number}/labels"], "refused once, then added after creating it")
	assert.Equal(t, 1, githubtest.Count(f.Log())["POST /repos/{owner}/{repo}/labels"])
}

// BenchmarkPromotion_APICalls reports API calls per promotion (create + merge) as calls/op.
func BenchmarkPromotion_APICalls(b *testing.B) {
	var total int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newServer(b, map[string][]byte{file: v1})
		f := newForge(b, s)
		sha, _ := f.Head(context.Background(), "main")
		s.ResetLog()
		b.StartTimer()
		pr, _, err := f.Propose(context.Background(), forge.Change{Base: "main", BaseSHA: sha, Branch: "flightline/promote/ns/app/1.5.0",
			Title: "promote ns/app to 1.5.0", Body: "b", Files: map[string][]byte{file: v2}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Merge(context.Background(), pr, forge.MergeOptions{}); err != nil {
			b.Fatal(err)
		}
		total += len(s.Log())
	}
	b.ReportMetric(float64(total)/float64(b.N), "calls/op")
}
