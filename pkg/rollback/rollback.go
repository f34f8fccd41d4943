package rollback

import (
	"bytes"
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

// ErrUnverified: the promotion (or a revert) does not match what the base branch proves; see
// promote.VerifyPromotion.
var ErrUnverified = promote.ErrUnverified

// HistoryLimit bounds how many commits of the file's history a rollback reads to find the
// commit that set the policy's current range.
const HistoryLimit = 30

// Limits on the free text a rollback records.
const (
	reasonMax = 300
	checkMax  = 120
	checksMax = 20
)

// errMoved: the policy's range changed on the base between the decision and the write.
var errMoved = errors.New("the policy's range changed on the base branch meanwhile")

// Request is one rollback. Defaults: PR the promotion that set the policy's current range on
// the base branch, File promote.DefaultFile when it holds the policy, else the file its merged
// promotions name (with PR: the promotion's file), Trigger manual,
// Merge none, Base the forge's default branch, trusted authors the token's own identity.
type Request struct {
	Policy  string            // NS/NAME (required unless PR is given)
	PR      string            // the promotion: a PR number, or its merge SHA on the local forge
	File    string            // the file that holds the policy; with PR, must be the promotion's file
	Reason  string            // why (free text, recorded in the marker: one line, bounded, escaped)
	Trigger string            // manual or canary
	Checks  []string          // the failing checks (canary)
	Base    string            // base branch
	Labels  []string          // labels of the revert PR
	Merge   promote.MergeMode // none, merge or auto
	Force   bool              // revert even when a newer promotion has merged since
	DryRun  bool              // decide and report, write nothing
	// TrustedAuthors are the logins whose promotions and reverts a rollback acts on (an App as
	// SLUG[bot]); default: AppSlug's bot, else the token's own identity.
	TrustedAuthors []string
	AppSlug        string // the GitHub App whose installation token runs Flightline
}

// Result is what a run did or, with DryRun, would do.
type Result struct {
	Operation      Operation
	DryRun         bool
	Revert         forge.PR         // the revert (or forward-fix) PR
	Reverted       forge.PR         // the promotion PR rolled back
	Promotion      marker.Promotion // the reverted promotion, as the base branch proves it
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
	Reason         string     // why (one line)
	Checks         []string   // the failing checks (one line each)
	Newer          []forge.PR // what changed the range since the promotion (why it was refused, or what force overrode)
	Ignored        []string   // revert PRs that are not Flightline's own, or not the exact inverse: left alone
	Warnings       []string   // things that did not stop the rollback (e.g. the registry was unreachable)
	Message        string     // one sentence saying what happened
}

// Outputs are the step outputs in a stable order: revert-pr-number, revert-pr-url,
// reverted-pr, restored-range, restored-tag, operation. Every value is one the base branch or
// the forge proved (ranges as the file holds them), never marker text.
func (r Result) Outputs() [][2]string {
	num := ""
	if r.Revert.Number > 0 {
		num = fmt.Sprint(r.Revert.Number)
	}
	restored := r.RestoredRange
	if imagepolicy.ValidateRange(restored) != nil {
		restored = ""
	}
	tag := r.RestoredTag
	if _, err := imagepolicy.ParseVersion(tag); err != nil {
		tag = ""
	}
	return [][2]string{
		{"revert-pr-number", num}, {"revert-pr-url", r.Revert.URL}, {"reverted-pr", r.Reverted.ID()},
		{"restored-range", restored}, {"restored-tag", tag}, {"operation", string(r.Operation)},
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

// flow is one rollback's state.
type flow struct {
	f     forge.Forge
	src   imagepolicy.TagSource
	req   Request
	base  string
	mode  promote.MergeMode
	trust promote.Trust
	// sel selects tags as Flux does for the policy (its filterTags, its ImageRepository's
	// exclusionList), read with the policy's file; nil until then.
	sel *imagepolicy.Selector
}

// Run rolls back a promotion through f. The base branch is the truth and markers only an
// index: the promotion is the one whose merge set the policy's current range (or the PR given),
// verified against its merge commit (promote.VerifyPromotion); it refuses a revert, an unmerged
// PR, an unverified promotion and (unless forced) a superseded one; it reuses a revert only when
// it is Flightline's own and exactly the inverse, and says "already rolled back" only when the
// base pins what a verified revert restored. It then opens the revert PR (a forward fix when the
// revert does not apply cleanly), re-checking the policy's range at write time, merges it if
// asked, verifies the base branch and says what the restored range selects in the registry (src
// may be nil: then only exact pins name their tag). Every check runs before the first write.
func Run(ctx context.Context, f forge.Forge, src imagepolicy.TagSource, req Request) (Result, error) {
	res := Result{DryRun: req.DryRun, Reason: marker.Text(req.Reason, reasonMax), Trigger: req.Trigger}
	for _, c := range req.Checks {
		if c = marker.Text(c, checkMax); c != "" && len(res.Checks) < checksMax {
			res.Checks = append(res.Checks, c)
		}
	}
	if res.Trigger == "" {
		res.Trigger = marker.TriggerManual
	}
	if res.Trigger != marker.TriggerManual && res.Trigger != marker.TriggerCanary {
		return res, fmt.Errorf("%w: trigger %q: use manual or canary", ErrInvalidInput, marker.Text(req.Trigger, 40))
	}
	mode, err := promote.ParseMergeMode(string(req.Merge))
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if req.Policy != "" {
		ref, err := imagepolicy.ParseRef(req.Policy)
		if err != nil {
			return res, fmt.Errorf("%w: policy: %v", ErrInvalidInput, err)
		}
		req.Policy = ref.String()
	} else if req.PR == "" {
		return res, fmt.Errorf("%w: give policy (NS/NAME) to roll back its live promotion, or pr", ErrInvalidInput)
	}
	base := req.Base
	if base == "" {
		if base, err = f.DefaultBranch(ctx); err != nil {
			return res, err
		}
	}
	res.Base = base
	trust, err := promote.ResolveTrust(ctx, f, req.TrustedAuthors, req.AppSlug)
	if err != nil {
		return res, err
	}
	fl := &flow{f: &memoForge{Forge: f}, src: src, req: req, base: base, mode: mode, trust: trust}
	for attempt := 1; ; attempt++ {
		out, target, err := fl.run(ctx, res)
		if !errors.Is(err, errMoved) {
			return out, err
		}
		if attempt == 3 {
			return out.refuse(fmt.Errorf("%w three times while rolling back %s; nothing was written: run again", err, target.Ref()))
		}
		// Start over on the same promotion: a newer one that landed meanwhile is not the
		// one to roll back, but a reason to refuse.
		fl.req.PR, fl.req.Policy = target.ID(), ""
	}
}

// run is one attempt; it returns the promotion it decided on, for a restart.
func (fl *flow) run(ctx context.Context, res Result) (Result, forge.PR, error) {
	f, req, base := fl.f, fl.req, fl.base
	var (
		v      promote.Verified
		target forge.PR
		head   string
		cur    string // the policy's range on the base now
		err    error
	)
	policy := req.Policy
	if req.PR != "" {
		target, err = f.Get(ctx, strings.TrimPrefix(strings.TrimSpace(req.PR), "#"))
		if err != nil {
			return res, target, fmt.Errorf("%w: pr %q: %w", ErrInvalidInput, marker.Text(req.PR, 80), err)
		}
		res.Reverted = target
		if marker.Has(target.Body, marker.KindRevert) || !marker.Has(target.Body, marker.KindPromotion) && isRevertTitle(target.Title) {
			out, err := res.refuse(fmt.Errorf("%w: %s is a rollback; roll forward with a new promotion instead", ErrRevertOfRevert, target.Ref()))
			return out, target, err
		}
		pm, err := marker.ParsePromotion(target.Body)
		if err != nil {
			return res, target, fmt.Errorf("%w: %s is not a Flightline promotion: %w", ErrNoPromotion, target.Ref(), err)
		}
		if policy != "" && pm.Policy != policy {
			return res, target, fmt.Errorf("%w: pr %s promotes %s, not policy %s", ErrInvalidInput, target.Ref(), pm.Policy, policy)
		}
		if target.State != forge.StateMerged {
			out, err := res.refuse(fmt.Errorf("%w: %s is %s; nothing reached %s, so close it instead of reverting", ErrNotMerged, target.Ref(), target.State, base))
			return out, target, err
		}
		if v, err = promote.VerifyPromotion(ctx, f, base, target, fl.trust); err != nil {
			out, err := res.refuse(err)
			return out, target, err
		}
		if req.File != "" && req.File != v.Marker.File {
			return res, target, fmt.Errorf("%w: file %q: promotion %s changed %q", ErrInvalidInput, req.File, target.Ref(), v.Marker.File)
		}
		res.Policy = v.Ref.String()
		if head, cur, err = fl.current(ctx, v.Marker.File, v.Ref); err != nil {
			return res, target, err
		}
	} else {
		ref, _ := imagepolicy.ParseRef(policy)
		file := req.File
		if file == "" {
			file = promote.DefaultFile
		}
		head, cur, err = fl.current(ctx, file, ref)
		if errors.Is(err, forge.ErrNotFound) && req.File == "" {
			// Not in the default file: the file a merged promotion of the policy names is
			// where to look (an index only: what is found there is verified as any other).
			if other := fl.markerFile(ctx, ref); other != "" && other != file {
				file = other
				head, cur, err = fl.current(ctx, file, ref)
			}
		}
		res.Policy, res.File = ref.String(), file
		if err != nil {
			return res, target, err
		}
		setter, err := fl.setter(ctx, file, ref, cur)
		if err != nil {
			return res, target, err
		}
		sp, err := f.MergedPR(ctx, base, setter)
		if errors.Is(err, forge.ErrNotFound) {
			return res, target, fmt.Errorf("%w: %s pins %q on %s since commit %s, which no merged PR brought (a direct push): there is no promotion to revert; give pr (and force) to revert an earlier one, or set the range by a promotion", ErrNoPromotion, ref, cur, base, short(setter))
		}
		if err != nil {
			return res, target, err
		}
		if marker.Has(sp.Body, marker.KindRevert) {
			out, err := fl.alreadyRolledBack(ctx, res, sp, ref, file, cur)
			return out, target, err
		}
		if v, err = promote.VerifyPromotion(ctx, f, base, sp, fl.trust); err != nil {
			if !marker.Has(sp.Body, marker.KindPromotion) {
				return res, target, fmt.Errorf("%w: %s pins %q on %s since %s %q, which is not a Flightline promotion: nothing to revert automatically; give pr (and force) to revert an earlier promotion", ErrNoPromotion, ref, cur, base, sp.Ref(), marker.Text(sp.Title, 120))
			}
			out, err := res.refuse(err)
			return out, target, err
		}
		target = sp
		if v.Marker.File != file || v.Marker.Range != cur {
			out, err := res.refuse(fmt.Errorf("%w: %s set %q in %s, but %s pins %q", ErrUnverified, sp.Ref(), v.Marker.Range, v.Marker.File, base, cur))
			return out, target, err
		}
	}
	promo := v.Marker
	res.Reverted, res.Promotion, res.RestoredRange, res.File = target, promo, promo.PreviousRange, promo.File
	res.Exact = isExact(promo.PreviousRange)

	// The live range is not this promotion's: rolled back already, or superseded.
	if cur != promo.Range {
		if cur == promo.PreviousRange {
			if setter, err := fl.setter(ctx, promo.File, v.Ref, cur); err == nil {
				if sp, err := f.MergedPR(ctx, base, setter); err == nil && marker.Has(sp.Body, marker.KindRevert) {
					if out, err := fl.alreadyRolledBack(ctx, res, sp, v.Ref, promo.File, cur); err == nil {
						return out, target, nil
					}
				}
			}
		}
		by, newer := fl.describeSetter(ctx, promo.File, v.Ref, cur)
		if newer != nil {
			res.Newer = append(res.Newer, *newer)
		}
		if !req.Force {
			out, err := res.refuse(fmt.Errorf("%w: %s pins %q on %s now (set by %s), not the %q that %s set; roll back the newest promotion instead, or set force to revert %s anyway", ErrSuperseded, res.Policy, cur, base, by, promo.Range, target.Ref(), target.Ref()))
			return out, target, err
		}
	}

	// An open revert of this promotion: reused only when it is ours and exactly the inverse.
	open, err := f.Find(ctx, query(base, forge.StateOpen, marker.KindRevert, res.Policy))
	if err != nil {
		return res, target, fmt.Errorf("looking for open rollbacks of %s: %w", res.Policy, err)
	}
	for _, rv := range open {
		rm, err := marker.ParseRevert(rv.Body)
		if err != nil || rm.Policy != res.Policy || rm.Reverts != target.ID() {
			continue
		}
		if err := fl.verifyOpenRevert(ctx, rv, target, v); err != nil {
			res.Ignored = append(res.Ignored, fmt.Sprintf("%s was not reused: %s", rv.Ref(), marker.Text(err.Error(), 300)))
			continue
		}
		res.Operation, res.Revert = Reused, rv
		res.Message = fmt.Sprintf("reusing the open rollback %s of %s", rv.Ref(), target.Ref())
		if req.DryRun || fl.mode == promote.MergeNone {
			return res, target, nil
		}
		return res, target, res.merge(ctx, f, fl.src, fl.sel, fl.mode)
	}

	m := marker.Revert{V: marker.Version, Policy: res.Policy, File: promo.File, Reverts: target.ID(), RestoredRange: promo.PreviousRange,
		Trigger: res.Trigger, Reason: res.Reason, Checks: res.Checks}
	rr := forge.RevertRequest{Branch: BranchName(res.Policy, target), Title: marker.Text(fmt.Sprintf("Revert %q", target.Title), 200),
		Body: body(target, promo, m), Labels: req.Labels}
	if req.DryRun {
		res.Operation = Reverted
		res.Message = fmt.Sprintf("dry run: would revert %s of %s, restoring %q", target.Ref(), res.Policy, promo.PreviousRange)
		res.resolve(ctx, fl.src, fl.sel)
		return res, target, nil
	}
	// Write time: the base may have moved (Flux's image automation pushes to it); only a
	// change of the policy's range means starting over.
	if err := fl.unchanged(ctx, head, promo.File, v.Ref, cur); err != nil {
		return res, target, err
	}
	rv, err := f.Revert(ctx, target, rr)
	if errors.Is(err, forge.ErrExists) { // the name is taken (GitHub's revert names its own branch)
		if err = fl.takeFreeBranch(ctx, &rr, &res); err == nil {
			rv, err = f.Revert(ctx, target, rr)
		}
	}
	switch {
	case err == nil:
		res.Operation = Reverted
	case errors.Is(err, forge.ErrConflict):
		if err = fl.takeFreeBranch(ctx, &rr, &res); err != nil {
			return res, target, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
		}
		rv, err = fl.forwardFix(ctx, target, v, cur, rr)
		if err != nil {
			return res, target, err
		}
		res.Operation = ForwardFixed
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s did not revert cleanly (the file changed since); this PR sets the previous range %q instead", target.Ref(), promo.PreviousRange))
	default:
		return res, target, fmt.Errorf("reverting %s: %w", target.Ref(), err)
	}
	res.Revert = rv
	res.Message = fmt.Sprintf("%s %s of %s with %s, restoring %q", res.Operation, target.Ref(), res.Policy, rv.Ref(), promo.PreviousRange)
	if fl.mode == promote.MergeNone {
		res.resolve(ctx, fl.src, fl.sel)
		return res, target, nil
	}
	return res, target, res.merge(ctx, f, fl.src, fl.sel, fl.mode)
}

// isRevertTitle recognises GitHub's own revert PRs (the revert button), which carry no marker.
func isRevertTitle(title string) bool { return strings.HasPrefix(title, `Revert "`) }

// current reads the policy's range at the tip of the base branch.
func (fl *flow) current(ctx context.Context, file string, ref imagepolicy.Ref) (head, rng string, err error) {
	head, err = fl.f.Head(ctx, fl.base)
	if err != nil {
		return "", "", fmt.Errorf("base branch %q: %w", fl.base, err)
	}
	data, err := fl.f.ReadFile(ctx, head, file)
	if err != nil {
		return "", "", fmt.Errorf("reading %s on %s: %w (set file to the file that holds the ImagePolicy)", file, fl.base, err)
	}
	pol, err := imagepolicy.Find(data, ref)
	if err != nil {
		return "", "", fmt.Errorf("%s on %s: %w", file, fl.base, err)
	}
	if sel, err := imagepolicy.SelectorIn(data, ref, imagepolicy.DefaultRules); err == nil {
		fl.sel = sel
	}
	return head, pol.Range, nil
}

// markerFile is the file named by the newest merged promotion marker of the policy ("" when
// none).
func (fl *flow) markerFile(ctx context.Context, ref imagepolicy.Ref) string {
	prs, err := fl.f.Find(ctx, forge.Query{Base: fl.base, State: forge.StateMerged, Limit: 10,
		Text: []string{"<!-- flightline:promotion ", `"policy":"` + ref.String() + `"`}})
	if err != nil {
		return ""
	}
	for _, pr := range prs {
		if m, err := marker.ParsePromotion(pr.Body); err == nil && m.Policy == ref.String() && validPath(m.File) {
			return m.File
		}
	}
	return ""
}

// validPath accepts a relative path inside the repository.
func validPath(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && !strings.Contains(p, "..") && marker.Text(p, 0) == p && !strings.ContainsAny(p, " :\\")
}

// rangeAt is the policy's range in file at commit ("" when the file or the policy is absent).
func (fl *flow) rangeAt(ctx context.Context, commit, file string, ref imagepolicy.Ref) (string, error) {
	data, err := fl.f.ReadFile(ctx, commit, file)
	if errors.Is(err, forge.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	p, err := imagepolicy.Find(data, ref)
	if err != nil {
		return "", nil
	}
	return p.Range, nil
}

// setter finds the commit of the base branch that set the policy's range to cur: the oldest of
// the newest commits of the file's history that all pin cur, within HistoryLimit commits.
func (fl *flow) setter(ctx context.Context, file string, ref imagepolicy.Ref, cur string) (string, error) {
	hist, err := fl.f.History(ctx, fl.base, file, HistoryLimit)
	if err != nil {
		return "", err
	}
	found := ""
	for i, c := range hist {
		r, err := fl.rangeAt(ctx, c.SHA, file, ref)
		if err != nil {
			return "", err
		}
		if r != cur {
			break
		}
		found = c.SHA
		if i == len(hist)-1 && len(hist) >= HistoryLimit {
			return "", fmt.Errorf("%w: %s has pinned %q through the last %d commits of %s on %s; give pr to name the promotion", ErrNoPromotion, ref, cur, HistoryLimit, file, fl.base)
		}
	}
	if found == "" {
		return "", fmt.Errorf("%w: no commit in the history of %s on %s set %s to %q", ErrNoPromotion, file, fl.base, ref, cur)
	}
	return found, nil
}

// describeSetter names what set the policy's range to cur, for a refusal, and returns its PR
// when a PR did.
func (fl *flow) describeSetter(ctx context.Context, file string, ref imagepolicy.Ref, cur string) (string, *forge.PR) {
	setter, err := fl.setter(ctx, file, ref, cur)
	if err != nil {
		return "a change not found in the recent history", nil
	}
	if pr, err := fl.f.MergedPR(ctx, fl.base, setter); err == nil {
		return fmt.Sprintf("%s %q", pr.Ref(), marker.Text(pr.Title, 120)), &pr
	}
	return "commit " + short(setter) + " (a direct push)", nil
}

// unchanged is the write-time check: errMoved when the policy's range on the base is no longer
// cur (the base moving for other reasons is fine).
func (fl *flow) unchanged(ctx context.Context, head, file string, ref imagepolicy.Ref, cur string) error {
	now, err := fl.f.Head(ctx, fl.base)
	if err != nil {
		return err
	}
	if now == head {
		return nil
	}
	r, err := fl.rangeAt(ctx, now, file, ref)
	if err != nil {
		return err
	}
	if r != cur {
		return fmt.Errorf("%w (%q → %q)", errMoved, cur, r)
	}
	return nil
}

// alreadyRolledBack answers a rollback whose live range was set by a revert: "already rolled
// back" when that revert is Flightline's own, exactly the inverse of a verified promotion, and
// the base pins what it restored; a refusal otherwise.
func (fl *flow) alreadyRolledBack(ctx context.Context, res Result, rv forge.PR, ref imagepolicy.Ref, file, cur string) (Result, error) {
	fail := func(err error) (Result, error) {
		return res.refuse(fmt.Errorf("%w: %s pins %q on %s since the rollback %s, which could not be verified (%v); give pr to name the promotion to revert", ErrUnverified, ref, cur, fl.base, rv.Ref(), err))
	}
	rm, err := marker.ParseRevert(rv.Body)
	if err != nil {
		return fail(err)
	}
	if rm.Policy != ref.String() {
		return fail(fmt.Errorf("its marker names policy %q", rm.Policy))
	}
	target, err := fl.f.Get(ctx, rm.Reverts)
	if err != nil {
		return fail(err)
	}
	v, err := promote.VerifyPromotion(ctx, fl.f, fl.base, target, fl.trust)
	if err != nil {
		return fail(err)
	}
	if err := fl.verifyRevertPR(rv, target); err != nil {
		return fail(err)
	}
	if rv.State != forge.StateMerged {
		return fail(errors.New("it is not merged"))
	}
	if err := fl.inverse(ctx, rv.MergeSHA, v); err != nil {
		return fail(err)
	}
	if cur != v.Marker.PreviousRange {
		return fail(fmt.Errorf("it restored %q", v.Marker.PreviousRange))
	}
	res.Reverted, res.Promotion, res.RestoredRange, res.File = target, v.Marker, v.Marker.PreviousRange, file
	res.Exact = isExact(v.Marker.PreviousRange)
	res.Operation, res.Revert, res.Merged = Reused, rv, true
	res.Message = fmt.Sprintf("%s was already rolled back by %s: %s pins %q on %s", target.Ref(), rv.Ref(), ref, cur, fl.base)
	res.resolve(ctx, fl.src, fl.sel)
	return res, nil
}

// verifyRevertPR checks who opened a revert PR and from which branch.
func (fl *flow) verifyRevertPR(rv, target forge.PR) error {
	if rv.Fork {
		return errors.New("it comes from a fork")
	}
	if !fl.trust.Trusted(rv.Author) {
		return fmt.Errorf("it was opened by %q, not by a trusted author (%s)", rv.Author, fl.trust)
	}
	want := BranchName(fl.req.Policy, target)
	if p, err := marker.ParseRevert(rv.Body); err == nil {
		want = BranchName(p.Policy, target)
	}
	// GitHub's revertPullRequest names the branch revert-N-HEAD itself.
	github := target.Number > 0 && strings.HasPrefix(rv.Branch, fmt.Sprintf("revert-%d-", target.Number))
	if rv.Branch != want && !github {
		return fmt.Errorf("its branch is %q, not %q", rv.Branch, want)
	}
	return nil
}

// verifyOpenRevert checks that an open revert PR is ours (author, branch, every commit) and
// exactly the inverse of the verified promotion v.
func (fl *flow) verifyOpenRevert(ctx context.Context, rv, target forge.PR, v promote.Verified) error {
	if err := fl.verifyRevertPR(rv, target); err != nil {
		return err
	}
	if err := promote.CheckOwnCommits(ctx, fl.f, rv, fl.trust); err != nil {
		return err
	}
	return fl.inverse(ctx, rv.HeadSHA, v)
}

// inverse checks that commit changes exactly v's file, and in it exactly v's range back from
// Range to PreviousRange.
func (fl *flow) inverse(ctx context.Context, commit string, v promote.Verified) error {
	c, err := fl.f.Commit(ctx, commit)
	if err != nil {
		return err
	}
	file := v.Marker.File
	if len(c.Parents) == 0 || len(c.Files) != 1 || c.Files[0] != file {
		return fmt.Errorf("it changes %q, not only %q", c.Files, file)
	}
	before, err := fl.f.ReadFile(ctx, c.Parents[0], file)
	if err != nil {
		return err
	}
	after, err := fl.f.ReadFile(ctx, commit, file)
	if err != nil {
		return err
	}
	pb, err := imagepolicy.Find(before, v.Ref)
	if err != nil || pb.Range != v.Marker.Range {
		return fmt.Errorf("it does not start from the promotion's range %q", v.Marker.Range)
	}
	want, err := imagepolicy.SetRange(before, v.Ref, v.Marker.PreviousRange)
	if err != nil || !bytes.Equal(want, after) {
		return fmt.Errorf("it does not set exactly %q in %s", v.Marker.PreviousRange, file)
	}
	return nil
}

// refuse records a refusal: operation refused, the reason as the message.
func (r Result) refuse(err error) (Result, error) {
	r.Operation, r.Message = Refused, err.Error()
	return r, err
}

// merge merges the revert PR, verifies the base branch and resolves the restored range.
func (r *Result) merge(ctx context.Context, f forge.Forge, src imagepolicy.TagSource, sel *imagepolicy.Selector, mode promote.MergeMode) error {
	done, err := f.Merge(ctx, r.Revert, forge.MergeOptions{Auto: mode == promote.MergeAuto})
	if err != nil {
		return fmt.Errorf("the rollback PR %s is open but merging it failed (merge it by hand): %w", r.Revert.Ref(), err)
	}
	r.Revert = done
	if done.State != forge.StateMerged {
		r.Message += "; auto-merge is enabled"
		r.resolve(ctx, src, sel)
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
	r.resolve(ctx, src, sel)
	return nil
}

// resolve says which tag the restored range selects today (a warning when it cannot), as Flux
// selects it with sel (the policy's filterTags and exclusionList) when sel is known.
func (r *Result) resolve(ctx context.Context, src imagepolicy.TagSource, sel *imagepolicy.Selector) {
	if r.RestoredRange == "" {
		return
	}
	if src == nil || r.Promotion.Image == "" {
		if r.Exact {
			r.RestoredTag = r.RestoredRange
		}
		return
	}
	resolve := imagepolicy.Resolve
	if sel != nil {
		resolve = sel.Resolve
	}
	res, err := resolve(ctx, r.RestoredRange, r.Promotion.Image, src)
	if err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("could not resolve the restored range %q in %s: %v", r.RestoredRange, r.Promotion.Image, err))
		if r.Exact {
			r.RestoredTag = r.RestoredRange
		}
		return
	}
	r.RestoredTag, r.RestoredDigest = res.Tag, res.Digest
}

// maxBranchTries bounds the names freeBranch tries: name, name-2, … name-maxBranchTries.
const maxBranchTries = 10

// takeFreeBranch moves rr to a free branch name when its own is taken. The name is predictable,
// so anyone who can push may have taken it first; an open revert of ours on it was reused
// before this point, so what is there is not ours to overwrite: it is left alone, and res says so.
func (fl *flow) takeFreeBranch(ctx context.Context, rr *forge.RevertRequest, res *Result) error {
	free, err := fl.freeBranch(ctx, rr.Branch)
	if err != nil {
		return err
	}
	if free != rr.Branch {
		res.Warnings = append(res.Warnings, fmt.Sprintf("branch %s already exists and is not a revert this run may reuse: left alone; the revert is proposed from %s", rr.Branch, free))
		rr.Branch = free
	}
	return nil
}

// freeBranch returns name when no branch has it, else the first of name-2, name-3, … that is
// free.
func (fl *flow) freeBranch(ctx context.Context, name string) (string, error) {
	for i := 1; i <= maxBranchTries; i++ {
		try := name
		if i > 1 {
			try = fmt.Sprintf("%s-%d", name, i)
		}
		_, err := fl.f.Head(ctx, try)
		switch {
		case errors.Is(err, forge.ErrNotFound):
			return try, nil
		case err != nil:
			return "", fmt.Errorf("checking branch %s: %w", try, err)
		}
	}
	return "", fmt.Errorf("branches %s to %s-%d all exist and none is a revert this run may reuse: delete the stale ones", name, name, maxBranchTries)
}

// forwardFix opens a PR that sets the verified previous range on today's base, after checking
// that the base still pins cur (errMoved otherwise); the branch write is compare-and-swap on the
// base commit it read.
func (fl *flow) forwardFix(ctx context.Context, target forge.PR, v promote.Verified, cur string, rr forge.RevertRequest) (forge.PR, error) {
	sha, err := fl.f.Head(ctx, fl.base)
	if err != nil {
		return forge.PR{}, err
	}
	file := v.Marker.File
	data, err := fl.f.ReadFile(ctx, sha, file)
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	if p, err := imagepolicy.Find(data, v.Ref); err != nil || p.Range != cur {
		return forge.PR{}, fmt.Errorf("%w (%q → %q)", errMoved, cur, p.Range)
	}
	out, err := imagepolicy.SetRange(data, v.Ref, v.Marker.PreviousRange)
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	pr, _, err := fl.f.Propose(ctx, forge.Change{Base: fl.base, BaseSHA: sha, Branch: rr.Branch, Title: rr.Title,
		Body: rr.Body, Files: map[string][]byte{file: out}, Labels: rr.Labels})
	if err != nil {
		return forge.PR{}, fmt.Errorf("forward fix of %s: %w", target.Ref(), err)
	}
	return pr, nil
}

func query(base string, state forge.State, k marker.Kind, policy string) forge.Query {
	return forge.Query{Base: base, State: state, Text: []string{"<!-- flightline:" + string(k) + " ", `"policy":"` + policy + `"`}}
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
		fmt.Fprintf(&b, "Reason: %s\n\n", marker.Text(m.Reason, reasonMax))
	}
	if len(m.Checks) > 0 {
		checks := make([]string, len(m.Checks))
		for i, c := range m.Checks {
			checks[i] = marker.Text(c, checkMax)
		}
		fmt.Fprintf(&b, "Failing checks: %s\n\n", strings.Join(checks, ", "))
	}
	if !isExact(p.PreviousRange) {
		fmt.Fprintf(&b, "Not an exact rollback: `%s` is a range, so Flux picks the newest tag in it.\n\n", p.PreviousRange)
	}
	b.WriteString(m.String())
	b.WriteString("\n")
	return b.String()
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// memoForge remembers file contents read at a commit SHA (they cannot change), so that the
// history walk and the verification do not read the same blob twice.
type memoForge struct {
	forge.Forge
	files map[string][]byte
}

func (m *memoForge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	key := ref + ":" + path
	if b, ok := m.files[key]; ok {
		return b, nil
	}
	b, err := m.Forge.ReadFile(ctx, ref, path)
	if err == nil && len(ref) == 40 && strings.Trim(ref, "0123456789abcdef") == "" {
		if m.files == nil {
			m.files = map[string][]byte{}
		}
		m.files[key] = b
	}
	return b, err
}
