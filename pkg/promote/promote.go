package promote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
)

// DefaultFile is the platform repository file that holds the ImagePolicies when none is given.
const DefaultFile = "ai-agents-image-automation.yaml"

// Errors callers branch on (each is wrapped with the details and what to do).
var (
	// ErrInvalidInput: a request field is missing or malformed; the message names the input.
	ErrInvalidInput = errors.New("invalid input")
	// ErrTagMissing: the registry has no tag for the promoted version.
	ErrTagMissing = errors.New("tag missing from the registry")
	// ErrDigestMismatch: the tag's digest is not the digest the build produced.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrRangeMismatch: the new range would select another tag than the promoted one.
	ErrRangeMismatch = errors.New("range does not resolve to the promoted tag")
	// ErrOnHold: the version was rolled back and may not be promoted again without force.
	ErrOnHold = errors.New("version on hold after a rollback")
)

// MergeMode says whether the promotion PR is merged by the run.
type MergeMode string

// Merge modes.
const (
	MergeNone MergeMode = "none"  // open the PR and leave it for review (the default)
	MergeNow  MergeMode = "merge" // merge it now
	MergeAuto MergeMode = "auto"  // enable auto-merge (merges when checks pass); local forge: now
)

var mergeModes = []MergeMode{MergeNone, MergeNow, MergeAuto}

// ParseMergeMode parses none, merge or auto ("" means none); anything else fails listing them.
func ParseMergeMode(s string) (MergeMode, error) {
	if s == "" {
		return MergeNone, nil
	}
	if slices.Contains(mergeModes, MergeMode(s)) {
		return MergeMode(s), nil
	}
	return "", fmt.Errorf("%w: merge %q: use one of none, merge, auto", ErrInvalidInput, s)
}

// Operation is what a run did (the `operation` output).
type Operation string

// Operations.
const (
	Created   Operation = "created"
	Updated   Operation = "updated"
	Unchanged Operation = "unchanged"
	Merged    Operation = "merged" // this run merged the PR
)

// Request is one promotion. Defaults: File DefaultFile, Pin exact, Scan unknown, Merge none,
// Base the forge's default branch, Image the spec.image of the policy's ImageRepository in File.
type Request struct {
	Policy         string          // NS/NAME of the ImagePolicy (required)
	Version        string          // version to promote, "1.5.0" or "v1.5.0" (required)
	File           string          // file in the platform repository
	Image          string          // image repository, or "name@sha256:…" as the build outputs it
	Digest         string          // expected digest of the tag ("" = not checked unless Image has one)
	Pin            imagepolicy.Pin // exact (X.Y.Z) or patch (~X.Y.Z)
	AllowDowngrade bool            // allow a range that selects an older version than today's
	Force          bool            // promote even a version that was rolled back
	Base           string          // base branch
	Labels         []string        // PR labels
	Merge          MergeMode       // none, merge or auto
	ScanCheck      ScanCheck       // the scan evidence the digest needs (scanevidence.go); its verdict goes in the marker
	// RepositoryFile is the file holding the policy's ImageRepository when File does not: its
	// spec.exclusionList (and spec.image, when Image is not given) are Flux's selection too.
	RepositoryFile string
	// Rules are the tag rules of the Flux release the cluster runs (imagepolicy.ParseRules);
	// zero: imagepolicy.DefaultRules.
	Rules  imagepolicy.Rules
	DryRun bool // decide and report, write nothing
	// TrustedAuthors are the logins whose promotion PRs this run may update or close (an App
	// as SLUG[bot]); default: AppSlug's bot, else the token's own identity.
	TrustedAuthors []string
	AppSlug        string // the GitHub App whose installation token runs Flightline
}

// Result is what a run did or, with DryRun, would do.
type Result struct {
	Operation     Operation
	DryRun        bool
	PR            forge.PR // zero when Operation is unchanged
	Policy        string
	File          string
	Base          string
	PreviousRange string
	Range         string
	Tag           string
	Digest        string
	Image         string
	Scan          string
	ScanEvidence  *ScanEvidence // the scan report the verdict came from (nil: none)
	Diff          string        // the one-line unified diff
	Superseded    []forge.PR    // older open promotions of the policy this run closed
	Ignored       []string      // PRs that carry a promotion marker but are not Flightline's own: left alone
	Notes         []string      // what was read differently from Flux, or not read, and why
	Message       string        // one sentence saying what happened
}

// Outputs are the step outputs, in a stable order: pr-number, pr-url, previous-range, range,
// tag, digest, operation.
func (r Result) Outputs() [][2]string {
	num := ""
	if r.PR.Number > 0 {
		num = fmt.Sprint(r.PR.Number)
	}
	// Only validated values: ranges that parse as Flux parses them, a tag that parses as a
	// version, a sha256 digest.
	prev, rng, tag, digest := r.PreviousRange, r.Range, r.Tag, r.Digest
	if imagepolicy.ValidateRange(prev) != nil {
		prev = ""
	}
	if imagepolicy.ValidateRange(rng) != nil {
		rng = ""
	}
	if _, err := imagepolicy.ParseVersion(tag); err != nil {
		tag = ""
	}
	if !digestRE.MatchString(digest) {
		digest = ""
	}
	return [][2]string{
		{"pr-number", num}, {"pr-url", r.PR.URL}, {"previous-range", prev}, {"range", rng},
		{"tag", tag}, {"digest", digest}, {"operation", string(r.Operation)},
	}
}

// BranchName is the head branch of the promotion of policy to version.
func BranchName(policy imagepolicy.Ref, version string) string {
	return "flightline/promote/" + policy.String() + "/" + strings.TrimPrefix(version, "v")
}

// promotionQuery finds the promotion PRs of a policy by marker.
func promotionQuery(base string, policy imagepolicy.Ref, state forge.State) forge.Query {
	return forge.Query{Base: base, State: state, Text: []string{"<!-- flightline:promotion ", `"policy":"` + policy.String() + `"`}}
}

// Run promotes req.Version of req.Policy through f: it reads the policy on the base branch,
// checks the new range against the registry (src), and creates or updates the promotion PR,
// closes the older open promotions of the policy that are its own (trusted author, the platform
// repo's branch of the expected name, no foreign commit) and, if asked, merges. A re-run
// refuses (ErrUntrusted) a PR whose branch holds someone else's commit. Every check runs before
// the first write, so a refused run leaves nothing behind.
func Run(ctx context.Context, f forge.Forge, src imagepolicy.TagSource, req Request) (Result, error) {
	ref, err := imagepolicy.ParseRef(req.Policy)
	if err != nil || req.Policy == "" {
		return Result{}, fmt.Errorf("%w: policy %q: %v", ErrInvalidInput, req.Policy, err)
	}
	version, err := imagepolicy.ParseVersion(req.Version)
	if err != nil {
		return Result{}, fmt.Errorf("%w: version: %w", ErrInvalidInput, err)
	}
	pin, err := imagepolicy.ParsePin(string(req.Pin))
	if err != nil {
		return Result{}, fmt.Errorf("%w: pin: %w", ErrInvalidInput, err)
	}
	mode, err := ParseMergeMode(string(req.Merge))
	if err != nil {
		return Result{}, err
	}
	file := req.File
	if file == "" {
		file = DefaultFile
	}
	newRange, err := imagepolicy.RangeFor(req.Version, pin)
	if err != nil {
		return Result{}, fmt.Errorf("%w: version: %w", ErrInvalidInput, err)
	}
	repo, wantDigest, err := splitImage(req.Image, req.Digest)
	if err != nil {
		return Result{}, err
	}

	base := req.Base
	if base == "" {
		if base, err = f.DefaultBranch(ctx); err != nil {
			return Result{}, err
		}
	}
	baseSHA, err := f.Head(ctx, base)
	if err != nil {
		return Result{}, fmt.Errorf("base branch %q: %w", base, err)
	}
	data, err := f.ReadFile(ctx, baseSHA, file)
	if err != nil {
		return Result{}, fmt.Errorf("reading %s on %s: %w (set `file` to the file that holds the ImagePolicy)", file, base, err)
	}
	pol, err := imagepolicy.Find(data, ref)
	if err != nil {
		return Result{}, fmt.Errorf("%s on %s: %w", file, base, err)
	}
	res := Result{DryRun: req.DryRun, Policy: ref.String(), File: file, Base: base, PreviousRange: pol.Range, Range: newRange, Scan: marker.ScanUnknown}
	// Flux's selection for this policy: its filterTags, its ImageRepository's exclusionList (in
	// the policy's file or in RepositoryFile) and the cluster's tag rules.
	if req.RepositoryFile != "" && (!fs.ValidPath(req.RepositoryFile) || req.RepositoryFile == ".") {
		return res, fmt.Errorf("%w: image-repository-file %q: want a relative path inside the platform repository", ErrInvalidInput, req.RepositoryFile)
	}
	tgt, err := imagepolicy.Load(data, ref, imagepolicy.LoadOptions{Rules: req.Rules, RepositoryFile: req.RepositoryFile,
		ReadFile: func(name string) ([]byte, error) { return f.ReadFile(ctx, baseSHA, name) }, ImageGiven: repo != ""})
	switch {
	case err != nil && repo == "" && errors.Is(err, imagepolicy.ErrNotFound):
		return res, fmt.Errorf("%w: image: not given, and %s on %s: %w", ErrInvalidInput, file, base, err)
	case err != nil:
		return res, fmt.Errorf("%s on %s: %w", file, base, err)
	}
	res.Notes = append(res.Notes, tgt.Warnings...)
	sel := tgt.Selector
	if repo == "" {
		repo = tgt.Image()
	}
	res.Image = repo

	// The registry: the version's tag exists, the new range selects it, its digest is the
	// expected one, and the range is not a downgrade.
	tags := &memoTags{src: src}
	all, err := tags.Tags(ctx, repo)
	if err != nil {
		return res, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	if found, err := sel.TagsFor(version, all); err != nil {
		return res, fmt.Errorf("%w: version %s: %w", ErrInvalidInput, req.Version, err)
	} else if len(found) == 0 {
		return res, fmt.Errorf("%w: %s has no tag for version %s (%d tags listed); push the image before promoting it", ErrTagMissing, repo, req.Version, len(all))
	}
	resolved, err := sel.Resolve(ctx, newRange, repo, tags)
	if err != nil {
		return res, fmt.Errorf("checking range %q against %s: %w", newRange, repo, err)
	}
	if v, _ := sel.Version(resolved.Tag); v == nil || !v.Equal(version) {
		return res, fmt.Errorf("%w: range %q selects %s in %s today, not %s; use pin exact", ErrRangeMismatch, newRange, resolved.Tag, repo, req.Version)
	}
	res.Tag, res.Digest = resolved.Tag, resolved.Digest
	if wantDigest != "" && wantDigest != resolved.Digest {
		return res, fmt.Errorf("%w: %s:%s is %s in the registry, but the build produced %s; re-push the tag or promote the version that was built", ErrDigestMismatch, repo, resolved.Tag, resolved.Digest, wantDigest)
	}
	if pol.Range == newRange {
		res.Operation = Unchanged
		res.Message = fmt.Sprintf("%s already pins %q on %s: nothing to promote", ref, newRange, base)
		return res, nil
	}
	if res.Scan, res.ScanEvidence, err = checkScan(ctx, req.ScanCheck, repo, resolved.Digest); err != nil {
		return res, err
	}
	if !req.AllowDowngrade {
		if err := sel.CheckDowngrade(pol.Range, newRange, all); err != nil {
			return res, fmt.Errorf("promoting %s to %s: %w", ref, resolved.Tag, err)
		}
	}
	trust, err := ResolveTrust(ctx, f, req.TrustedAuthors, req.AppSlug)
	if err != nil {
		return res, err
	}
	if err := checkHold(ctx, f, base, ref, version.Original(), req.Force, trust); err != nil {
		return res, err
	}

	newData, err := imagepolicy.SetRange(data, ref, newRange)
	if err != nil {
		return res, fmt.Errorf("editing %s: %w", file, err)
	}
	res.Diff = diff(file, data, newData)
	m := marker.Promotion{V: marker.Version, Policy: ref.String(), File: file, PreviousRange: pol.Range, Range: newRange,
		Tag: resolved.Tag, Digest: resolved.Digest, Image: repo, Scan: res.Scan}
	change := forge.Change{Base: base, BaseSHA: baseSHA, Branch: BranchName(ref, req.Version),
		Title: fmt.Sprintf("promote %s to %s", ref, resolved.Tag), Body: body(res, m),
		Files: map[string][]byte{file: newData}, Labels: req.Labels}

	older, existing, ignored, err := openPromotions(ctx, f, base, ref, file, change.Branch, version.Original(), trust)
	if err != nil {
		return res, err
	}
	res.Ignored = ignored
	exists := existing.ID() != ""
	if exists {
		// A re-run updates the PR: only when every commit on its branch is ours.
		if err := CheckOwnCommits(ctx, f, existing, trust); err != nil {
			return res, fmt.Errorf("the promotion PR exists but Flightline will not update or merge it: %w; close it and delete branch %s, then run again", err, change.Branch)
		}
	}
	if req.DryRun {
		res.Operation = Created
		if exists {
			res.Operation = Updated
		}
		res.Superseded = older
		res.Message = fmt.Sprintf("dry run: would %s the promotion of %s from %q to %q", strings.TrimSuffix(string(res.Operation), "d"), ref, pol.Range, newRange)
		return res, nil
	}

	pr, did, err := f.Propose(ctx, change)
	if errors.Is(err, forge.ErrStale) { // another run wrote the branch meanwhile: once more on top
		pr, did, err = f.Propose(ctx, change)
	}
	if err != nil {
		return res, fmt.Errorf("opening the promotion PR: %w", err)
	}
	res.PR, res.Operation = pr, Operation(did)
	for _, o := range older {
		if err := CheckOwnCommits(ctx, f, o, trust); err != nil {
			res.Ignored = append(res.Ignored, fmt.Sprintf("%s is superseded but left open: %s", o.Ref(), marker.Text(err.Error(), 300)))
			continue
		}
		note := fmt.Sprintf("Superseded by %s, which promotes %s to %s.", pr.Ref(), ref, resolved.Tag)
		if err := f.Close(ctx, o, note); err != nil {
			return res, fmt.Errorf("closing the superseded promotion %s: %w", o.Ref(), err)
		}
		res.Superseded = append(res.Superseded, o)
	}
	res.Message = fmt.Sprintf("%s the promotion of %s from %q to %q: %s", res.Operation, ref, pol.Range, newRange, pr.Ref())
	if mode == MergeNone {
		return res, nil
	}
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{Auto: mode == MergeAuto})
	if err != nil {
		return res, fmt.Errorf("the promotion PR %s is open but merging it failed (merge it by hand): %w", pr.Ref(), err)
	}
	res.PR = merged
	if merged.State != forge.StateMerged {
		res.Message = fmt.Sprintf("%s the promotion of %s to %s; auto-merge is enabled on %s", res.Operation, ref, resolved.Tag, merged.Ref())
		return res, nil
	}
	res.Operation = Merged
	after, err := f.ReadFile(ctx, base, file)
	if err != nil {
		return res, fmt.Errorf("verifying %s on %s after the merge: %w", file, base, err)
	}
	if p, err := imagepolicy.Find(after, ref); err != nil || p.Range != newRange {
		return res, fmt.Errorf("after merging %s, %s on %s does not pin %q (%v): check the base branch", merged.Ref(), ref, base, newRange, err)
	}
	res.Message = fmt.Sprintf("merged the promotion of %s from %q to %q: %s", ref, pol.Range, newRange, merged.Ref())
	if merged.Note != "" {
		res.Message += " (" + merged.Note + ")"
	}
	return res, nil
}

// splitImage reads the image input: a repository, or "repo@sha256:…" whose digest must then
// match digest when both are given.
func splitImage(image, digest string) (repo, want string, err error) {
	repo, at, hasAt := strings.Cut(strings.TrimSpace(image), "@")
	if hasAt {
		if !strings.HasPrefix(at, "sha256:") || len(at) != len("sha256:")+64 {
			return "", "", fmt.Errorf("%w: image %q: the part after @ must be a sha256 digest (sha256:<64 hex>)", ErrInvalidInput, image)
		}
		if digest != "" && digest != at {
			return "", "", fmt.Errorf("%w: image %q carries digest %s but digest is %s; give one of them", ErrInvalidInput, image, at, digest)
		}
		digest = at
	}
	if strings.ContainsFunc(repo, func(r rune) bool { return r <= ' ' || r == 0x7F || strings.ContainsRune("<>`|\"'$\\", r) }) {
		return "", "", fmt.Errorf("%w: image %q: a repository name has no spaces, quotes or control characters (e.g. ghcr.io/org/agent)", ErrInvalidInput, image)
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		return "", "", fmt.Errorf("%w: image %q: give the repository without a tag (the tag comes from version)", ErrInvalidInput, image)
	}
	if digest != "" && (!strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64) {
		return "", "", fmt.Errorf("%w: digest %q: want sha256:<64 hex>", ErrInvalidInput, digest)
	}
	return repo, digest, nil
}

// checkHold refuses a version that a merged revert rolled back, unless forced. Only reverts and
// promotions by trusted authors count: anyone can write a marker.
func checkHold(ctx context.Context, f forge.Forge, base string, ref imagepolicy.Ref, version string, force bool, trust Trust) error {
	reverts, err := f.Find(ctx, forge.Query{Base: base, State: forge.StateMerged, Text: []string{"<!-- flightline:revert ", `"policy":"` + ref.String() + `"`}})
	if err != nil {
		return fmt.Errorf("looking for rollbacks of %s: %w", ref, err)
	}
	want, _ := imagepolicy.ParseVersion(version)
	for _, rv := range reverts {
		m, err := marker.ParseRevert(rv.Body)
		if err != nil || m.Policy != ref.String() || rv.Fork || !trust.Trusted(rv.Author) {
			continue
		}
		orig, err := f.Get(ctx, m.Reverts)
		if err != nil || orig.Fork || !trust.Trusted(orig.Author) {
			continue
		}
		p, err := marker.ParsePromotion(orig.Body)
		if err != nil {
			continue
		}
		if v, err := imagepolicy.ParseVersion(p.Tag); err == nil && v.Equal(want) {
			if force {
				return nil
			}
			return fmt.Errorf("%w: %s %s was rolled back by %s (%s); fix it and promote a newer version, or set force to promote it anyway", ErrOnHold, ref, p.Tag, rv.Ref(), marker.Text(m.Reason, 200))
		}
	}
	return nil
}

// openPromotions lists the open promotions of the policy (same file) for versions below version
// that are Flightline's own (a trusted author, the platform repository's branch of the name
// promote gives it), returns the open PR of branch if there is one, and names the PRs that
// carry a promotion marker of the policy but are someone else's (they are left alone).
func openPromotions(ctx context.Context, f forge.Forge, base string, ref imagepolicy.Ref, file, branch, version string, trust Trust) (older []forge.PR, existing forge.PR, ignored []string, err error) {
	open, err := f.Find(ctx, promotionQuery(base, ref, forge.StateOpen))
	if err != nil {
		return nil, forge.PR{}, nil, fmt.Errorf("looking for open promotions of %s: %w", ref, err)
	}
	v, _ := imagepolicy.ParseVersion(version)
	for _, pr := range open {
		if pr.Branch == branch && !pr.Fork {
			existing = pr
			continue
		}
		m, err := marker.ParsePromotion(pr.Body)
		if err != nil || m.Policy != ref.String() || m.File != file {
			continue
		}
		ov, err := imagepolicy.ParseVersion(m.Tag)
		if err != nil || !ov.LessThan(v) {
			continue
		}
		if pr.Fork || !trust.Trusted(pr.Author) || pr.Branch != BranchName(ref, m.Tag) {
			ignored = append(ignored, fmt.Sprintf("%s (by %s, branch %s) is not Flightline's own promotion: left open", pr.Ref(), marker.Text(pr.Author, 60), marker.Text(pr.Branch, 120)))
			continue
		}
		older = append(older, pr)
	}
	return older, existing, ignored, nil
}

// memoTags lists a repository's tags once per run.
type memoTags struct {
	src  imagepolicy.TagSource
	repo string
	tags []string
}

func (m *memoTags) Tags(ctx context.Context, repo string) ([]string, error) {
	if m.tags != nil && m.repo == repo {
		return m.tags, nil
	}
	tags, err := m.src.Tags(ctx, repo)
	if err != nil {
		return nil, err
	}
	m.repo, m.tags = repo, tags
	return tags, nil
}

func (m *memoTags) Digest(ctx context.Context, repo, tag string) (string, error) {
	return m.src.Digest(ctx, repo, tag)
}

// diff is the unified diff of the one line that changed.
func diff(file string, before, after []byte) string {
	b := strings.Split(string(before), "\n")
	a := strings.Split(string(after), "\n")
	for i := 0; i < len(b) && i < len(a); i++ {
		if b[i] != a[i] {
			return fmt.Sprintf("--- a/%s\n+++ b/%s\n@@ -%d +%d @@\n-%s\n+%s\n", file, file, i+1, i+1,
				strings.TrimSuffix(b[i], "\r"), strings.TrimSuffix(a[i], "\r"))
		}
	}
	return ""
}

func body(r Result, m marker.Promotion) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promote `%s` in `%s` from `%s` to `%s`.\n\n", m.Policy, m.File, m.PreviousRange, m.Range)
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| range | `%s` → `%s` |\n", m.PreviousRange, m.Range)
	fmt.Fprintf(&b, "| tag | `%s` |\n| digest | `%s` |\n| image | `%s` |\n| scan | %s |\n\n", m.Tag, m.Digest, m.Image, scanCell(m.Scan, r.ScanEvidence))
	fmt.Fprintf(&b, "```diff\n%s```\n\n", r.Diff)
	b.WriteString("Roll back by reverting this PR (`flightline rollback`, or the rollback workflow).\n\n")
	b.WriteString(m.String())
	b.WriteString("\n")
	return b.String()
}
