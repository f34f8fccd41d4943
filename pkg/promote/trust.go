package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
)

// ErrUnverified: a marker does not match what the platform repository's base branch proves
// (who opened the PR, from which branch, what its merge commit changed); it is not acted on.
var ErrUnverified = errors.New("marker not verified against the platform repository")

// ErrUntrusted: a PR or a branch holds the work of someone Flightline does not trust, and
// acting on it would merge, close or delete that work.
var ErrUntrusted = errors.New("not Flightline's own work")

// Trust is whose PRs and commits Flightline acts on: the trusted authors (GitHub logins, an
// App as SLUG[bot]; emails on the local git forge).
type Trust struct {
	Authors []string
}

// Trusted reports whether author is one of the trusted authors (GitHub logins are
// case-insensitive).
func (t Trust) Trusted(author string) bool {
	return author != "" && slices.ContainsFunc(t.Authors, func(a string) bool { return strings.EqualFold(a, author) })
}

func (t Trust) String() string { return strings.Join(t.Authors, ", ") }

var loginRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*(\[bot\])?$`)

// ResolveTrust returns whom to trust: the given authors and, when appSlug is set, the App
// (SLUG[bot]); when neither is given, the forge's own identity (GET /user for a PAT). An App
// installation token cannot tell its identity: then appSlug or authors must be given, and the
// error says so.
func ResolveTrust(ctx context.Context, f forge.Forge, authors []string, appSlug string) (Trust, error) {
	var t Trust
	for _, a := range authors {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !loginRE.MatchString(a) {
			return t, fmt.Errorf("%w: trusted-authors: %q is not a login (an App is SLUG[bot])", ErrInvalidInput, a)
		}
		t.Authors = append(t.Authors, a)
	}
	if s := strings.TrimSpace(appSlug); s != "" {
		s = strings.TrimSuffix(s, "[bot]")
		if !loginRE.MatchString(s) {
			return t, fmt.Errorf("%w: app-slug %q: give the App's slug, as in github.com/apps/SLUG", ErrInvalidInput, appSlug)
		}
		t.Authors = append(t.Authors, s+"[bot]")
	}
	if len(t.Authors) > 0 {
		return t, nil
	}
	who, err := f.Identity(ctx)
	if errors.Is(err, forge.ErrIdentityUnknown) {
		return t, fmt.Errorf("%w: trusted-authors is empty and GitHub does not tell an App installation token its identity: set app-slug to the App's slug (its PRs are by SLUG[bot]), or trusted-authors to the logins that run promote and rollback: %w", ErrInvalidInput, err)
	}
	if err != nil {
		return t, fmt.Errorf("finding the token's identity for trusted-authors: %w", err)
	}
	t.Authors = []string{who}
	return t, nil
}

// Verified is a merged promotion whose marker the base branch proves: its merge commit changes
// exactly the marker's file against its first parent, and in it exactly the policy's range, from
// PreviousRange to Range; its PR came from the platform repository's own branch of the
// expected name, opened by a trusted author. Marker holds only validated values: the ranges and
// image as the file says, the tag parsed as Flux parses tags and selected by the range.
type Verified struct {
	PR     forge.PR
	Marker marker.Promotion
	Ref    imagepolicy.Ref
	Parent string // the merge commit's first parent
	Before []byte // the file at Parent
	After  []byte // the file at the merge commit
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// VerifyPromotion checks a merged promotion PR against the base branch (one commit and two
// file reads) and returns its validated values, or ErrUnverified saying what does not match.
func VerifyPromotion(ctx context.Context, f forge.Forge, base string, pr forge.PR, trust Trust) (Verified, error) {
	fail := func(format string, a ...any) (Verified, error) {
		return Verified{}, fmt.Errorf("%w: %s %s", ErrUnverified, pr.Ref(), fmt.Sprintf(format, a...))
	}
	m, err := marker.ParsePromotion(pr.Body)
	if err != nil {
		return fail("is not a Flightline promotion: %v", err)
	}
	ref, err := imagepolicy.ParseRef(m.Policy)
	if err != nil {
		return fail("names policy %q: %v", m.Policy, err)
	}
	if pr.State != forge.StateMerged || pr.MergeSHA == "" {
		return fail("is %s, not merged", pr.State)
	}
	if pr.Base != "" && pr.Base != base {
		return fail("merged into %s, not %s", pr.Base, base)
	}
	if pr.Fork {
		return fail("came from a fork, not from a branch of the platform repository")
	}
	if _, err := imagepolicy.ParseVersion(m.Tag); err != nil {
		return fail("names tag %q: %v", m.Tag, err)
	}
	if want := BranchName(ref, m.Tag); pr.Branch != want {
		return fail("came from branch %q, not %q", pr.Branch, want)
	}
	if !trust.Trusted(pr.Author) {
		return fail("was opened by %q, who is not a trusted author (trusted: %s; set trusted-authors)", pr.Author, trust)
	}
	c, err := f.Commit(ctx, pr.MergeSHA)
	if err != nil {
		return Verified{}, fmt.Errorf("verifying %s: %w", pr.Ref(), err)
	}
	if len(c.Parents) == 0 {
		return fail("has a merge commit without a parent")
	}
	if len(c.Files) != 1 || c.Files[0] != m.File {
		return fail("changed %q on %s, not only the marker's file %q", c.Files, base, m.File)
	}
	before, err := f.ReadFile(ctx, c.Parents[0], m.File)
	if err != nil {
		return Verified{}, fmt.Errorf("verifying %s: %w", pr.Ref(), err)
	}
	after, err := f.ReadFile(ctx, pr.MergeSHA, m.File)
	if err != nil {
		return Verified{}, fmt.Errorf("verifying %s: %w", pr.Ref(), err)
	}
	pb, err := imagepolicy.Find(before, ref)
	if err != nil {
		return fail("set a range the policy did not have before: %v", err)
	}
	pa, err := imagepolicy.Find(after, ref)
	if err != nil {
		return fail("left no range for the policy: %v", err)
	}
	if pb.Range != m.PreviousRange || pa.Range != m.Range {
		return fail("changed %s from %q to %q, not from %q to %q as its marker says", ref, pb.Range, pa.Range, m.PreviousRange, m.Range)
	}
	if err := imagepolicy.ValidateRange(pa.Range); err != nil {
		return fail("set an invalid range: %v", err)
	}
	if err := imagepolicy.ValidateRange(pb.Range); err != nil {
		return fail("replaced an invalid range: %v", err)
	}
	if edited, err := imagepolicy.SetRange(before, ref, pa.Range); err != nil || !bytes.Equal(edited, after) {
		return fail("changed more in %s than the range of %s", m.File, ref)
	}
	if sel, err := imagepolicy.Select(pa.Range, []string{m.Tag}); err != nil || sel != m.Tag {
		return fail("names tag %q, which its range %q does not select", m.Tag, pa.Range)
	}
	if !digestRE.MatchString(m.Digest) {
		m.Digest = ""
	}
	m.Image = ""
	if img, err := imagepolicy.ImageOf(after, ref); err == nil {
		m.Image = img
	}
	switch m.Scan {
	case marker.ScanPassed, marker.ScanFailed:
	default:
		m.Scan = marker.ScanUnknown
	}
	m.Policy, m.PreviousRange, m.Range = ref.String(), pb.Range, pa.Range
	return Verified{PR: pr, Marker: m, Ref: ref, Parent: c.Parents[0], Before: before, After: after}, nil
}

// CheckOwnCommits refuses a PR whose branch holds a commit by someone not trusted: merging,
// updating or closing it would act on their work.
func CheckOwnCommits(ctx context.Context, f forge.Forge, pr forge.PR, trust Trust) error {
	if pr.Fork {
		return fmt.Errorf("%w: %s comes from a fork", ErrUntrusted, pr.Ref())
	}
	if !trust.Trusted(pr.Author) {
		return fmt.Errorf("%w: %s was opened by %q, not by a trusted author (%s)", ErrUntrusted, pr.Ref(), pr.Author, trust)
	}
	commits, err := f.PRCommits(ctx, pr)
	if err != nil {
		return err
	}
	for _, c := range commits {
		if !trust.Trusted(c.Author) {
			return fmt.Errorf("%w: branch %s of %s holds commit %s by %q, who is not a trusted author (%s)", ErrUntrusted, pr.Branch, pr.Ref(), shortSHA(c.SHA), c.Author, trust)
		}
	}
	return nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
