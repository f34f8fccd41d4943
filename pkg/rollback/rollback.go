package rollback

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
)

// Errors callers branch on. The refusals (ErrSuperseded, ErrRevertOfRevert, ErrNotMerged) come
// with Operation refused.
var (
	// ErrInvalidInput: a request field is missing or malformed; the message names the input.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNoPromotion: there is no merged promotion of the policy to roll back, or the PR named
	// is not a Flightline promotion.
	ErrNoPromotion = errors.New("no promotion to roll back")
	// ErrSuperseded: a newer promotion of the policy has merged since (force overrides).
	ErrSuperseded = errors.New("promotion superseded")
	// ErrRevertOfRevert: the PR named is itself a rollback; Flightline never reverts a revert.
	ErrRevertOfRevert = errors.New("refusing to revert a revert")
	// ErrNotMerged: the promotion PR named is not merged (close it instead).
	ErrNotMerged = errors.New("promotion not merged")
)

// Operation is what a run did (the `operation` output).
type Operation string

// Operations.
const (
	Reverted     Operation = "reverted"      // a revert PR was opened (and merged, if asked)
	Reused       Operation = "reused"        // a revert of this promotion already existed (open or merged)
	Refused      Operation = "refused"       // a safety rule refused the rollback (non-zero exit)
	ForwardFixed Operation = "forward-fixed" // the revert did not apply cleanly; a PR sets the previous range instead
)

// Request is one rollback. Defaults: PR the last merged promotion of Policy, Trigger manual,
// Merge none, Base the forge's default branch, File the one in the promotion's marker.
type Request struct {
	Policy  string            // NS/NAME (required unless PR is given)
	PR      string            // the promotion: a PR number, or its merge SHA on the local forge
	File    string            // when given, must be the marker's file
	Reason  string            // why (free text, recorded in the marker)
	Trigger string            // manual or canary
	Checks  []string          // the failing checks (canary)
	Base    string            // base branch
	Labels  []string          // labels of the revert PR
	Merge   promote.MergeMode // none, merge or auto
	Force   bool              // revert even when a newer promotion has merged since
	DryRun  bool              // decide and report, write nothing
}

// Result is what a run did or, with DryRun, would do.
type Result struct {
	Operation      Operation
	DryRun         bool
	Revert         forge.PR         // the revert (or forward-fix) PR
	Reverted       forge.PR         // the promotion PR rolled back
	Promotion      marker.Promotion // the reverted promotion's marker
	Policy         string
	File           string
	Base           string
	RestoredRange  string
	RestoredTag    string // the tag the restored range selects today ("" when unknown)
	RestoredDigest string
	Exact          bool       // the restored range is an exact pin: an exact rollback
	Merged         bool       // the revert is merged on the base branch
	Verified       bool       // after the merge, the base branch pins RestoredRange
	Trigger        string     // manual or canary
	Reason         string     // why
	Newer          []forge.PR // newer merged promotions of the policy (why it was refused, or what force overrode)
	Warnings       []string   // things that did not stop the rollback (e.g. the registry was unreachable)
	Message        string     // one sentence saying what happened
}

// Outputs are the step outputs in a stable order: revert-pr-number, revert-pr-url,
// reverted-pr, restored-range, restored-tag, operation.
func (r Result) Outputs() [][2]string {
	num := ""
	if r.Revert.Number > 0 {
		num = fmt.Sprint(r.Revert.Number)
	}
	return [][2]string{
		{"revert-pr-number", num}, {"revert-pr-url", r.Revert.URL}, {"reverted-pr", r.Reverted.ID()},
		{"restored-range", r.RestoredRange}, {"restored-tag", r.RestoredTag}, {"operation", string(r.Operation)},
	}
}

// BranchName is the head branch of the revert of the promotion pr of policy.
func BranchName(policy string, pr forge.PR) string {
	id := pr.ID()
	if pr.MergeSHA != "" && pr.Number == 0 {
		id = pr.MergeSHA[:min(len(pr.MergeSHA), 12)]
	}
	return "flightline/revert/" + policy + "/" + id
}

// Run rolls back a promotion through f: it finds the promotion (by marker), applies the safety
// rules (never a revert, never an unmerged PR, never a superseded promotion unless forced),
// reuses a revert that exists, else opens the revert PR (a forward fix when the revert does not
// apply cleanly), merges it if asked, verifies the base branch and says what the restored range
// selects in the registry (src may be nil: then only exact pins name their tag). Every check runs
// before the first write.
func Run(ctx context.Context, f forge.Forge, src imagepolicy.TagSource, req Request) (Result, error) {
	res := Result{DryRun: req.DryRun, Reason: strings.TrimSpace(req.Reason), Trigger: req.Trigger}
	if res.Trigger == "" {
		res.Trigger = marker.TriggerManual
	}
	if res.Trigger != marker.TriggerManual && res.Trigger != marker.TriggerCanary {
		return res, fmt.Errorf("%w: trigger %q: use manual or canary", ErrInvalidInput, req.Trigger)
	}
	mode, err := promote.ParseMergeMode(string(req.Merge))
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	var policy string
	if req.Policy != "" {
		ref, err := imagepolicy.ParseRef(req.Policy)
		if err != nil {
			return res, fmt.Errorf("%w: policy: %v", ErrInvalidInput, err)
		}
		policy = ref.String()
	} else if req.PR == "" {
		return res, fmt.Errorf("%w: give policy (NS/NAME) to roll back its last promotion, or pr", ErrInvalidInput)
	}
	base := req.Base
	if base == "" {
		if base, err = f.DefaultBranch(ctx); err != nil {
			return res, err
		}
	}
	res.Base = base

	// The promotion to roll back.
	var target forge.PR
	var promo marker.Promotion
	if req.PR != "" {
		target, err = f.Get(ctx, strings.TrimPrefix(strings.TrimSpace(req.PR), "#"))
		if err != nil {
			return res, fmt.Errorf("%w: pr %q: %w", ErrInvalidInput, req.PR, err)
		}
		res.Reverted = target
		if marker.Has(target.Body, marker.KindRevert) {
			return res.refuse(fmt.Errorf("%w: %s is a rollback; roll forward with a new promotion instead", ErrRevertOfRevert, target.Ref()))
		}
		if promo, err = marker.ParsePromotion(target.Body); err != nil {
			return res, fmt.Errorf("%w: %s is not a Flightline promotion: %w", ErrNoPromotion, target.Ref(), err)
		}
		if policy != "" && promo.Policy != policy {
			return res, fmt.Errorf("%w: pr %s promotes %s, not policy %s", ErrInvalidInput, target.Ref(), promo.Policy, policy)
		}
		policy = promo.Policy
		if target.State != forge.StateMerged {
			return res.refuse(fmt.Errorf("%w: %s is %s; nothing reached %s, so close it instead of reverting", ErrNotMerged, target.Ref(), target.State, base))
		}
	}
	res.Policy = policy
	merged, err := f.Find(ctx, query(base, forge.StateMerged, marker.KindPromotion, policy))
	if err != nil {
		return res, fmt.Errorf("looking for promotions of %s: %w", policy, err)
	}
	mergedReverts, err := reverts(ctx, f, base, forge.StateMerged, policy)
	if err != nil {
		return res, err
	}
	if req.PR == "" {
		for _, pr := range merged {
			if m, err := marker.ParsePromotion(pr.Body); err == nil && m.Policy == policy {
				target, promo = pr, m
				break
			}
		}
		if target.ID() == "" {
			return res, fmt.Errorf("%w: no merged promotion of %s on %s (searched by marker)", ErrNoPromotion, policy, base)
		}
		res.Reverted = target
	}
	res.Promotion, res.RestoredRange, res.File = promo, promo.PreviousRange, promo.File
	res.Exact = isExact(promo.PreviousRange)
	if req.File != "" && req.File != promo.File {
		return res, fmt.Errorf("%w: file %q: promotion %s changed %q", ErrInvalidInput, req.File, target.Ref(), promo.File)
	}

	// Already rolled back, or a revert waiting: reuse it.
	if rv, ok := mergedReverts[target.ID()]; ok {
		res.Operation, res.Revert, res.Merged = Reused, rv, true
		res.Message = fmt.Sprintf("%s was already rolled back by %s", target.Ref(), rv.Ref())
		res.resolve(ctx, src)
		return res, nil
	}
	openReverts, err := reverts(ctx, f, base, forge.StateOpen, policy)
	if err != nil {
		return res, err
	}
	if rv, ok := openReverts[target.ID()]; ok {
		res.Operation, res.Revert = Reused, rv
		res.Message = fmt.Sprintf("reusing the open rollback %s of %s", rv.Ref(), target.Ref())
		if req.DryRun || mode == promote.MergeNone {
			return res, nil
		}
		return res, res.merge(ctx, f, src, mode)
	}

	// Superseded: a newer promotion of the policy merged since (and was not itself rolled back).
	res.Newer = newer(merged, target, policy, mergedReverts)
	if len(res.Newer) > 0 && !req.Force {
		names := make([]string, len(res.Newer))
		for i, n := range res.Newer {
			names[i] = n.Ref() + " (" + n.Title + ")"
		}
		return res.refuse(fmt.Errorf("%w: %s has merged since %s; roll back the newest promotion instead, or set force to revert %s anyway", ErrSuperseded, strings.Join(names, ", "), target.Ref(), target.Ref()))
	}

	m := marker.Revert{V: marker.Version, Policy: policy, File: promo.File, Reverts: target.ID(), RestoredRange: promo.PreviousRange,
		Trigger: res.Trigger, Reason: res.Reason, Checks: req.Checks}
	rr := forge.RevertRequest{Branch: BranchName(policy, target), Title: fmt.Sprintf("Revert %q", target.Title),
		Body: body(target, promo, m), Labels: req.Labels}
	if req.DryRun {
		res.Operation = Reverted
		res.Message = fmt.Sprintf("dry run: would revert %s of %s, restoring %q", target.Ref(), policy, promo.PreviousRange)
		res.resolve(ctx, src)
		return res, nil
	}
	rv, err := f.Revert(ctx, target, rr)
	switch {
	case err == nil:
		res.Operation = Reverted
	case errors.Is(err, forge.ErrConflict):
		rv, err = forwardFix(ctx, f, base, target, promo, rr)
		if err != nil {
			return res, err
		}
		res.Operation = ForwardFixed
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s did not revert cleanly (the file changed since); this PR sets the recorded previous range instead", target.Ref()))
	default:
		return res, fmt.Errorf("reverting %s: %w", target.Ref(), err)
	}
	res.Revert = rv
	res.Message = fmt.Sprintf("%s %s of %s with %s, restoring %q", res.Operation, target.Ref(), policy, rv.Ref(), promo.PreviousRange)
	if mode == promote.MergeNone {
		res.resolve(ctx, src)
		return res, nil
	}
	return res, res.merge(ctx, f, src, mode)
}

// refuse records a refusal: operation refused, the reason as the message.
func (r Result) refuse(err error) (Result, error) {
	r.Operation, r.Message = Refused, err.Error()
	return r, err
}

// merge merges the revert PR, verifies the base branch and resolves the restored range.
func (r *Result) merge(ctx context.Context, f forge.Forge, src imagepolicy.TagSource, mode promote.MergeMode) error {
	done, err := f.Merge(ctx, r.Revert, forge.MergeOptions{Auto: mode == promote.MergeAuto})
	if err != nil {
		return fmt.Errorf("the rollback PR %s is open but merging it failed (merge it by hand): %w", r.Revert.Ref(), err)
	}
	r.Revert = done
	if done.State != forge.StateMerged {
		r.Message += "; auto-merge is enabled"
		r.resolve(ctx, src)
		return nil
	}
	r.Merged = true
	data, err := f.ReadFile(ctx, r.Base, r.File)
	if err != nil {
		return fmt.Errorf("verifying %s on %s after the rollback: %w", r.File, r.Base, err)
	}
	ref, _ := imagepolicy.ParseRef(r.Policy)
	pol, err := imagepolicy.Find(data, ref)
	if err != nil {
		return fmt.Errorf("verifying %s on %s after the rollback: %w", r.Policy, r.Base, err)
	}
	if pol.Range != r.RestoredRange {
		return fmt.Errorf("after merging %s, %s on %s pins %q, not the restored %q: check the base branch", done.Ref(), r.Policy, r.Base, pol.Range, r.RestoredRange)
	}
	r.Verified = true
	r.Message = fmt.Sprintf("rolled back %s: %s now pins %q on %s (%s)", r.Reverted.Ref(), r.Policy, r.RestoredRange, r.Base, done.Ref())
	if done.Note != "" {
		r.Message += " (" + done.Note + ")"
	}
	r.resolve(ctx, src)
	return nil
}

// resolve says which tag the restored range selects today (a warning when it cannot).
func (r *Result) resolve(ctx context.Context, src imagepolicy.TagSource) {
	if r.RestoredRange == "" {
		return
	}
	if src == nil || r.Promotion.Image == "" {
		if r.Exact {
			r.RestoredTag = r.RestoredRange
		}
		return
	}
	res, err := imagepolicy.Resolve(ctx, r.RestoredRange, r.Promotion.Image, src)
	if err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("could not resolve the restored range %q in %s: %v", r.RestoredRange, r.Promotion.Image, err))
		if r.Exact {
			r.RestoredTag = r.RestoredRange
		}
		return
	}
	r.RestoredTag, r.RestoredDigest = res.Tag, res.Digest
}

// forwardFix opens a PR that sets the recorded previous range on today's base.
func forwardFix(ctx context.Context, f forge.Forge, base string, target forge.PR, promo marker.Promotion, rr forge.RevertRequest) (forge.PR, error) {
	sha, err := f.Head(ctx, base)
	if err != nil {
		return forge.PR{}, err
	}
	data, err := f.ReadFile(ctx, sha, promo.File)
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	ref, err := imagepolicy.ParseRef(promo.Policy)
	if err != nil {
		return forge.PR{}, err
	}
	out, err := imagepolicy.SetRange(data, ref, promo.PreviousRange)
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	pr, _, err := f.Propose(ctx, forge.Change{Base: base, BaseSHA: sha, Branch: rr.Branch, Title: rr.Title,
		Body: rr.Body, Files: map[string][]byte{promo.File: out}, Labels: rr.Labels})
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	return pr, nil
}

func query(base string, state forge.State, k marker.Kind, policy string) forge.Query {
	return forge.Query{Base: base, State: state, Text: []string{"<!-- flightline:" + string(k) + " ", `"policy":"` + policy + `"`}}
}

// reverts maps the ID of each reverted promotion to its revert PR, for one state.
func reverts(ctx context.Context, f forge.Forge, base string, state forge.State, policy string) (map[string]forge.PR, error) {
	prs, err := f.Find(ctx, query(base, state, marker.KindRevert, policy))
	if err != nil {
		return nil, fmt.Errorf("looking for rollbacks of %s: %w", policy, err)
	}
	m := map[string]forge.PR{}
	for _, pr := range prs {
		if rv, err := marker.ParseRevert(pr.Body); err == nil && rv.Policy == policy {
			if _, seen := m[rv.Reverts]; !seen {
				m[rv.Reverts] = pr
			}
		}
	}
	return m, nil
}

// newer lists the merged promotions of policy after target that were not rolled back. merged
// is newest first; when target is beyond its bound, merge times decide.
func newer(merged []forge.PR, target forge.PR, policy string, rolledBack map[string]forge.PR) []forge.PR {
	idx := -1
	for i, pr := range merged {
		if pr.ID() == target.ID() {
			idx = i
			break
		}
	}
	var out []forge.PR
	for i, pr := range merged {
		if (idx >= 0 && i >= idx) || (idx < 0 && !pr.Merged.After(target.Merged)) {
			continue
		}
		if m, err := marker.ParsePromotion(pr.Body); err != nil || m.Policy != policy {
			continue
		}
		if _, ok := rolledBack[pr.ID()]; ok {
			continue
		}
		out = append(out, pr)
	}
	return out
}

// isExact reports whether a range pins one version (then reverting to it is an exact rollback).
func isExact(rng string) bool {
	_, err := imagepolicy.ParseVersion(strings.Trim(strings.TrimSpace(rng), "="))
	return err == nil && !strings.ContainsAny(strings.TrimSpace(rng), " <>~^*|,")
}

func body(target forge.PR, p marker.Promotion, m marker.Revert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Roll back `%s`: revert %s (`%s` → `%s`, tag `%s`), restoring `%s` in `%s`.\n\n", p.Policy, target.Ref(), p.PreviousRange, p.Range, p.Tag, p.PreviousRange, p.File)
	fmt.Fprintf(&b, "Trigger: %s\n\n", m.Trigger)
	if m.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n\n", strings.ReplaceAll(m.Reason, "\n", " "))
	}
	if len(m.Checks) > 0 {
		fmt.Fprintf(&b, "Failing checks: %s\n\n", strings.Join(m.Checks, ", "))
	}
	if !isExact(p.PreviousRange) {
		fmt.Fprintf(&b, "Not an exact rollback: `%s` is a range, so Flux picks the newest tag in it.\n\n", p.PreviousRange)
	}
	b.WriteString(m.String())
	b.WriteString("\n")
	return b.String()
}
