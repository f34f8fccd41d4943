package forge

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Errors callers branch on. Implementations wrap them with the details (which PR, which ref).
var (
	// ErrNotFound: the file, ref or pull request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a merge or revert cannot be applied cleanly to the base branch.
	ErrConflict = errors.New("conflict")
	// ErrStale: a compare-and-swap lost: a ref moved between read and write. Re-read and retry.
	ErrStale = errors.New("ref moved concurrently")
	// ErrNotMergeable: the PR cannot be merged now and was left open (required review, merge
	// queue, checks pending); the error says what is waiting.
	ErrNotMergeable = errors.New("pull request not mergeable now")
	// ErrEmpty: the change or revert would not change any file.
	ErrEmpty = errors.New("change is empty")
	// ErrExists: the branch for a new PR already exists.
	ErrExists = errors.New("branch already exists")
	// ErrIdentityUnknown: the forge cannot tell who its token acts as (GitHub answers GET /user
	// with 403 to an App installation token).
	ErrIdentityUnknown = errors.New("the token's identity is unknown")
)

// State of a pull request.
type State string

// The states a PR can be in.
const (
	StateOpen   State = "open"
	StateMerged State = "merged"
	StateClosed State = "closed"
)

// PR is a pull request as Flightline sees it. On GitHub it has a number and a URL; on the local
// git forge an open PR is its branch and a merged one its merge commit (Number is 0, URL is the
// branch name).
type PR struct {
	Number   int       // GitHub's PR number; 0 on the local git forge
	URL      string    // web URL on GitHub; the branch name on the local git forge
	Title    string    // first line of the PR
	Body     string    // the PR description (markers included)
	State    State     // open, merged or closed
	Branch   string    // head branch
	Base     string    // base branch
	HeadSHA  string    // tip of the head branch
	MergeSHA string    // the merge commit on the base branch once merged
	Labels   []string  // labels, sorted
	Merged   time.Time // when it was merged (zero if not)
	// AutoMerge is set when Merge enabled auto-merge and the PR is still open.
	AutoMerge bool
	// Author is who opened the PR: a GitHub login (an App as SLUG[bot]); on the local git forge
	// the email of the author of the PR's commit.
	Author string
	// Fork is set when the head branch lives in another repository (a fork): such a PR's
	// Branch is not a branch of the platform repository.
	Fork bool
}

// Commit is a commit of the platform repository, as the trust checks read it.
type Commit struct {
	SHA     string
	Parents []string
	Author  string   // as PR.Author: a GitHub login, or an email on the local git forge
	Files   []string // the paths it changes against its first parent (filled by Forge.Commit only)
}

// ID is how Flightline names the PR in markers, outputs and the rollback `pr` input: the number
// when there is one, else the merge commit SHA when merged, else the branch.
func (p PR) ID() string {
	switch {
	case p.Number > 0:
		return strconv.Itoa(p.Number)
	case p.MergeSHA != "":
		return p.MergeSHA
	default:
		return p.Branch
	}
}

// Ref is how to show the PR to a person: "#42" or the local ID.
func (p PR) Ref() string {
	if p.Number > 0 {
		return "#" + strconv.Itoa(p.Number)
	}
	if p.MergeSHA != "" {
		return shortSHA(p.MergeSHA) + " (" + p.Branch + ")"
	}
	return p.Branch
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Change is a proposed pull request: one commit on Branch, made on top of BaseSHA, setting the
// content of Files.
type Change struct {
	Base    string            // base branch
	BaseSHA string            // the base commit the content was computed from (required): the commit's parent
	Branch  string            // head branch to create or update
	Title   string            // PR title (one line)
	Body    string            // PR body, marker included
	Files   map[string][]byte // path → new content
	Labels  []string          // labels to set (created if missing where the forge has a label list)
}

// Result says what Propose did.
type Result string

// What Propose can do.
const (
	Created   Result = "created"   // a new branch and PR
	Updated   Result = "updated"   // the existing PR for the branch now carries this change
	Unchanged Result = "unchanged" // the existing PR already carried exactly this change
)

// Query selects pull requests for Find.
type Query struct {
	Base  string   // base branch (required)
	State State    // StateOpen or StateMerged
	Text  []string // every string must occur in the PR body (e.g. a marker prefix and a policy)
	Limit int      // at most this many results; 0 means the forge's default (at least 50)
}

// MergeMethod is how a PR lands on its base (GitHub's merge methods).
type MergeMethod string

// Merge methods. The empty method is the forge's default (GitHub: squash; local git forge: a
// merge commit, the only method it has).
const (
	MethodMerge  MergeMethod = "merge"  // a merge commit
	MethodSquash MergeMethod = "squash" // one commit with the PR's changes
	MethodRebase MergeMethod = "rebase" // the PR's commits replayed on the base
)

// MergeOptions say how to merge.
type MergeOptions struct {
	// Method is the merge method ("" = the forge's default).
	Method MergeMethod
	// Auto enables auto-merge where the forge has it (GitHub): the PR merges when its checks and
	// reviews allow, and Merge returns it still open with AutoMerge set. Where the forge has no
	// such gate (the local git forge), the PR merges now.
	Auto bool
}

// RevertRequest describes the revert PR of a merged PR.
type RevertRequest struct {
	Branch string   // head branch for the revert (GitHub's revertPullRequest may choose its own)
	Title  string   // PR title
	Body   string   // PR body, revert marker included
	Labels []string // labels to set
}

// Forge is the platform repository. Every method takes ctx first and does I/O. Implementations:
// the local git forge (package gitforge) and GitHub.
type Forge interface {
	// DefaultBranch is the branch PRs target when none is given.
	DefaultBranch(ctx context.Context) (string, error)
	// Head returns the commit SHA at the tip of branch (ErrNotFound).
	Head(ctx context.Context, branch string) (string, error)
	// ReadFile returns the content of path at ref, a branch or commit SHA (ErrNotFound).
	ReadFile(ctx context.Context, ref, path string) ([]byte, error)
	// Propose creates the PR for c.Branch, or updates it when one is open, with one commit on
	// top of c.BaseSHA. Branch writes are compare-and-swap (ErrStale when it lost a race).
	// Nothing is left behind when it fails.
	Propose(ctx context.Context, c Change) (PR, Result, error)
	// Get returns one PR by ID (a number on GitHub; a merge SHA, its prefix or a branch on the
	// local git forge). ErrNotFound.
	Get(ctx context.Context, id string) (PR, error)
	// Find returns the PRs matching q, newest first (merged: by merge time).
	Find(ctx context.Context, q Query) ([]PR, error)
	// Merge merges an open PR into its base (ErrConflict, ErrStale, ErrNotMergeable) and returns
	// it updated.
	Merge(ctx context.Context, pr PR, opts MergeOptions) (PR, error)
	// Revert opens a PR that reverts the merged pr on its base (ErrConflict when it cannot apply
	// cleanly; nothing is left behind then).
	Revert(ctx context.Context, pr PR, r RevertRequest) (PR, error)
	// Close closes an open PR with a comment saying why and deletes its branch (never a fork's,
	// and only while the branch is still at the PR's head).
	Close(ctx context.Context, pr PR, comment string) error

	// Identity is who the forge's token acts as, as PR.Author names it (ErrIdentityUnknown
	// when the forge cannot tell: a GitHub App installation token).
	Identity(ctx context.Context) (string, error)
	// Commit reads one commit with the files it changes against its first parent (ErrNotFound).
	Commit(ctx context.Context, sha string) (Commit, error)
	// History lists at most limit commits, newest first, that changed path on branch: on the
	// local git forge the first-parent history; on GitHub its list of commits for a path (the
	// squash or merge commits of a squash- or rebase-merged base, the PR's commits for merge
	// commits). Files is not filled.
	History(ctx context.Context, branch, path string, limit int) ([]Commit, error)
	// MergedPR returns the merged PR into base that commit sha belongs to: its merge (or
	// squash) commit or a commit of its head (ErrNotFound when sha came by another way).
	MergedPR(ctx context.Context, base, sha string) (PR, error)
	// PRCommits lists the commits of a PR that are not on its base, oldest first.
	PRCommits(ctx context.Context, pr PR) ([]Commit, error)
}
