package forgetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// Rollback runs a rollback with the suite's policy unless the request names a PR or a policy.
func (e *Env) Rollback(req rollback.Request) (rollback.Result, error) {
	if req.Policy == "" && req.PR == "" {
		req.Policy = Policy
	}
	return rollback.Run(context.Background(), e.P.Forge(), Tags{}, req)
}

// MustRollback rolls back and fails the test on error.
func (e *Env) MustRollback(req rollback.Request) rollback.Result {
	e.T.Helper()
	r, err := e.Rollback(req)
	require.NoError(e.T, err)
	return r
}

// RunRollback runs the rollback flow's table on the platform newPlatform makes.
func RunRollback(t *testing.T, newPlatform NewPlatform) {
	merge := promote.MergeNow
	type state struct{ p15, p16, rv promote.Result }
	tests := []struct {
		name     string
		before   func(e *Env, s *state)
		req      func(e *Env, s *state) rollback.Request
		wantOp   rollback.Operation
		wantErr  error
		revertBr int // how many revert branches must exist afterwards
		check    func(t *testing.T, e *Env, s *state, r rollback.Result)
	}{
		{
			name:     "Revert_LastMergedPromotion",
			before:   func(e *Env, s *state) { s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge}) },
			req:      func(e *Env, s *state) rollback.Request { return rollback.Request{Reason: "error rate up"} },
			wantOp:   rollback.Reverted,
			revertBr: 1,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, s.p15.PR.ID(), r.Reverted.ID())
				assert.Equal(t, "1.4.0", r.RestoredRange)
				assert.Equal(t, "1.4.0", r.RestoredTag)
				assert.True(t, r.Exact)
				assert.False(t, r.Merged)
				assert.Equal(t, e.Original, e.File(r.Revert.Branch), "the revert restores the file byte for byte")
				m, err := marker.ParseRevert(r.Revert.Body)
				require.NoError(t, err)
				assert.Equal(t, marker.Revert{V: 1, Policy: Policy, File: PlatformFile, Reverts: s.p15.PR.ID(), RestoredRange: "1.4.0",
					Trigger: "manual", Reason: "error rate up", Checks: []string{}}, m)
				assert.False(t, marker.Has(r.Revert.Body, marker.KindPromotion), "a revert is never found as a promotion")
				outs := map[string]string{}
				for _, o := range r.Outputs() {
					outs[o[0]] = o[1]
				}
				assert.Equal(t, "reverted", outs["operation"])
				assert.Equal(t, s.p15.PR.ID(), outs["reverted-pr"])
				assert.Equal(t, "1.4.0", outs["restored-tag"])
				assert.Equal(t, r.Revert.URL, outs["revert-pr-url"])
			},
		},
		{
			name:   "RevertAndMerge_FileByteIdentical",
			before: func(e *Env, s *state) { s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge}) },
			req: func(e *Env, s *state) rollback.Request {
				return rollback.Request{PR: s.p15.PR.ID(), Merge: merge, Trigger: "canary", Checks: []string{"request-success-rate"}, Reason: "5 failed checks"}
			},
			wantOp: rollback.Reverted,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.True(t, r.Merged)
				assert.True(t, r.Verified)
				assert.Equal(t, e.Original, e.File(e.P.Base()), "byte-identical to before the promotion")
				assert.Equal(t, e.Digests["1.4.0"], r.RestoredDigest)
				m, err := marker.ParseRevert(r.Revert.Body)
				require.NoError(t, err)
				assert.Equal(t, "canary", m.Trigger)
				assert.Equal(t, []string{"request-success-rate"}, m.Checks)
				assert.Contains(t, r.Summary(), "Exact rollback")
				assert.Contains(t, r.Summary(), "Verified")
			},
		},
		{
			name: "Superseded_Refused",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				s.p16 = e.MustPromote(promote.Request{Version: "1.6.0", Merge: merge})
			},
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.p15.PR.ID()} },
			wantOp:  rollback.Refused,
			wantErr: rollback.ErrSuperseded,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				require.Len(t, r.Newer, 1)
				assert.Equal(t, s.p16.PR.ID(), r.Newer[0].ID())
			},
		},
		{
			name: "Superseded_Forced_ForwardFix",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				s.p16 = e.MustPromote(promote.Request{Version: "1.6.0", Merge: merge})
			},
			req:      func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.p15.PR.ID(), Force: true} },
			wantOp:   rollback.ForwardFixed, // 1.5.0→1.6.0 changed the same line since: the revert cannot apply
			revertBr: 1,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, e.WithRange("1.4.0"), e.File(r.Revert.Branch))
				assert.Len(t, r.Newer, 1)
				assert.NotEmpty(t, r.Warnings)
			},
		},
		{
			name: "NewerPromotionRolledBack_DoesNotSupersede",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				s.p16 = e.MustPromote(promote.Request{Version: "1.6.0", Merge: merge})
				e.MustRollback(rollback.Request{Merge: merge})
			},
			req:    func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.p15.PR.ID(), Merge: merge} },
			wantOp: rollback.Reverted,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, e.Original, e.File(e.P.Base()))
			},
		},
		{
			name: "RevertOfRevert_Refused",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				rv := e.MustRollback(rollback.Request{Merge: merge})
				s.rv.PR = rv.Revert
			},
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.rv.PR.ID()} },
			wantOp:  rollback.Refused,
			wantErr: rollback.ErrRevertOfRevert,
		},
		{
			name: "OpenRevert_Reused",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				s.rv.PR = e.MustRollback(rollback.Request{Reason: "first"}).Revert
			},
			req:      func(e *Env, s *state) rollback.Request { return rollback.Request{Reason: "second"} },
			wantOp:   rollback.Reused,
			revertBr: 1,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, s.rv.PR.ID(), r.Revert.ID())
			},
		},
		{
			name: "OpenRevert_ReusedAndMerged",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				e.MustRollback(rollback.Request{})
			},
			req:    func(e *Env, s *state) rollback.Request { return rollback.Request{Merge: merge} },
			wantOp: rollback.Reused,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.True(t, r.Verified)
				assert.Equal(t, e.Original, e.File(e.P.Base()))
			},
		},
		{
			name: "AlreadyRolledBack_Reused",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				s.rv.PR = e.MustRollback(rollback.Request{Merge: merge}).Revert
			},
			req:    func(e *Env, s *state) rollback.Request { return rollback.Request{} },
			wantOp: rollback.Reused,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, s.rv.PR.ID(), r.Revert.ID())
				assert.Contains(t, r.Message, "already rolled back")
			},
		},
		{
			name:    "OpenPromotion_NotMerged_Refused",
			before:  func(e *Env, s *state) { s.p15 = e.MustPromote(promote.Request{Version: "1.5.0"}) },
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.p15.PR.ID()} },
			wantOp:  rollback.Refused,
			wantErr: rollback.ErrNotMerged,
		},
		{
			name:    "NoPromotion",
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{} },
			wantErr: rollback.ErrNoPromotion,
		},
		{
			name: "ConflictingHandEdit_ForwardFix",
			before: func(e *Env, s *state) {
				s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
				e.P.Push(e.T, map[string][]byte{PlatformFile: e.WithRange("1.5.0 || 1.6.0")}, "hand edit of the range")
			},
			// The live range is the person's, not the promotion's: reverting the promotion over
			// it takes pr and force (without them, rollback refuses; see Trust_*).
			req:      func(e *Env, s *state) rollback.Request { return rollback.Request{PR: s.p15.PR.ID(), Force: true} },
			wantOp:   rollback.ForwardFixed,
			revertBr: 1,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, e.Original, e.File(r.Revert.Branch))
				m, err := marker.ParseRevert(r.Revert.Body)
				require.NoError(t, err)
				assert.Equal(t, s.p15.PR.ID(), m.Reverts)
			},
		},
		{
			name: "NotExact_SaysNewestTagInOldRange",
			before: func(e *Env, s *state) {
				e.MustPromote(promote.Request{Version: "1.5.0", Pin: imagepolicy.PinPatch, Merge: merge})
				e.MustPromote(promote.Request{Version: "1.6.0", Merge: merge})
			},
			req:    func(e *Env, s *state) rollback.Request { return rollback.Request{Merge: merge} },
			wantOp: rollback.Reverted,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.Equal(t, "~1.5.0", r.RestoredRange)
				assert.False(t, r.Exact)
				assert.Equal(t, "1.5.0", r.RestoredTag)
				assert.Contains(t, r.Summary(), "newest tag in the old range, `1.5.0` today")
			},
		},
		{
			name:   "DryRun_WritesNothing",
			before: func(e *Env, s *state) { s.p15 = e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge}) },
			req:    func(e *Env, s *state) rollback.Request { return rollback.Request{DryRun: true, Merge: merge} },
			wantOp: rollback.Reverted,
			check: func(t *testing.T, e *Env, s *state, r rollback.Result) {
				assert.True(t, r.DryRun)
				assert.Equal(t, e.WithRange("1.5.0"), e.File(e.P.Base()))
			},
		},
		{
			name:    "InvalidTrigger",
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{Trigger: "cron"} },
			wantErr: rollback.ErrInvalidInput,
		},
		{
			name:    "UnknownPR",
			req:     func(e *Env, s *state) rollback.Request { return rollback.Request{PR: "deadbeefdeadbeef"} },
			wantErr: rollback.ErrInvalidInput,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEnv(t, newPlatform)
			s := &state{}
			if tt.before != nil {
				tt.before(e, s)
			}
			before := e.File(e.P.Base())
			r, err := e.Rollback(tt.req(e, s))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, tt.wantOp, r.Operation)
				assert.Empty(t, revertBranches(e), "a refused run leaves no branch behind")
				assert.Equal(t, before, e.File(e.P.Base()))
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantOp, r.Operation, r.Message)
				assert.Len(t, revertBranches(e), tt.revertBr)
			}
			if tt.check != nil {
				tt.check(t, e, s, r)
			}
		})
	}

	// A rollback is an emergency: a registry that is down or unknown does not stop it; the
	// restored tag is then the exact pin itself, with a warning.
	t.Run("RegistryDownOrUnknown_RollbackStillHappens", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		for name, src := range map[string]imagepolicy.TagSource{"down": brokenRegistry{}, "none": nil} {
			r, err := rollback.Run(context.Background(), e.P.Forge(), src, rollback.Request{Policy: Policy, DryRun: true})
			require.NoError(t, err, name)
			assert.Equal(t, "1.4.0", r.RestoredTag, name)
			if name == "down" {
				require.Len(t, r.Warnings, 1)
				assert.Contains(t, r.Warnings[0], "connection refused")
				assert.Contains(t, r.Summary(), "connection refused")
			}
		}
		r, err := rollback.Run(context.Background(), e.P.Forge(), brokenRegistry{}, rollback.Request{Policy: Policy, Merge: merge})
		require.NoError(t, err)
		assert.True(t, r.Verified)
		assert.Equal(t, e.Original, e.File(e.P.Base()))
	})

	t.Run("RolledBackVersion_OnHold", func(t *testing.T) {
		e := NewEnv(t, newPlatform)
		e.MustPromote(promote.Request{Version: "1.5.0", Merge: merge})
		e.MustRollback(rollback.Request{Merge: merge, Reason: "crash loop"})
		_, err := e.Promote(promote.Request{Version: "1.5.0"})
		require.ErrorIs(t, err, promote.ErrOnHold)
		assert.Contains(t, err.Error(), "crash loop")
		assert.Empty(t, e.PRBranches())
		r, err := e.Promote(promote.Request{Version: "1.5.0", Force: true})
		require.NoError(t, err)
		assert.Equal(t, promote.Created, r.Operation)
		r, err = e.Promote(promote.Request{Version: "1.6.0"})
		require.NoError(t, err, "a newer version is not on hold")
		assert.Equal(t, promote.Created, r.Operation)
	})
}

// brokenRegistry is a TagSource whose registry is down.
type brokenRegistry struct{}

func (brokenRegistry) Tags(context.Context, string) ([]string, error) {
	return nil, errors.New("registry unreachable: connection refused")
}

func (brokenRegistry) Digest(context.Context, string, string) (string, error) {
	return "", errors.New("registry unreachable: connection refused")
}

// revertBranches are the PR branches that are not promotions (a forge may name revert branches
// its own way: GitHub's revertPullRequest does).
func revertBranches(e *Env) []string {
	var b []string
	for _, n := range e.PRBranches() {
		if !strings.HasPrefix(n, "flightline/promote/") {
			b = append(b, n)
		}
	}
	return b
}
