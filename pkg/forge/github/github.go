package github

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v90/github"
	"github.com/shurcooL/githubv4"

	"github.com/labrats-work/flightline/pkg/forge"
)

// DefaultBaseURL is github.com's REST API, GITHUB_API_URL's value there.
const DefaultBaseURL = "https://api.github.com"

// Forge is a platform repository on GitHub (github.com or GitHub Enterprise Server).
//
// Commits go through GraphQL createCommitOnBranch: GitHub makes and signs the commit (it shows
// as Verified, which branch rules requiring signed commits accept, and no git client or key is
// needed in the job), and expectedHeadOid makes every branch write a compare-and-swap on the
// branch head. Since that mutation can only append to a branch, a PR branch is first created
// at the base commit (REST) and an update appends one commit on the PR's head; the squash
// merge (the default) still lands one commit on the base.
//
// PRs are REST (create, find, edit, merge with the head SHA as a guard, close); auto-merge and
// reverts are GraphQL (enablePullRequestAutoMerge, revertPullRequest — what `gh pr revert`
// does), so a revert PR's branch is named by GitHub (revert-N-BRANCH) and
// forge.RevertRequest.Branch is not used.
type Forge struct {
	owner, name, repo string
	token             string
	rest              *gh.Client
	gql               *githubv4.Client
	method            string
	findPages         int
	perPage           int // PRs per page in Find (100; tests lower it)
	attempts          int
	now               func() time.Time

	defaultBranch string
	repoNodeID    string
	perms         map[string]bool
	autoAllowed   bool

	mu      sync.Mutex
	nodeIDs map[int]string // PR number → GraphQL node ID, from every PR read
	login   string         // the token's login, once Identity read it
}

var _ forge.Forge = (*Forge)(nil)

type config struct {
	baseURL, graphqlURL string
	httpClient          *http.Client
	method              string
	findPages           int
	attempts            int
	backoff, maxWait    time.Duration
	now                 func() time.Time
	sleep               func(context.Context, time.Duration) error
}

// Option configures New.
type Option func(*config)

// WithBaseURL sets the REST API's base URL: pass GITHUB_API_URL (default
// https://api.github.com; on GitHub Enterprise Server https://HOST/api/v3).
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithGraphQLURL sets the GraphQL endpoint (GITHUB_GRAPHQL_URL). Default: derived from the
// base URL — https://api.github.com/graphql, or https://HOST/api/graphql for an /api/v3 base.
func WithGraphQLURL(u string) Option { return func(c *config) { c.graphqlURL = u } }

// WithHTTPClient sets the HTTP client whose transport and timeout are used (default: a
// client with http.DefaultTransport and a 30 s timeout). The token is added by the forge.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithMergeMethod sets how PRs merge: "squash" (default), "merge" or "rebase".
func WithMergeMethod(m string) Option { return func(c *config) { c.method = m } }

// WithFindPages bounds Find: at most this many pages of 100 PRs are read per query
// (default 3: the 300 most recently updated PRs of the state asked for).
func WithFindPages(n int) Option { return func(c *config) { c.findPages = n } }

// WithRetry sets the tries per request on 429, 5xx and rate limits (default 4) and the first
// backoff, doubled each time (default 1 s); maxWait caps a Retry-After or rate-limit reset the
// forge waits for (default 60 s).
func WithRetry(attempts int, backoff, maxWait time.Duration) Option {
	return func(c *config) { c.attempts, c.backoff, c.maxWait = attempts, backoff, maxWait }
}

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// withSleep replaces the retry sleep (tests).
func withSleep(s func(context.Context, time.Duration) error) Option {
	return func(c *config) { c.sleep = s }
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)

// graphqlURL derives the GraphQL endpoint from the REST base URL.
func graphqlURL(base string) string {
	base = strings.TrimSuffix(base, "/")
	if b, ok := strings.CutSuffix(base, "/api/v3"); ok {
		return b + "/api/graphql"
	}
	return base + "/graphql"
}

// New connects to repo (OWNER/REPO) with token and reads the repository once (default branch,
// settings, the token's permissions), so that a token that cannot see it fails here with a
// message that says what to do.
func New(ctx context.Context, repo, token string, opts ...Option) (*Forge, error) {
	c := config{baseURL: DefaultBaseURL, method: "squash", findPages: 3, attempts: 4, backoff: time.Second,
		maxWait: time.Minute, now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		o(&c)
	}
	if !repoRE.MatchString(repo) {
		return nil, fmt.Errorf("platform repository %q: want OWNER/REPO, e.g. acme/platform", repo)
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("platform repository %s: no token given: pass a GitHub App installation token or a fine-grained PAT with Contents and Pull requests write access to %s (a workflow's GITHUB_TOKEN cannot reach another repository)", repo, repo)
	}
	if c.method != "squash" && c.method != "merge" && c.method != "rebase" {
		return nil, fmt.Errorf("merge method %q: use one of squash, merge, rebase", c.method)
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	base := strings.TrimSuffix(strings.TrimSpace(c.baseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if c.graphqlURL == "" {
		c.graphqlURL = graphqlURL(base)
	}
	hc := c.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	client := &http.Client{Timeout: hc.Timeout, Transport: &transport{base: rt, token: token, attempts: c.attempts,
		backoff: c.backoff, maxWait: c.maxWait, now: c.now, sleep: c.sleep, hosts: apiHosts(base, c.graphqlURL)}}
	restBase := base + "/"
	rest, err := gh.NewClient(gh.WithHTTPClient(client), gh.WithURLs(&restBase, &restBase), gh.WithDisableRateLimitCheck(),
		gh.WithUserAgent("flightline"))
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", base, err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	f := &Forge{owner: owner, name: name, repo: repo, token: token, rest: rest,
		gql: githubv4.NewEnterpriseClient(c.graphqlURL, client), method: c.method, findPages: max(c.findPages, 1), perPage: 100,
		attempts: c.attempts, now: c.now, nodeIDs: map[int]string{}}
	r, _, err := rest.Repositories.Get(ctx, owner, name)
	if err != nil {
		if status, msg := apiStatus(err); status == http.StatusNotFound {
			return nil, f.redact(notVisible("opening the platform repository", repo, msg))
		}
		return nil, f.explain("opening the platform repository "+repo, err)
	}
	f.defaultBranch, f.repoNodeID, f.autoAllowed = r.GetDefaultBranch(), r.GetNodeID(), r.GetAllowAutoMerge()
	if p := r.GetPermissions(); p != nil {
		f.perms = map[string]bool{"admin": p.GetAdmin(), "push": p.GetPush(), "pull": p.GetPull()}
	}
	return f, nil
}

// Repo is OWNER/REPO.
func (f *Forge) Repo() string { return f.repo }

// DefaultBranch is the repository's default branch, read by New.
func (f *Forge) DefaultBranch(context.Context) (string, error) {
	if f.defaultBranch == "" {
		return "", fmt.Errorf("%s has no default branch (is it empty?): push a first commit or give base-branch", f.repo)
	}
	return f.defaultBranch, nil
}

// Head returns the tip of branch.
func (f *Forge) Head(ctx context.Context, branch string) (string, error) {
	ref, _, err := f.rest.Git.GetRef(ctx, f.owner, f.name, "heads/"+branch)
	if err != nil {
		return "", f.explain(fmt.Sprintf("reading branch %q of %s", branch, f.repo), err)
	}
	return ref.GetObject().GetSHA(), nil
}

// ReadFile returns path's content at ref (a branch or a commit SHA).
func (f *Forge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	fc, dir, _, err := f.rest.Repositories.GetContents(ctx, f.owner, f.name, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, f.explain(fmt.Sprintf("reading %s at %s in %s", path, short(ref), f.repo), err)
	}
	if fc == nil || dir != nil {
		return nil, fmt.Errorf("reading %s at %s in %s: it is a directory, not a file: %w", path, short(ref), f.repo, forge.ErrNotFound)
	}
	if fc.GetEncoding() == "none" {
		return nil, fmt.Errorf("reading %s at %s in %s: the file is over 1 MB, too large for the contents API", path, short(ref), f.repo)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s in %s: %w", path, short(ref), f.repo, err)
	}
	return []byte(s), nil
}

func short(s string) string {
	if len(s) == 40 && strings.Trim(s, "0123456789abcdef") == "" {
		return s[:12]
	}
	return s
}

// toPR converts a REST PR and remembers its node ID.
func (f *Forge) toPR(p *gh.PullRequest) forge.PR {
	pr := forge.PR{Number: p.GetNumber(), URL: p.GetHTMLURL(), Title: p.GetTitle(), Body: p.GetBody(),
		State: forge.StateOpen, Branch: p.GetHead().GetRef(), Base: p.GetBase().GetRef(), HeadSHA: p.GetHead().GetSHA(),
		Author: p.GetUser().GetLogin(), Fork: f.isFork(p)}
	switch {
	case p.MergedAt != nil || p.GetMerged():
		pr.State, pr.MergeSHA = forge.StateMerged, p.GetMergeCommitSHA()
		pr.Merged = p.GetMergedAt().UTC()
	case p.GetState() == "closed":
		pr.State = forge.StateClosed
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	sort.Strings(pr.Labels)
	pr.AutoMerge = p.AutoMerge != nil && pr.State == forge.StateOpen
	if p.GetNodeID() != "" {
		f.mu.Lock()
		f.nodeIDs[pr.Number] = p.GetNodeID()
		f.mu.Unlock()
	}
	return pr
}

// Get returns a PR by number, or the open PR of a head branch.
func (f *Forge) Get(ctx context.Context, id string) (forge.PR, error) {
	id = strings.TrimPrefix(strings.TrimSpace(id), "#")
	if n, err := strconv.Atoi(id); err == nil && n > 0 {
		p, _, err := f.rest.PullRequests.Get(ctx, f.owner, f.name, n)
		if err != nil {
			return forge.PR{}, f.explain(fmt.Sprintf("reading PR #%d of %s", n, f.repo), err)
		}
		return f.toPR(p), nil
	}
	if id == "" || strings.ContainsAny(id, " ~^:?*[\\") {
		return forge.PR{}, fmt.Errorf("PR %q: on GitHub give the PR number (or an open PR's branch): %w", id, forge.ErrNotFound)
	}
	pr, ok, err := f.openFor(ctx, id)
	if err != nil {
		return forge.PR{}, err
	}
	if !ok {
		return forge.PR{}, fmt.Errorf("no open PR of %s has head branch %q: %w", f.repo, id, forge.ErrNotFound)
	}
	return pr, nil
}

// openFor finds the open PR whose head is branch.
func (f *Forge) openFor(ctx context.Context, branch string) (forge.PR, bool, error) {
	list, _, err := f.rest.PullRequests.List(ctx, f.owner, f.name, &gh.PullRequestListOptions{State: "open", Head: f.owner + ":" + branch,
		ListOptions: gh.ListOptions{PerPage: 10}})
	if err != nil {
		return forge.PR{}, false, f.explain(fmt.Sprintf("looking for the open PR of branch %s in %s", branch, f.repo), err)
	}
	for _, p := range list {
		if p.GetHead().GetRef() == branch {
			return f.toPR(p), true, nil
		}
	}
	return forge.PR{}, false, nil
}

// Find lists the PRs of q.Base in q.State whose body holds every q.Text, newest first. It reads
// at most WithFindPages pages of 100 PRs: open PRs by creation, closed ones by last update
// (a merged PR's update time is never before its merge time, so the scan stops as soon as no
// older page can hold a newer merge).
func (f *Forge) Find(ctx context.Context, q forge.Query) ([]forge.PR, error) {
	if q.Base == "" {
		return nil, errors.New("finding PRs: the base branch is required")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	opts := &gh.PullRequestListOptions{Base: q.Base, Direction: "desc", ListOptions: gh.ListOptions{PerPage: f.perPage}}
	switch q.State {
	case forge.StateOpen:
		opts.State, opts.Sort = "open", "created"
	case forge.StateMerged:
		opts.State, opts.Sort = "closed", "updated"
	default:
		return nil, fmt.Errorf("finding PRs: state %q: want %s or %s", q.State, forge.StateOpen, forge.StateMerged)
	}
	match := func(pr forge.PR) bool {
		for _, t := range q.Text {
			if !strings.Contains(pr.Body, t) {
				return false
			}
		}
		return true
	}
	var out []forge.PR
	for page := 1; page <= f.findPages; page++ {
		opts.Page = page
		list, resp, err := f.rest.PullRequests.List(ctx, f.owner, f.name, opts)
		if err != nil {
			return nil, f.explain(fmt.Sprintf("listing the %s PRs of %s on %s", q.State, f.repo, q.Base), err)
		}
		var oldestUpdate time.Time
		for _, p := range list {
			pr := f.toPR(p)
			oldestUpdate = p.GetUpdatedAt().Time
			if pr.State == q.State && match(pr) {
				out = append(out, pr)
			}
		}
		if q.State == forge.StateOpen && len(out) >= limit {
			break
		}
		if q.State == forge.StateMerged && len(out) >= limit {
			sort.SliceStable(out, func(i, j int) bool { return out[i].Merged.After(out[j].Merged) })
			if !oldestUpdate.After(out[limit-1].Merged) {
				break
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	if q.State == forge.StateMerged {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Merged.After(out[j].Merged) })
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

var branchRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

func checkBranch(name string) error {
	if !branchRE.MatchString(name) || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "/") ||
		strings.HasSuffix(name, "/") || strings.Contains(name, "..") || strings.Contains(name, "//") || strings.HasSuffix(name, ".lock") {
		return fmt.Errorf("branch name %q is not valid: use letters, digits and . _ / -", name)
	}
	return nil
}

// commitResult is what createCommitOnBranch tells: the new commit, its tree and its parent's.
type commitResult struct {
	oid, tree, parentTree string
}

// commit appends one commit setting files on branch, whose head must be expected.
func (f *Forge) commit(ctx context.Context, branch, expected, title, body string, files map[string][]byte) (commitResult, error) {
	var m struct {
		CreateCommitOnBranch struct {
			Commit struct {
				Oid  string
				Tree struct{ Oid string }
				// The parent's tree tells whether the commit changed anything.
				Parents struct {
					Nodes []struct{ Tree struct{ Oid string } }
				} `graphql:"parents(first: 1)"`
			}
		} `graphql:"createCommitOnBranch(input: $input)"`
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	adds := make([]githubv4.FileAddition, 0, len(paths))
	for _, p := range paths {
		adds = append(adds, githubv4.FileAddition{Path: githubv4.String(p), Contents: githubv4.Base64String(base64.StdEncoding.EncodeToString(files[p]))})
	}
	in := githubv4.CreateCommitOnBranchInput{
		Branch:          githubv4.CommittableBranch{RepositoryNameWithOwner: githubv4.NewString(githubv4.String(f.repo)), BranchName: githubv4.NewString(githubv4.String(branch))},
		Message:         githubv4.CommitMessage{Headline: githubv4.String(title)},
		ExpectedHeadOid: githubv4.GitObjectID(expected),
		FileChanges:     &githubv4.FileChanges{Additions: &adds},
	}
	if body != "" {
		in.Message.Body = githubv4.NewString(githubv4.String(body))
	}
	if err := f.gql.Mutate(ctx, &m, in, nil); err != nil {
		return commitResult{}, err
	}
	c := m.CreateCommitOnBranch.Commit
	r := commitResult{oid: c.Oid, tree: c.Tree.Oid}
	if len(c.Parents.Nodes) > 0 {
		r.parentTree = c.Parents.Nodes[0].Tree.Oid
	}
	return r, nil
}

// deleteBranch removes a branch; one that is already gone is fine.
func (f *Forge) deleteBranch(ctx context.Context, branch string) error {
	_, err := f.rest.Git.DeleteRef(ctx, f.owner, f.name, "heads/"+branch)
	if err != nil {
		if status, msg := apiStatus(err); status == http.StatusUnprocessableEntity && strings.Contains(strings.ToLower(msg), "does not exist") {
			return nil
		}
		return f.explain("deleting branch "+branch, err)
	}
	return nil
}

// Propose creates the PR for c.Branch (a branch at c.BaseSHA, one commit, the PR, labels) or
// updates the open one: a commit appended on its head when the files differ, title and body
// edited when they differ, missing labels added. A commit that loses its compare-and-swap is
// retried once on the new head; a second loss is forge.ErrStale. A failed creation deletes the
// branch it made.
func (f *Forge) Propose(ctx context.Context, c forge.Change) (forge.PR, forge.Result, error) {
	if c.Base == "" || c.BaseSHA == "" || strings.TrimSpace(c.Title) == "" || len(c.Files) == 0 {
		return forge.PR{}, "", fmt.Errorf("proposing %q: base, base SHA, title and files are required", c.Branch)
	}
	if err := checkBranch(c.Branch); err != nil {
		return forge.PR{}, "", err
	}
	if strings.Contains(c.Title, "\n") {
		return forge.PR{}, "", fmt.Errorf("PR title %q: must be one line", c.Title)
	}
	what := fmt.Sprintf("proposing %s on %s", c.Branch, f.repo)
	_, _, err := f.rest.Git.CreateRef(ctx, f.owner, f.name, gh.CreateRef{Ref: "refs/heads/" + c.Branch, SHA: c.BaseSHA})
	if err != nil {
		err = f.explain(what, err)
		if !errors.Is(err, forge.ErrExists) {
			return forge.PR{}, "", err
		}
		pr, ok, ferr := f.openFor(ctx, c.Branch)
		if ferr != nil {
			return forge.PR{}, "", ferr
		}
		if !ok {
			// A branch at exactly the base commit carries nobody's work: it is what a retried
			// creation (the first answer lost on the way back) or an interrupted run leaves.
			// Adopt it; anything else is somebody's branch.
			if head, herr := f.Head(ctx, c.Branch); herr != nil || head != c.BaseSHA {
				return forge.PR{}, "", fmt.Errorf("%s: branch %s exists but has no open PR (left by an interrupted run, or someone's branch): delete it (git push origin --delete %s) and run again: %w",
					what, c.Branch, c.Branch, forge.ErrExists)
			}
		} else {
			return f.update(ctx, pr, c)
		}
	}
	pr, err := f.create(ctx, c)
	if errors.Is(err, errPRExists) { // another run opened the PR on this branch meanwhile: update it
		existing, ok, ferr := f.openFor(ctx, c.Branch)
		if ferr != nil {
			return forge.PR{}, "", ferr
		}
		if ok {
			return f.update(ctx, existing, c)
		}
	}
	if err != nil {
		if derr := f.deleteBranch(context.WithoutCancel(ctx), c.Branch); derr != nil {
			err = fmt.Errorf("%w (and the branch %s it made could not be deleted: %v)", err, c.Branch, derr)
		}
		return forge.PR{}, "", err
	}
	return pr, forge.Created, nil
}

// errPRExists: GitHub answered 422 "A pull request already exists" — not an error: the
// existing PR is found and updated.
var errPRExists = errors.New("a pull request already exists for the branch")

// create fills the fresh branch (at c.BaseSHA) and opens the PR; the caller deletes the branch
// on error.
func (f *Forge) create(ctx context.Context, c forge.Change) (forge.PR, error) {
	what := fmt.Sprintf("proposing %s on %s", c.Branch, f.repo)
	res, err := f.commitRetry(ctx, c.Branch, c.BaseSHA, c)
	if err != nil {
		return forge.PR{}, err
	}
	if res.tree != "" && res.tree == res.parentTree {
		return forge.PR{}, fmt.Errorf("%s: the files already have this content at %s: %w", what, short(c.BaseSHA), forge.ErrEmpty)
	}
	p, _, err := f.rest.PullRequests.Create(ctx, f.owner, f.name, gh.CreatePullRequest{Title: gh.Ptr(c.Title), Head: c.Branch,
		Base: c.Base, Body: gh.Ptr(c.Body)})
	if err != nil {
		if status, msg := apiStatus(err); status == http.StatusUnprocessableEntity && strings.Contains(msg, "already exists") {
			return forge.PR{}, fmt.Errorf("%s: %w", what, errPRExists)
		}
		return forge.PR{}, f.explain(what+": opening the PR", err)
	}
	pr := f.toPR(p)
	if len(c.Labels) > 0 {
		if pr.Labels, err = f.addLabels(ctx, pr.Number, c.Labels); err != nil {
			if cerr := f.closePR(context.WithoutCancel(ctx), pr.Number); cerr != nil {
				err = fmt.Errorf("%w (and closing PR #%d failed: %v)", err, pr.Number, cerr)
			}
			return forge.PR{}, err
		}
	}
	return pr, nil
}

// commitRetry commits c.Files on branch expecting head; when the head moved meanwhile it
// re-reads it and tries once more on the new head.
func (f *Forge) commitRetry(ctx context.Context, branch, head string, c forge.Change) (commitResult, error) {
	what := fmt.Sprintf("committing to %s on %s", branch, f.repo)
	res, err := f.commit(ctx, branch, head, c.Title, c.Body, c.Files)
	if err == nil {
		return res, nil
	}
	if err = f.explain(what, err); !errors.Is(err, forge.ErrStale) {
		return commitResult{}, err
	}
	moved, herr := f.Head(ctx, branch)
	if herr != nil {
		return commitResult{}, herr
	}
	// The head that moved may carry this very change: our own commit whose answer was lost
	// (a 5xx after the write, retried) or another run's. Then there is nothing to add.
	if same, serr := f.sameFiles(ctx, moved, c.Files); serr != nil {
		return commitResult{}, serr
	} else if same {
		return commitResult{oid: moved}, nil
	}
	res, err = f.commit(ctx, branch, moved, c.Title, c.Body, c.Files)
	if err == nil {
		return res, nil
	}
	if err = f.explain(what, err); errors.Is(err, forge.ErrStale) {
		return commitResult{}, fmt.Errorf("%s: the branch moved twice while Flightline wrote to it (someone else is pushing to %s); nothing was changed — run again: %w", what, branch, forge.ErrStale)
	}
	return commitResult{}, err
}

// sameFiles says whether every file has the wanted content at commit.
func (f *Forge) sameFiles(ctx context.Context, commit string, files map[string][]byte) (bool, error) {
	for path, want := range files {
		got, err := f.ReadFile(ctx, commit, path)
		if errors.Is(err, forge.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(got) != string(want) {
			return false, nil
		}
	}
	return true, nil
}

// update brings the open pr to c.
func (f *Forge) update(ctx context.Context, pr forge.PR, c forge.Change) (forge.PR, forge.Result, error) {
	what := fmt.Sprintf("updating %s on %s", pr.Ref(), f.repo)
	result := forge.Unchanged
	same, err := f.sameFiles(ctx, pr.HeadSHA, c.Files)
	if err != nil {
		return forge.PR{}, "", err
	}
	if !same {
		res, err := f.commitRetry(ctx, pr.Branch, pr.HeadSHA, c)
		if err != nil {
			return forge.PR{}, "", err
		}
		pr.HeadSHA, result = res.oid, forge.Updated
	}
	if pr.Title != c.Title || pr.Body != c.Body {
		p, _, err := f.rest.PullRequests.Edit(ctx, f.owner, f.name, pr.Number, &gh.PullRequest{Title: gh.Ptr(c.Title), Body: gh.Ptr(c.Body)})
		if err != nil {
			return forge.PR{}, "", f.explain(what, err)
		}
		head := pr.HeadSHA
		pr = f.toPR(p)
		pr.HeadSHA, result = head, forge.Updated
	}
	var missing []string
	for _, l := range c.Labels {
		if !slices.Contains(pr.Labels, l) && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		labels, err := f.addLabels(ctx, pr.Number, missing)
		if err != nil {
			return forge.PR{}, "", err
		}
		pr.Labels, result = labels, forge.Updated
	}
	return pr, result, nil
}

// addLabels adds labels to PR n, creating those the repository lacks, and returns the PR's
// labels, sorted.
func (f *Forge) addLabels(ctx context.Context, n int, labels []string) ([]string, error) {
	what := fmt.Sprintf("labelling PR #%d of %s with %s", n, f.repo, strings.Join(labels, ", "))
	got, _, err := f.rest.Issues.AddLabelsToIssue(ctx, f.owner, f.name, n, labels)
	if status, _ := apiStatus(err); err != nil && status == http.StatusUnprocessableEntity {
		if err := f.EnsureLabels(ctx, labels); err != nil {
			return nil, err
		}
		got, _, err = f.rest.Issues.AddLabelsToIssue(ctx, f.owner, f.name, n, labels)
	}
	if err != nil {
		return nil, f.explain(what, err)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.GetName())
	}
	sort.Strings(names)
	return names, nil
}

// EnsureLabels creates the labels the repository does not have yet.
func (f *Forge) EnsureLabels(ctx context.Context, labels []string) error {
	for _, l := range labels {
		_, _, err := f.rest.Issues.CreateLabel(ctx, f.owner, f.name, gh.CreateIssueLabelRequest{Name: l, Color: gh.Ptr("0e8a16"),
			Description: gh.Ptr("set by Flightline")})
		if status, msg := apiStatus(err); err != nil && !(status == http.StatusUnprocessableEntity && strings.Contains(msg, "already_exists")) {
			return f.explain(fmt.Sprintf("creating label %q in %s", l, f.repo), err)
		}
	}
	return nil
}

// nodeID returns the GraphQL ID of PR n.
func (f *Forge) nodeID(ctx context.Context, n int) (string, error) {
	f.mu.Lock()
	id := f.nodeIDs[n]
	f.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if _, err := f.Get(ctx, strconv.Itoa(n)); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodeIDs[n], nil
}

// manual is the command that merges pr by hand.
func (f *Forge) manual(pr forge.PR) string {
	return fmt.Sprintf("gh pr merge %d --repo %s --%s --match-head-commit %s", pr.Number, f.repo, f.method, pr.HeadSHA)
}

// Merge merges the open pr. It re-reads the PR first and refuses (forge.ErrStale) when its
// head or body changed since the caller read it: what merges is what was proposed. With
// opts.Auto it enables auto-merge (the PR merges when reviews and checks allow, and is returned
// open with AutoMerge set); when GitHub answers that the PR is already mergeable ("clean
// status") or auto-merge is off for the repository, it merges now. A merge queue, a required
// review or a pending check leaves the PR open with forge.ErrNotMergeable and the command to
// finish by hand. 5xx answers are retried; when they persist the PR is left open and usable.
func (f *Forge) Merge(ctx context.Context, pr forge.PR, opts forge.MergeOptions) (forge.PR, error) {
	if pr.Number <= 0 {
		return forge.PR{}, fmt.Errorf("merging %s: a GitHub PR needs its number", pr.Ref())
	}
	cur, err := f.Get(ctx, strconv.Itoa(pr.Number))
	if err != nil {
		return forge.PR{}, err
	}
	if cur.State != forge.StateOpen {
		return forge.PR{}, fmt.Errorf("merging %s: it is %s, not open", pr.Ref(), cur.State)
	}
	if (pr.HeadSHA != "" && cur.HeadSHA != pr.HeadSHA) || cur.Body != pr.Body {
		return forge.PR{}, fmt.Errorf("merging %s: it changed since it was read (head %s → %s, or its description): %w", pr.Ref(), short(pr.HeadSHA), short(cur.HeadSHA), forge.ErrStale)
	}
	if opts.Auto {
		done, err := f.enableAuto(ctx, cur)
		if err == nil {
			return done, nil
		}
		if !errors.Is(err, errMergeNow) {
			return forge.PR{}, err
		}
	}
	return f.mergeNow(ctx, cur)
}

// errMergeNow: auto-merge is not possible but a direct merge may be.
var errMergeNow = errors.New("merge directly")

func (f *Forge) enableAuto(ctx context.Context, pr forge.PR) (forge.PR, error) {
	id, err := f.nodeID(ctx, pr.Number)
	if err != nil {
		return forge.PR{}, err
	}
	var m struct {
		EnablePullRequestAutoMerge struct {
			PullRequest struct{ Number int }
		} `graphql:"enablePullRequestAutoMerge(input: $input)"`
	}
	method := githubv4.PullRequestMergeMethod(strings.ToUpper(f.method))
	title := fmt.Sprintf("%s (#%d)", pr.Title, pr.Number)
	in := githubv4.EnablePullRequestAutoMergeInput{PullRequestID: githubv4.ID(id), MergeMethod: &method,
		ExpectedHeadOid: githubv4.NewGitObjectID(githubv4.GitObjectID(pr.HeadSHA)),
		CommitHeadline:  githubv4.NewString(githubv4.String(title)), CommitBody: githubv4.NewString(githubv4.String(pr.Body))}
	err = f.gql.Mutate(ctx, &m, in, nil)
	if err == nil {
		pr.AutoMerge = true
		return pr, nil
	}
	low := strings.ToLower(err.Error())
	if strings.Contains(low, "clean status") || strings.Contains(low, "unstable status") || strings.Contains(low, "has_hooks status") ||
		strings.Contains(low, "auto merge is not allowed") {
		return forge.PR{}, errMergeNow
	}
	return forge.PR{}, f.explain(fmt.Sprintf("enabling auto-merge on %s", pr.Ref()), err)
}

func (f *Forge) mergeNow(ctx context.Context, pr forge.PR) (forge.PR, error) {
	what := fmt.Sprintf("merging %s into %s of %s", pr.Ref(), pr.Base, f.repo)
	opts := &gh.PullRequestOptions{SHA: pr.HeadSHA, MergeMethod: f.method, CommitTitle: fmt.Sprintf("%s (#%d)", pr.Title, pr.Number)}
	var res *gh.PullRequestMergeResult
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		res, _, err = f.rest.PullRequests.Merge(ctx, f.owner, f.name, pr.Number, pr.Body, opts)
		if status, msg := apiStatus(err); err == nil || !(status == http.StatusMethodNotAllowed && strings.Contains(msg, "Base branch was modified")) {
			break
		}
	}
	if err != nil {
		status, msg := apiStatus(err)
		low := strings.ToLower(msg)
		switch {
		case status == http.StatusMethodNotAllowed && strings.Contains(low, "merge queue"):
			return forge.PR{}, fmt.Errorf("%s: %w: %s requires a merge queue; the PR is open: use merge: auto (auto-merge queues it), or `gh pr merge %d --repo %s --auto`", what, forge.ErrNotMergeable, pr.Base, pr.Number, f.repo)
		case status == http.StatusMethodNotAllowed && (strings.Contains(low, "review") || strings.Contains(low, "status check") || strings.Contains(low, "blocked")):
			return forge.PR{}, fmt.Errorf("%s: %w: %s; the PR is open: use merge: auto to merge when it is allowed, or merge it by hand: %s", what, forge.ErrNotMergeable, msg, f.manual(pr))
		case status == http.StatusConflict:
			return forge.PR{}, f.explain(what, err)
		}
		// Unclear, or GitHub kept failing: look at the PR before saying anything.
		cur, gerr := f.Get(context.WithoutCancel(ctx), strconv.Itoa(pr.Number))
		if gerr == nil && cur.State == forge.StateMerged {
			return f.afterMerge(ctx, cur)
		}
		if status == http.StatusMethodNotAllowed {
			if state := f.mergeableState(ctx, pr.Number); state == "dirty" {
				return forge.PR{}, fmt.Errorf("%s: %w: the PR conflicts with %s; it is open: update it and merge by hand", what, forge.ErrConflict, pr.Base)
			}
			return forge.PR{}, fmt.Errorf("%s: %w: %s; the PR is open: merge it by hand: %s", what, forge.ErrNotMergeable, msg, f.manual(pr))
		}
		return forge.PR{}, fmt.Errorf("%s; the PR is open and unchanged: merge it by hand: %s: %w", what, f.manual(pr), f.explain("merge", err))
	}
	pr.State, pr.MergeSHA, pr.Merged, pr.AutoMerge = forge.StateMerged, res.GetSHA(), f.now().UTC(), false
	return f.afterMerge(ctx, pr)
}

// mergeableState reads GitHub's mergeable_state ("" when it cannot).
func (f *Forge) mergeableState(ctx context.Context, n int) string {
	p, _, err := f.rest.PullRequests.Get(context.WithoutCancel(ctx), f.owner, f.name, n)
	if err != nil {
		return ""
	}
	return p.GetMergeableState()
}

// afterMerge deletes the merged PR's branch.
func (f *Forge) afterMerge(ctx context.Context, pr forge.PR) (forge.PR, error) {
	if err := f.deleteBranch(ctx, pr.Branch); err != nil {
		return pr, fmt.Errorf("merged %s as %s but could not delete its branch: %w", pr.Ref(), short(pr.MergeSHA), err)
	}
	return pr, nil
}

// Revert opens GitHub's revert PR of the merged pr (GraphQL revertPullRequest) with r's title,
// body and labels. When GitHub cannot revert cleanly it is forge.ErrConflict and nothing is
// left behind.
func (f *Forge) Revert(ctx context.Context, pr forge.PR, r forge.RevertRequest) (forge.PR, error) {
	if pr.State != forge.StateMerged || pr.Number <= 0 {
		return forge.PR{}, fmt.Errorf("reverting %s: it is %s, only a merged PR can be reverted", pr.Ref(), pr.State)
	}
	what := fmt.Sprintf("reverting %s of %s", pr.Ref(), f.repo)
	id, err := f.nodeID(ctx, pr.Number)
	if err != nil {
		return forge.PR{}, err
	}
	var m struct {
		RevertPullRequest struct {
			RevertPullRequest struct {
				Number      int
				URL         string `graphql:"url"`
				Title, Body string
				HeadRefName string
				HeadRefOid  string
				BaseRefName string
				ID          string `graphql:"id"`
			}
		} `graphql:"revertPullRequest(input: $input)"`
	}
	in := githubv4.RevertPullRequestInput{PullRequestID: githubv4.ID(id)}
	if r.Title != "" {
		in.Title = githubv4.NewString(githubv4.String(r.Title))
	}
	if r.Body != "" {
		in.Body = githubv4.NewString(githubv4.String(r.Body))
	}
	if err := f.gql.Mutate(ctx, &m, in, nil); err != nil {
		err = f.explain(what, err)
		// GitHub's refusals to revert are worded in several ways; any refusal that is not about
		// access, existence or availability means the revert cannot be made as is, which the
		// rollback flow answers with a forward fix.
		if !errors.Is(err, forge.ErrConflict) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrPermission) && !errors.Is(err, ErrUnavailable) &&
			!errors.Is(err, forge.ErrNotFound) && strings.Contains(strings.ToLower(err.Error()), "revert") && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %w", forge.ErrConflict, err)
		}
		return forge.PR{}, err
	}
	rv := m.RevertPullRequest.RevertPullRequest
	out := forge.PR{Number: rv.Number, URL: rv.URL, Title: rv.Title, Body: rv.Body, State: forge.StateOpen,
		Branch: rv.HeadRefName, Base: rv.BaseRefName, HeadSHA: rv.HeadRefOid}
	f.mu.Lock()
	f.nodeIDs[rv.Number] = rv.ID
	f.mu.Unlock()
	if len(r.Labels) > 0 {
		if out.Labels, err = f.addLabels(ctx, out.Number, r.Labels); err != nil {
			if cerr := f.closePR(context.WithoutCancel(ctx), out.Number); cerr == nil {
				_ = f.deleteBranch(context.WithoutCancel(ctx), out.Branch)
			}
			return forge.PR{}, err
		}
	}
	return out, nil
}

// closePR closes PR n without a comment.
func (f *Forge) closePR(ctx context.Context, n int) error {
	_, _, err := f.rest.PullRequests.Edit(ctx, f.owner, f.name, n, &gh.PullRequest{State: gh.Ptr("closed")})
	if err != nil {
		return f.explain(fmt.Sprintf("closing PR #%d of %s", n, f.repo), err)
	}
	return nil
}

// Close comments on pr, closes it and deletes its branch: never a fork's (its name may be
// that of another branch of the platform repository) and only while the branch is still at
// the PR's head (someone's commits pushed since are left alone).
func (f *Forge) Close(ctx context.Context, pr forge.PR, comment string) error {
	if pr.Number <= 0 {
		return fmt.Errorf("closing %s: a GitHub PR needs its number", pr.Ref())
	}
	if strings.TrimSpace(comment) != "" {
		if _, _, err := f.rest.Issues.CreateComment(ctx, f.owner, f.name, pr.Number, &gh.IssueComment{Body: gh.Ptr(comment)}); err != nil {
			return f.explain(fmt.Sprintf("commenting on %s of %s", pr.Ref(), f.repo), err)
		}
	}
	if err := f.closePR(ctx, pr.Number); err != nil {
		return err
	}
	if pr.Fork || pr.Branch == "" {
		return nil
	}
	if pr.HeadSHA != "" {
		if head, err := f.Head(ctx, pr.Branch); err != nil || head != pr.HeadSHA {
			return nil // gone already, or moved: not ours to delete
		}
	}
	return f.deleteBranch(ctx, pr.Branch)
}
