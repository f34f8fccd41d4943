package lint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/labrats-work/flightline/pkg/actions"
)

// zeroSHA is what GitHub sends as a push's "before" when the branch is new.
const zeroSHA = "0000000000000000000000000000000000000000"

// Event is what only-new needs to know about the workflow run (from GITHUB_EVENT_NAME and the
// payload at GITHUB_EVENT_PATH); the zero value means "not in a workflow".
type Event struct {
	Name string // pull_request, pull_request_target, push, ...
	// BaseSHA and HeadSHA are a pull request's base and head commits.
	BaseSHA, HeadSHA string
	// Before and After are a push's old and new tips (Before all zeros on a new branch).
	Before, After string
	Forced        bool
	// DefaultBranch is the repository's default branch (new branches are compared with it).
	DefaultBranch string
}

// ReadEvent reads the event payload of a workflow run.
func ReadEvent(name, payloadPath string) (Event, error) {
	ev := Event{Name: name}
	if payloadPath == "" {
		return ev, nil
	}
	data, err := os.ReadFile(payloadPath)
	if err != nil {
		return ev, fmt.Errorf("reading the event payload: %w", err)
	}
	var p struct {
		Before, After string
		Forced        bool
		PullRequest   *struct {
			Base, Head struct{ SHA string }
		} `json:"pull_request"`
		Repository struct {
			DefaultBranch string `json:"default_branch"`
		}
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return ev, fmt.Errorf("reading the event payload %s: %w", payloadPath, err)
	}
	ev.Before, ev.After, ev.Forced, ev.DefaultBranch = p.Before, p.After, p.Forced, p.Repository.DefaultBranch
	if p.PullRequest != nil {
		ev.BaseSHA, ev.HeadSHA = p.PullRequest.Base.SHA, p.PullRequest.Head.SHA
	}
	return ev, nil
}

// Baseline is what only-new compares against, and how it was found.
type Baseline struct {
	// Commit is the commit whose tree is "old"; empty means there is none (every line is new).
	Commit string
	// How says in a sentence where Commit came from, for the summary.
	How string
	// Changes are the added or modified lines of the working tree against Commit.
	Changes actions.ChangeSet
}

// Git runs git in a repository; Remote is the remote to fetch from (default origin).
type Git struct {
	Dir    string
	Remote string
	Env    []string
}

func (g Git) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.Dir
	cmd.Env = g.Env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (g Git) remote() string {
	if g.Remote == "" {
		return "origin"
	}
	return g.Remote
}

func (g Git) has(ctx context.Context, rev string) bool {
	_, err := g.run(ctx, "cat-file", "-e", rev+"^{commit}")
	return err == nil
}

// ensure makes sure a commit is present, fetching it (depth 1) from the remote when missing:
// actions/checkout's shallow clone holds only the commit it checked out.
func (g Git) ensure(ctx context.Context, sha string) error {
	if g.has(ctx, sha) {
		return nil
	}
	if _, err := g.run(ctx, "fetch", "--no-tags", "--no-recurse-submodules", "--depth=1", g.remote(), sha); err != nil {
		return err
	}
	if !g.has(ctx, sha) {
		return fmt.Errorf("commit %s is still missing after fetching it", sha)
	}
	return nil
}

// parents reads a commit's parents from the commit object itself, which a shallow clone keeps
// even when it lacks the parents.
func (g Git) parents(ctx context.Context, rev string) []string {
	out, err := g.run(ctx, "cat-file", "commit", rev)
	if err != nil {
		return nil
	}
	var ps []string
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			break
		}
		if p, ok := strings.CutPrefix(line, "parent "); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// mergeBase finds the merge base of a and b, deepening a shallow clone step by step (up to a
// few thousand commits) until it appears.
func (g Git) mergeBase(ctx context.Context, a, b string) (string, error) {
	// Fetch by commit: the remote knows neither our ref names nor our HEAD.
	if sha, err := g.run(ctx, "rev-parse", "--verify", a+"^{commit}"); err == nil {
		a = strings.TrimSpace(sha)
	}
	if sha, err := g.run(ctx, "rev-parse", "--verify", b+"^{commit}"); err == nil {
		b = strings.TrimSpace(sha)
	}
	for _, deepen := range []int{0, 50, 200, 1000, 5000} {
		if deepen > 0 {
			shallow, _ := g.run(ctx, "rev-parse", "--is-shallow-repository")
			if strings.TrimSpace(shallow) != "true" {
				break
			}
			if _, err := g.run(ctx, "fetch", "--no-tags", "--no-recurse-submodules", "--deepen="+strconv.Itoa(deepen), g.remote(), a, b); err != nil {
				return "", err
			}
		}
		if out, err := g.run(ctx, "merge-base", a, b); err == nil {
			return strings.TrimSpace(out), nil
		}
	}
	return "", fmt.Errorf("no common ancestor of %s and %s", short(a), short(b))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// ResolveBaseline decides what only-new compares against, fetching what a shallow clone lacks:
//   - base-ref given: the merge base of it and HEAD;
//   - a pull request: its base. When HEAD is GitHub's merge commit (actions/checkout's default
//     for pull requests) whose second parent is the PR's head, its first parent is the base the
//     merge was made on, and the diff against it is exactly the PR's change; otherwise the merge
//     base of the PR's base and HEAD;
//   - a push: before, the old tip, so that the diff is exactly what the push changed, a
//     force-push included (a before that can no longer be fetched falls back as a new branch does);
//   - a new branch's first push (before all zeros): the merge base with the default branch;
//   - nothing to compare with (no event, or the default branch's own first push): no baseline,
//     every line counts as new.
func ResolveBaseline(ctx context.Context, g Git, ev Event, baseRef string) (Baseline, error) {
	b, err := resolveCommit(ctx, g, ev, baseRef)
	if err != nil || b.Commit == "" {
		return b, err
	}
	out, err := g.run(ctx, "diff", "--no-color", "--no-ext-diff", "--unified=0", "--find-renames", b.Commit, "--")
	if err != nil {
		return b, fmt.Errorf("diffing against %s: %w", short(b.Commit), err)
	}
	b.Changes, err = ParseChanges([]byte(out))
	if err != nil {
		return b, err
	}
	// Files git does not track yet (generated, or new and not added) are wholly new.
	if untracked, err := g.run(ctx, "ls-files", "--others", "--exclude-standard", "-z"); err == nil {
		for _, f := range strings.Split(untracked, "\x00") {
			if f != "" {
				b.Changes.Add(f)
				markAllLines(b.Changes, g.Dir, f)
			}
		}
	}
	return b, nil
}

func markAllLines(cs actions.ChangeSet, dir, f string) {
	data, err := os.ReadFile(dir + "/" + f)
	if err != nil {
		return
	}
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	for i := 1; i <= n; i++ {
		cs.Add(f, i)
	}
}

func resolveCommit(ctx context.Context, g Git, ev Event, baseRef string) (Baseline, error) {
	if baseRef != "" {
		if !g.has(ctx, baseRef) {
			ref := strings.TrimPrefix(baseRef, g.remote()+"/")
			if _, err := g.run(ctx, "fetch", "--no-tags", "--depth=1", g.remote(), ref); err == nil && g.has(ctx, "FETCH_HEAD") {
				baseRef = strings.TrimSpace(mustRun(ctx, g, "rev-parse", "FETCH_HEAD"))
			}
		}
		if !g.has(ctx, baseRef) {
			return Baseline{}, fmt.Errorf("base-ref %q: no such commit or branch here or on %s", baseRef, g.remote())
		}
		mb, err := g.mergeBase(ctx, baseRef, "HEAD")
		if err != nil {
			return Baseline{}, fmt.Errorf("base-ref %q: %w", baseRef, err)
		}
		return Baseline{Commit: mb, How: fmt.Sprintf("the merge base of %s and HEAD (%s)", baseRef, short(mb))}, nil
	}
	switch ev.Name {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment":
		if ev.BaseSHA == "" {
			return Baseline{}, fmt.Errorf("%s event without pull_request.base.sha in its payload", ev.Name)
		}
		if ps := g.parents(ctx, "HEAD"); len(ps) == 2 && ps[1] == ev.HeadSHA {
			if err := g.ensure(ctx, ps[0]); err != nil {
				return Baseline{}, fmt.Errorf("fetching the pull request's base %s: %w", short(ps[0]), err)
			}
			return Baseline{Commit: ps[0], How: fmt.Sprintf("the pull request's base %s (first parent of the merge commit checked out)", short(ps[0]))}, nil
		}
		if err := g.ensure(ctx, ev.BaseSHA); err != nil {
			return Baseline{}, fmt.Errorf("fetching the pull request's base %s: %w", short(ev.BaseSHA), err)
		}
		mb, err := g.mergeBase(ctx, ev.BaseSHA, "HEAD")
		if err != nil {
			return Baseline{}, fmt.Errorf("the pull request's base: %w", err)
		}
		return Baseline{Commit: mb, How: fmt.Sprintf("the merge base of the pull request's base %s and HEAD (%s)", short(ev.BaseSHA), short(mb))}, nil
	case "push":
		if ev.Before != "" && ev.Before != zeroSHA {
			if err := g.ensure(ctx, ev.Before); err == nil {
				how := fmt.Sprintf("the push's previous tip %s", short(ev.Before))
				if ev.Forced {
					how += " (a force-push: lines that differ from the old tip count as new)"
				}
				return Baseline{Commit: ev.Before, How: how}, nil
			}
		}
		if ev.DefaultBranch != "" {
			ref := "refs/remotes/" + g.remote() + "/" + ev.DefaultBranch
			if _, err := g.run(ctx, "fetch", "--no-tags", "--depth=1", g.remote(), "+refs/heads/"+ev.DefaultBranch+":"+ref); err == nil {
				if mb, err := g.mergeBase(ctx, ref, "HEAD"); err == nil && mb != strings.TrimSpace(mustRun(ctx, g, "rev-parse", "HEAD")) {
					why := "a new branch"
					if ev.Before != zeroSHA && ev.Before != "" {
						why = "the previous tip " + short(ev.Before) + " cannot be fetched"
					}
					return Baseline{Commit: mb, How: fmt.Sprintf("%s: the merge base with %s (%s)", why, ev.DefaultBranch, short(mb))}, nil
				}
			}
		}
		return Baseline{How: "nothing to compare with (the first push of the default branch): every line counts as new"}, nil
	}
	if ev.Name == "" {
		return Baseline{}, fmt.Errorf("only-new needs a base: set base-ref (a branch or commit), or run on a pull_request or push event")
	}
	return Baseline{}, fmt.Errorf("only-new on a %s event needs base-ref (a branch or commit to compare with)", ev.Name)
}

func mustRun(ctx context.Context, g Git, args ...string) string {
	out, _ := g.run(ctx, args...)
	return out
}

var changeHunkRE = regexp.MustCompile(`^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@`)

// ParseChanges reads `git diff --unified=0` output into the lines each file gained or changed.
// A file that only lost lines, was renamed or changed mode is recorded as touched.
func ParseChanges(diff []byte) (actions.ChangeSet, error) {
	cs := actions.ChangeSet{}
	file := ""
	sc := bufio.NewScanner(bytes.NewReader(diff))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "diff --git "):
			file = ""
			// "diff --git a/x b/y": the new name, until +++ or "rename to" says otherwise.
			if i := strings.LastIndex(line, " b/"); i >= 0 {
				file = unquote(line[i+3:])
				cs.Add(file)
			}
		case strings.HasPrefix(line, "rename to "):
			delete(cs, file)
			file = unquote(strings.TrimPrefix(line, "rename to "))
			cs.Add(file)
		case strings.HasPrefix(line, "+++ "):
			name := strings.TrimPrefix(line, "+++ ")
			if name == "/dev/null" { // deleted
				delete(cs, file)
				file = ""
				continue
			}
			delete(cs, file)
			file = strings.TrimPrefix(unquote(name), "b/")
			cs.Add(file)
		case strings.HasPrefix(line, "@@"):
			m := changeHunkRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("unexpected diff hunk header %q", line)
			}
			start, _ := strconv.Atoi(m[1])
			n := 1
			if m[2] != "" {
				n, _ = strconv.Atoi(m[2])
			}
			if file == "" {
				continue
			}
			for i := 0; i < n; i++ {
				cs.Add(file, start+i)
			}
		}
	}
	return cs, sc.Err()
}

// unquote undoes git's C-style quoting of unusual path names.
func unquote(p string) string {
	if strings.HasPrefix(p, `"`) {
		if s, err := strconv.Unquote(p); err == nil {
			return s
		}
	}
	return p
}
