package gitforge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/forge"
)

// BranchPrefix is the namespace of the branches that are PRs on this forge.
const BranchPrefix = "flightline/"

const zeroOID = "0000000000000000000000000000000000000000"

// Forge is the local git forge (DESIGN.md §3): a PR is a branch under flightline/ whose tip
// commit message is the PR's title and body; merging is a --no-ff merge commit on the base
// branch that repeats the message (marker included); a merged PR is its merge commit; closing
// deletes the branch; base branch and labels are commit trailers. It touches only refs and
// objects (never HEAD, the index or the working tree), so the repository may be bare or a clone
// with the base branch checked out (its working tree then lags behind the branch until the user
// resets it). Every ref write is compare-and-swap (`git update-ref REF NEW OLD`).
type Forge struct {
	dir       string
	git       string
	name      string
	email     string
	now       func() time.Time
	scanLimit int
}

var _ forge.Forge = (*Forge)(nil)

// Option configures a Forge.
type Option func(*Forge)

// WithGit sets the git binary (default: "git" from PATH).
func WithGit(path string) Option { return func(f *Forge) { f.git = path } }

// WithIdentity sets the author and committer of every commit the forge makes (default:
// "Flightline" <flightline@localhost>): a fresh machine has no git identity, so it is always
// given explicitly.
func WithIdentity(name, email string) Option {
	return func(f *Forge) { f.name, f.email = name, email }
}

// WithClock sets the time source for commit dates (default: time.Now).
func WithClock(now func() time.Time) Option { return func(f *Forge) { f.now = now } }

// WithScanLimit bounds how many merge commits of the base branch Find reads (default: 1000).
func WithScanLimit(n int) Option { return func(f *Forge) { f.scanLimit = n } }

// Open returns the forge for the git repository at dir (bare, or a clone).
func Open(ctx context.Context, dir string, opts ...Option) (*Forge, error) {
	f := &Forge{dir: dir, git: "git", name: "Flightline", email: "flightline@localhost", now: time.Now, scanLimit: 1000}
	for _, o := range opts {
		o(f)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("platform directory %q: %w", dir, err)
	}
	f.dir = abs
	if _, err := f.run(ctx, nil, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("platform directory %q is not a git repository (give a bare repository or a clone): %w", dir, err)
	}
	return f, nil
}

// Dir is the repository directory.
func (f *Forge) Dir() string { return f.dir }

// gitError is a failed git command.
type gitError struct {
	args   []string
	stderr string
	code   int
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: exit %d: %s", strings.Join(e.args, " "), e.code, strings.TrimSpace(e.stderr))
}

func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

func (f *Forge) run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	return f.runEnv(ctx, nil, stdin, args...)
}

func (f *Forge) runEnv(ctx context.Context, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, f.git, append([]string{"-C", f.dir}, args...)...)
	base := cmd.Environ()
	clean := base[:0]
	for _, kv := range base {
		// Variables that would point git at another repository or index, or prompt.
		if strings.HasPrefix(kv, "GIT_DIR=") || strings.HasPrefix(kv, "GIT_WORK_TREE=") ||
			strings.HasPrefix(kv, "GIT_INDEX_FILE=") || strings.HasPrefix(kv, "GIT_OBJECT_DIRECTORY=") ||
			strings.HasPrefix(kv, "GIT_COMMON_DIR=") || strings.HasPrefix(kv, "GIT_NAMESPACE=") {
			continue
		}
		clean = append(clean, kv)
	}
	date := fmt.Sprintf("@%d +0000", f.now().Unix())
	cmd.Env = append(clean,
		"LC_ALL=C", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+f.name, "GIT_AUTHOR_EMAIL="+f.email, "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME="+f.name, "GIT_COMMITTER_EMAIL="+f.email, "GIT_COMMITTER_DATE="+date,
	)
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), &gitError{args: args, stderr: stderr.String(), code: ee.ExitCode()}
		}
		return "", fmt.Errorf("running git %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

func (f *Forge) line(ctx context.Context, args ...string) (string, error) {
	out, err := f.run(ctx, nil, args...)
	return strings.TrimSpace(out), err
}

// DefaultBranch is the branch HEAD names (it is read, never changed).
func (f *Forge) DefaultBranch(ctx context.Context) (string, error) {
	b, err := f.line(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", fmt.Errorf("reading the default branch of %s (HEAD is detached? give base-branch): %w", f.dir, err)
	}
	return b, nil
}

// Head returns the tip of branch.
func (f *Forge) Head(ctx context.Context, branch string) (string, error) {
	sha, err := f.line(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("branch %q: %w", branch, forge.ErrNotFound)
		}
		return "", fmt.Errorf("reading branch %q: %w", branch, err)
	}
	return sha, nil
}

// commit resolves a branch name or a commit SHA (or prefix) to a full commit SHA.
func (f *Forge) commit(ctx context.Context, ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("ref %q: %w", ref, forge.ErrNotFound)
	}
	if !isHex(ref) {
		if sha, err := f.Head(ctx, ref); err == nil {
			return sha, nil
		}
	}
	sha, err := f.line(ctx, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 || exitCode(err) == 128 {
			return "", fmt.Errorf("ref %q: %w", ref, forge.ErrNotFound)
		}
		return "", fmt.Errorf("resolving %q: %w", ref, err)
	}
	return sha, nil
}

// ReadFile returns path's content at ref (a branch, or a commit SHA) with one git process.
func (f *Forge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	rev := ref
	if !isHex(ref) {
		if err := checkBranch(ref); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		rev = "refs/heads/" + ref
	}
	out, err := f.run(ctx, nil, "cat-file", "blob", rev+":"+path)
	if err != nil {
		if exitCode(err) == 128 {
			return nil, fmt.Errorf("reading %s at %s: %w", path, ref, forge.ErrNotFound)
		}
		return nil, fmt.Errorf("reading %s at %s: %w", path, ref, err)
	}
	return []byte(out), nil
}

func isHex(s string) bool {
	return len(s) >= 7 && strings.Trim(s, "0123456789abcdef") == ""
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// message is the commit message of a PR: title, body, then a trailer block.
func message(title, body string, trailers [][2]string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(title))
	b.WriteString("\n\n")
	if body = strings.TrimSpace(body); body != "" {
		b.WriteString(body)
		b.WriteString("\n\n")
	}
	for _, t := range trailers {
		b.WriteString(t[0] + ": " + t[1] + "\n")
	}
	return b.String()
}

var trailerKeys = []string{"Base", "Branch", "Label", "Reverts"}

// parsed is a PR commit message taken apart.
type parsed struct {
	title, body string
	base        string
	branch      string
	labels      []string
}

func parseMessage(msg string) parsed {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	title, rest, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	p := parsed{title: strings.TrimSpace(title)}
	rest = strings.TrimSpace(rest)
	paras := strings.Split(rest, "\n\n")
	last := paras[len(paras)-1]
	isTrailers := last != ""
	for l := range strings.Lines(last) {
		k, _, ok := strings.Cut(strings.TrimSpace(l), ": ")
		if !ok || !slices.Contains(trailerKeys, k) {
			isTrailers = false
		}
	}
	if isTrailers {
		for l := range strings.Lines(last) {
			k, v, _ := strings.Cut(strings.TrimSpace(l), ": ")
			switch k {
			case "Base":
				p.base = v
			case "Branch":
				p.branch = v
			case "Label":
				p.labels = append(p.labels, v)
			}
		}
		paras = paras[:len(paras)-1]
	}
	p.body = strings.TrimSpace(strings.Join(paras, "\n\n"))
	sort.Strings(p.labels)
	return p
}

func prTrailers(base, branch string, labels []string, extra ...[2]string) [][2]string {
	t := [][2]string{{"Base", base}, {"Branch", branch}}
	ls := slices.Clone(labels)
	sort.Strings(ls)
	for _, l := range slices.Compact(ls) {
		if l = strings.TrimSpace(l); l != "" {
			t = append(t, [2]string{"Label", l})
		}
	}
	return append(t, extra...)
}

// commitInfo is what Find and Get read of a commit.
type commitInfo struct {
	sha     string
	parents []string
	tree    string
	time    time.Time
	author  string // author email
	msg     string
}

// logFormat is what readCommit and Find read of a commit (parseCommit takes it apart).
const logFormat = "--format=%H%n%P%n%T%n%ct%n%ae%n%B"

func (f *Forge) readCommit(ctx context.Context, sha string) (commitInfo, error) {
	out, err := f.run(ctx, nil, "log", "-1", "-z", logFormat, sha)
	if err != nil {
		return commitInfo{}, fmt.Errorf("reading commit %s: %w", short(sha), err)
	}
	return parseCommit(strings.TrimSuffix(out, "\x00"))
}

func parseCommit(rec string) (commitInfo, error) {
	parts := strings.SplitN(rec, "\n", 6)
	if len(parts) < 6 {
		return commitInfo{}, fmt.Errorf("unexpected git log record %q", rec)
	}
	ct, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return commitInfo{}, fmt.Errorf("commit %s time %q: %w", parts[0], parts[3], err)
	}
	return commitInfo{sha: parts[0], parents: strings.Fields(parts[1]), tree: parts[2], time: time.Unix(ct, 0).UTC(),
		author: parts[4], msg: parts[5]}, nil
}

// openPR reads the PR whose branch tip is sha.
func openPR(branch string, c commitInfo) forge.PR {
	p := parseMessage(c.msg)
	return forge.PR{URL: branch, Title: p.title, Body: p.body, State: forge.StateOpen, Branch: branch,
		Base: p.base, HeadSHA: c.sha, Labels: p.labels, Author: c.author}
}

// mergedPR reads the PR merged by merge commit c; its author is the author of the PR's commit
// (the merge's second parent), which the caller fills in.
func mergedPR(c commitInfo) forge.PR {
	p := parseMessage(c.msg)
	pr := forge.PR{URL: p.branch, Title: p.title, Body: p.body, State: forge.StateMerged, Branch: p.branch,
		Base: p.base, MergeSHA: c.sha, Labels: p.labels, Merged: c.time}
	if len(c.parents) == 2 {
		pr.HeadSHA = c.parents[1]
	}
	return pr
}

// buildTree writes the tree of base with files replaced, through a throw-away index file.
func (f *Forge) buildTree(ctx context.Context, base string, files map[string][]byte) (string, error) {
	tmp, err := os.MkdirTemp("", "flightline-index-")
	if err != nil {
		return "", fmt.Errorf("creating a temporary index: %w", err)
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := f.runEnv(ctx, env, nil, "read-tree", base+"^{tree}"); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
			return "", fmt.Errorf("file path %q: want a relative path inside the repository", p)
		}
		blob, err := f.run(ctx, files[p], "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		mode := "100644"
		if ls, err := f.line(ctx, "ls-tree", base, "--", p); err == nil && ls != "" {
			mode = strings.Fields(ls)[0]
		}
		if _, err := f.runEnv(ctx, env, nil, "update-index", "--add", "--cacheinfo", mode+","+strings.TrimSpace(blob)+","+p); err != nil {
			return "", err
		}
	}
	return f.lineEnv(ctx, env, "write-tree")
}

func (f *Forge) lineEnv(ctx context.Context, env []string, args ...string) (string, error) {
	out, err := f.runEnv(ctx, env, nil, args...)
	return strings.TrimSpace(out), err
}

func (f *Forge) commitTree(ctx context.Context, tree, msg string, parents ...string) (string, error) {
	args := []string{"commit-tree", "--no-gpg-sign", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	out, err := f.run(ctx, []byte(msg), append(args, "-F", "-")...)
	return strings.TrimSpace(out), err
}

// updateRef moves ref from old to new (old zeroOID: ref must not exist; new "": delete).
func (f *Forge) updateRef(ctx context.Context, ref, newSHA, old string) error {
	var err error
	if newSHA == "" {
		_, err = f.run(ctx, nil, "update-ref", "-m", "flightline", "-d", ref, old)
	} else {
		_, err = f.run(ctx, nil, "update-ref", "-m", "flightline", ref, newSHA, old)
	}
	if err != nil {
		if exitCode(err) > 0 {
			return fmt.Errorf("updating %s (expected %s): %w: %v", ref, short(old), forge.ErrStale, err)
		}
		return err
	}
	return nil
}

func (f *Forge) treeOf(ctx context.Context, commit string) (string, error) {
	return f.line(ctx, "rev-parse", commit+"^{tree}")
}

func checkBranch(name string) error {
	if name == "" || strings.ContainsAny(name, " ~^:?*[\\") || strings.HasPrefix(name, "-") || strings.Contains(name, "..") {
		return fmt.Errorf("branch name %q is not valid for git", name)
	}
	return nil
}

// Propose creates or updates the PR branch c.Branch with one commit on top of c.BaseSHA.
func (f *Forge) Propose(ctx context.Context, c forge.Change) (forge.PR, forge.Result, error) {
	if c.Base == "" || c.BaseSHA == "" || c.Title == "" || len(c.Files) == 0 {
		return forge.PR{}, "", fmt.Errorf("proposing %q: base, base SHA, title and files are required", c.Branch)
	}
	if err := checkBranch(c.Branch); err != nil {
		return forge.PR{}, "", err
	}
	if !strings.HasPrefix(c.Branch, BranchPrefix) {
		return forge.PR{}, "", fmt.Errorf("branch %q: PR branches on the local git forge live under %s", c.Branch, BranchPrefix)
	}
	if strings.Contains(c.Title, "\n") {
		return forge.PR{}, "", fmt.Errorf("PR title %q: must be one line", c.Title)
	}
	if _, err := f.Head(ctx, c.Base); err != nil {
		return forge.PR{}, "", fmt.Errorf("base branch: %w", err)
	}
	baseSHA, err := f.commit(ctx, c.BaseSHA)
	if err != nil {
		return forge.PR{}, "", fmt.Errorf("base commit: %w", err)
	}
	tree, err := f.buildTree(ctx, baseSHA, c.Files)
	if err != nil {
		return forge.PR{}, "", fmt.Errorf("proposing %s: %w", c.Branch, err)
	}
	if baseTree, err := f.treeOf(ctx, baseSHA); err != nil {
		return forge.PR{}, "", err
	} else if baseTree == tree {
		return forge.PR{}, "", fmt.Errorf("proposing %s: the files already have this content at %s: %w", c.Branch, short(baseSHA), forge.ErrEmpty)
	}
	msg := message(c.Title, c.Body, prTrailers(c.Base, c.Branch, c.Labels))
	ref := "refs/heads/" + c.Branch
	old := zeroOID
	result := forge.Created
	if tip, err := f.Head(ctx, c.Branch); err == nil {
		cur, err := f.readCommit(ctx, tip)
		if err != nil {
			return forge.PR{}, "", err
		}
		if cur.tree == tree && len(cur.parents) == 1 && cur.parents[0] == baseSHA && strings.TrimSpace(cur.msg) == strings.TrimSpace(msg) {
			return openPR(c.Branch, cur), forge.Unchanged, nil
		}
		old, result = tip, forge.Updated
	} else if !errors.Is(err, forge.ErrNotFound) {
		return forge.PR{}, "", err
	}
	sha, err := f.commitTree(ctx, tree, msg, baseSHA)
	if err != nil {
		return forge.PR{}, "", fmt.Errorf("proposing %s: %w", c.Branch, err)
	}
	if err := f.updateRef(ctx, ref, sha, old); err != nil {
		return forge.PR{}, "", fmt.Errorf("proposing %s: %w", c.Branch, err)
	}
	ci, err := f.readCommit(ctx, sha)
	if err != nil {
		return forge.PR{}, "", err
	}
	return openPR(c.Branch, ci), result, nil
}

// Get returns the PR named id: a branch under flightline/ (open), or a merge commit SHA or
// prefix on a branch (merged).
func (f *Forge) Get(ctx context.Context, id string) (forge.PR, error) {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, BranchPrefix) {
		tip, err := f.Head(ctx, id)
		if err != nil {
			return forge.PR{}, fmt.Errorf("PR %q: %w", id, err)
		}
		c, err := f.readCommit(ctx, tip)
		if err != nil {
			return forge.PR{}, err
		}
		return openPR(id, c), nil
	}
	if id == "" || strings.Trim(id, "0123456789abcdef") != "" || len(id) < 7 {
		return forge.PR{}, fmt.Errorf("PR %q: on the local git forge a PR is a merge commit SHA (7+ hex digits) or a branch under %s: %w", id, BranchPrefix, forge.ErrNotFound)
	}
	sha, err := f.commit(ctx, id)
	if err != nil {
		return forge.PR{}, fmt.Errorf("PR %q: %w", id, err)
	}
	c, err := f.readCommit(ctx, sha)
	if err != nil {
		return forge.PR{}, err
	}
	if len(c.parents) != 2 {
		return forge.PR{}, fmt.Errorf("PR %q: commit %s is not a merge commit (a merged PR is its merge commit): %w", id, short(sha), forge.ErrNotFound)
	}
	return f.withAuthor(ctx, mergedPR(c))
}

// withAuthor sets a merged PR's author: the author of its head commit.
func (f *Forge) withAuthor(ctx context.Context, pr forge.PR) (forge.PR, error) {
	if pr.HeadSHA == "" {
		return pr, nil
	}
	a, err := f.line(ctx, "log", "-1", "--format=%ae", pr.HeadSHA)
	if err != nil {
		return forge.PR{}, fmt.Errorf("reading the author of %s: %w", short(pr.HeadSHA), err)
	}
	pr.Author = a
	return pr, nil
}

// Find lists open PR branches or merge commits of q.Base whose body contains every q.Text.
func (f *Forge) Find(ctx context.Context, q forge.Query) ([]forge.PR, error) {
	if q.Base == "" {
		return nil, errors.New("finding PRs: base branch is required")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	match := func(pr forge.PR) bool {
		for _, t := range q.Text {
			if !strings.Contains(pr.Body, t) {
				return false
			}
		}
		return true
	}
	var prs []forge.PR
	switch q.State {
	case forge.StateOpen:
		// One process for every open PR: ref, tip, commit time and message of each branch.
		out, err := f.run(ctx, nil, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(committerdate:unix)%00%(authoremail)%00%(contents)%00", "refs/heads/"+BranchPrefix)
		if err != nil {
			return nil, fmt.Errorf("listing PR branches: %w", err)
		}
		fields := strings.Split(out, "\x00")
		var times []int64
		for i := 0; i+4 < len(fields); i += 5 {
			branch := strings.TrimPrefix(strings.TrimPrefix(fields[i], "\n"), "refs/heads/")
			ct, _ := strconv.ParseInt(fields[i+2], 10, 64)
			author := strings.TrimSuffix(strings.TrimPrefix(fields[i+3], "<"), ">")
			if pr := openPR(branch, commitInfo{sha: fields[i+1], author: author, msg: fields[i+4]}); pr.Base == q.Base && match(pr) {
				prs = append(prs, pr)
				times = append(times, ct)
			}
		}
		idx := make([]int, len(prs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			if times[idx[a]] != times[idx[b]] {
				return times[idx[a]] > times[idx[b]]
			}
			return prs[idx[a]].Branch > prs[idx[b]].Branch
		})
		sorted := make([]forge.PR, len(prs))
		for i, j := range idx {
			sorted[i] = prs[j]
		}
		prs = sorted
	case forge.StateMerged:
		if _, err := f.Head(ctx, q.Base); err != nil {
			return nil, fmt.Errorf("finding merged PRs: %w", err)
		}
		out, err := f.run(ctx, nil, "log", "--first-parent", "--merges", "-z", "-n", strconv.Itoa(f.scanLimit),
			logFormat, "refs/heads/"+q.Base)
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", q.Base, err)
		}
		for rec := range strings.SplitSeq(out, "\x00") {
			if strings.TrimSpace(rec) == "" {
				continue
			}
			c, err := parseCommit(strings.TrimPrefix(rec, "\n"))
			if err != nil {
				return nil, err
			}
			if pr := mergedPR(c); match(pr) && len(prs) < limit {
				if pr, err = f.withAuthor(ctx, pr); err != nil {
					return nil, err
				}
				prs = append(prs, pr)
			}
		}
	default:
		return nil, fmt.Errorf("finding PRs: state %q: want %s or %s", q.State, forge.StateOpen, forge.StateMerged)
	}
	if len(prs) > limit {
		prs = prs[:limit]
	}
	return prs, nil
}

// fresh re-reads an open PR and checks that nobody moved its branch since pr was read.
func (f *Forge) fresh(ctx context.Context, pr forge.PR) (forge.PR, error) {
	if pr.State != forge.StateOpen || pr.Branch == "" {
		return forge.PR{}, fmt.Errorf("PR %s is %s, not open", pr.Ref(), pr.State)
	}
	cur, err := f.Get(ctx, pr.Branch)
	if err != nil {
		return forge.PR{}, err
	}
	if pr.HeadSHA != "" && cur.HeadSHA != pr.HeadSHA {
		return forge.PR{}, fmt.Errorf("PR %s moved from %s to %s: %w", pr.Ref(), short(pr.HeadSHA), short(cur.HeadSHA), forge.ErrStale)
	}
	return cur, nil
}

// mergeTree merges two commits with `git merge-tree --write-tree` and returns the tree.
func (f *Forge) mergeTree(ctx context.Context, ours, theirs string) (string, error) {
	out, err := f.run(ctx, nil, "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs)
	if err != nil {
		if exitCode(err) == 1 {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return "", fmt.Errorf("conflicting files: %s: %w", strings.Join(lines[1:], ", "), forge.ErrConflict)
		}
		return "", err
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]), nil
}

// Merge makes a --no-ff merge commit of the PR branch on its base, whose message repeats the
// PR's title, body (marker included) and trailers, moves the base with compare-and-swap
// (retrying twice on a concurrent move), and deletes the branch. opts.Auto merges now: this
// forge has no checks to wait for. A merge commit is its only method: squash and rebase are
// refused.
func (f *Forge) Merge(ctx context.Context, pr forge.PR, opts forge.MergeOptions) (forge.PR, error) {
	if opts.Method != "" && opts.Method != forge.MethodMerge {
		return forge.PR{}, fmt.Errorf("merging %s: merge method %q: the local git forge merges with a merge commit only (method %q)", pr.Ref(), opts.Method, forge.MethodMerge)
	}
	cur, err := f.fresh(ctx, pr)
	if err != nil {
		return forge.PR{}, fmt.Errorf("merging %s: %w", pr.Ref(), err)
	}
	msg := message(cur.Title, cur.Body, prTrailers(cur.Base, cur.Branch, cur.Labels))
	var merge string
	for attempt := 0; ; attempt++ {
		base, err := f.Head(ctx, cur.Base)
		if err != nil {
			return forge.PR{}, fmt.Errorf("merging %s: %w", cur.Ref(), err)
		}
		tree, err := f.mergeTree(ctx, base, cur.HeadSHA)
		if err != nil {
			return forge.PR{}, fmt.Errorf("merging %s into %s: %w", cur.Ref(), cur.Base, err)
		}
		merge, err = f.commitTree(ctx, tree, msg, base, cur.HeadSHA)
		if err != nil {
			return forge.PR{}, fmt.Errorf("merging %s: %w", cur.Ref(), err)
		}
		err = f.updateRef(ctx, "refs/heads/"+cur.Base, merge, base)
		if err == nil {
			break
		}
		if !errors.Is(err, forge.ErrStale) || attempt == 2 {
			return forge.PR{}, fmt.Errorf("merging %s: %w", cur.Ref(), err)
		}
	}
	if err := f.updateRef(ctx, "refs/heads/"+cur.Branch, "", cur.HeadSHA); err != nil {
		return forge.PR{}, fmt.Errorf("merged %s as %s but could not delete its branch: %w", cur.Ref(), short(merge), err)
	}
	return f.Get(ctx, merge)
}

// Revert opens a PR that reverts merged pr on its base. git 2.39 has no `merge-tree
// --merge-base` (2.40 added it), so the revert is computed as the three-way merge it is —
// base: the merge commit M, ours: the base tip, theirs: M's first parent — by giving
// `merge-tree --write-tree` two throw-away commits (trees of the base tip and of M^1) whose only
// common ancestor is a parentless commit with M's tree. Those objects are unreferenced and left
// to gc; the revert commit's only parent is the real base tip.
func (f *Forge) Revert(ctx context.Context, pr forge.PR, r forge.RevertRequest) (forge.PR, error) {
	if pr.State != forge.StateMerged || pr.MergeSHA == "" {
		return forge.PR{}, fmt.Errorf("reverting %s: it is %s, only a merged PR can be reverted", pr.Ref(), pr.State)
	}
	if err := checkBranch(r.Branch); err != nil {
		return forge.PR{}, err
	}
	if !strings.HasPrefix(r.Branch, BranchPrefix) {
		return forge.PR{}, fmt.Errorf("revert branch %q: PR branches on the local git forge live under %s", r.Branch, BranchPrefix)
	}
	m, err := f.readCommit(ctx, pr.MergeSHA)
	if err != nil {
		return forge.PR{}, err
	}
	if len(m.parents) == 0 {
		return forge.PR{}, fmt.Errorf("reverting %s: commit has no parent", pr.Ref())
	}
	baseName := pr.Base
	if baseName == "" {
		if baseName, err = f.DefaultBranch(ctx); err != nil {
			return forge.PR{}, err
		}
	}
	head, err := f.Head(ctx, baseName)
	if err != nil {
		return forge.PR{}, fmt.Errorf("reverting %s: %w", pr.Ref(), err)
	}
	if _, err := f.Head(ctx, r.Branch); err == nil {
		return forge.PR{}, fmt.Errorf("reverting %s: branch %s: %w", pr.Ref(), r.Branch, forge.ErrExists)
	}
	headTree, err := f.treeOf(ctx, head)
	if err != nil {
		return forge.PR{}, err
	}
	parentTree, err := f.treeOf(ctx, m.parents[0])
	if err != nil {
		return forge.PR{}, err
	}
	note := "Synthetic commit for a three-way merge (flightline revert); never referenced.\n"
	anc, err := f.commitTree(ctx, m.tree, note)
	if err != nil {
		return forge.PR{}, err
	}
	ours, err := f.commitTree(ctx, headTree, note, anc)
	if err != nil {
		return forge.PR{}, err
	}
	theirs, err := f.commitTree(ctx, parentTree, note, anc)
	if err != nil {
		return forge.PR{}, err
	}
	tree, err := f.mergeTree(ctx, ours, theirs)
	if err != nil {
		return forge.PR{}, fmt.Errorf("reverting %s on %s: %w", pr.Ref(), baseName, err)
	}
	if tree == headTree {
		return forge.PR{}, fmt.Errorf("reverting %s on %s changes nothing (already reverted?): %w", pr.Ref(), baseName, forge.ErrEmpty)
	}
	msg := message(r.Title, r.Body, prTrailers(baseName, r.Branch, r.Labels, [2]string{"Reverts", pr.MergeSHA}))
	sha, err := f.commitTree(ctx, tree, msg, head)
	if err != nil {
		return forge.PR{}, err
	}
	if err := f.updateRef(ctx, "refs/heads/"+r.Branch, sha, zeroOID); err != nil {
		return forge.PR{}, fmt.Errorf("reverting %s: %w", pr.Ref(), err)
	}
	return f.Get(ctx, r.Branch)
}

// Close deletes the PR's branch (compare-and-swap on its tip). The local forge has nowhere to
// keep the comment once the branch is gone: callers also record the reason where it lasts (the
// superseding PR's body).
func (f *Forge) Close(ctx context.Context, pr forge.PR, _ string) error {
	cur, err := f.fresh(ctx, pr)
	if err != nil {
		return fmt.Errorf("closing %s: %w", pr.Ref(), err)
	}
	if err := f.updateRef(ctx, "refs/heads/"+cur.Branch, "", cur.HeadSHA); err != nil {
		return fmt.Errorf("closing %s: %w", pr.Ref(), err)
	}
	return nil
}

// Identity is the author the forge writes commits as (its email): PRs it opens carry it.
func (f *Forge) Identity(context.Context) (string, error) { return f.email, nil }

// Commit reads one commit and the files it changes against its first parent.
func (f *Forge) Commit(ctx context.Context, sha string) (forge.Commit, error) {
	full, err := f.commit(ctx, sha)
	if err != nil {
		return forge.Commit{}, err
	}
	c, err := f.readCommit(ctx, full)
	if err != nil {
		return forge.Commit{}, err
	}
	args := []string{"diff-tree", "-r", "--no-commit-id", "--name-only", "--root", full}
	if len(c.parents) > 0 {
		args = []string{"diff-tree", "-r", "--no-commit-id", "--name-only", c.parents[0], full}
	}
	out, err := f.run(ctx, nil, args...)
	if err != nil {
		return forge.Commit{}, fmt.Errorf("listing the files commit %s changes: %w", short(full), err)
	}
	return forge.Commit{SHA: full, Parents: c.parents, Author: c.author, Files: strings.Fields(out)}, nil
}

// History lists the commits of branch's first-parent history that changed path, newest first.
func (f *Forge) History(ctx context.Context, branch, path string, limit int) ([]forge.Commit, error) {
	if _, err := f.Head(ctx, branch); err != nil {
		return nil, err
	}
	out, err := f.run(ctx, nil, "log", "--first-parent", "-n", strconv.Itoa(max(limit, 1)), "--format=%H %ae %P",
		"refs/heads/"+branch, "--", path)
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s on %s: %w", path, branch, err)
	}
	var list []forge.Commit
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) >= 2 {
			list = append(list, forge.Commit{SHA: f[0], Author: f[1], Parents: f[2:]})
		}
	}
	return list, nil
}

// MergedPR returns the PR whose merge commit sha is, on base.
func (f *Forge) MergedPR(ctx context.Context, base, sha string) (forge.PR, error) {
	pr, err := f.Get(ctx, sha)
	if err != nil {
		return forge.PR{}, err
	}
	if pr.Base != "" && pr.Base != base {
		return forge.PR{}, fmt.Errorf("merge commit %s merged into %s, not %s: %w", short(sha), pr.Base, base, forge.ErrNotFound)
	}
	return pr, nil
}

// PRCommits lists the PR's commits that are not on its base, oldest first.
func (f *Forge) PRCommits(ctx context.Context, pr forge.PR) ([]forge.Commit, error) {
	if pr.HeadSHA == "" {
		return nil, fmt.Errorf("listing the commits of %s: no head", pr.Ref())
	}
	not := "refs/heads/" + pr.Base
	if pr.State == forge.StateMerged && pr.MergeSHA != "" {
		not = pr.MergeSHA + "^1"
	}
	out, err := f.run(ctx, nil, "log", "--reverse", "--format=%H %ae %P", pr.HeadSHA, "^"+not, "--")
	if err != nil {
		return nil, fmt.Errorf("listing the commits of %s: %w", pr.Ref(), err)
	}
	var list []forge.Commit
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) >= 2 {
			list = append(list, forge.Commit{SHA: f[0], Author: f[1], Parents: f[2:]})
		}
	}
	return list, nil
}
