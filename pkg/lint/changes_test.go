package lint

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/actions"
)

// history is an origin repository shaped like a GitHub repository in the middle of a review:
//
//	main:    c1 ── c2            (c2 adds b.sh)
//	           \
//	feature:    f1               (f1 changes line 2 of a.sh and adds line 4)
//	refs/pull/1/merge: m = merge of c2 and f1, as GitHub makes it
type history struct {
	origin             string
	c1, c2, f1, merged string
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}

func commit(t *testing.T, dir, msg string) string {
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

func newHistory(t *testing.T) history {
	o := t.TempDir()
	git(t, o, "init", "-q", "-b", "main")
	// GitHub serves any commit of the repository by SHA; so does this origin.
	git(t, o, "config", "uploadpack.allowAnySHA1InWant", "true")
	h := history{origin: o}
	write(t, o, "a.sh", "#!/bin/sh\necho one\necho two\n")
	h.c1 = commit(t, o, "c1")
	for i := 0; i < 5; i++ { // some depth, so that a shallow clone really lacks the fork point
		write(t, o, "b.sh", strings.Repeat("echo b\n", i+1))
		h.c2 = commit(t, o, "c2")
	}
	git(t, o, "checkout", "-q", "-b", "feature", h.c1)
	write(t, o, "a.sh", "#!/bin/sh\necho ONE\necho two\necho three\n")
	h.f1 = commit(t, o, "f1")
	git(t, o, "checkout", "-q", "--detach", h.c2)
	git(t, o, "merge", "-q", "--no-ff", "-m", "Merge f1 into c2", h.f1)
	h.merged = git(t, o, "rev-parse", "HEAD")
	git(t, o, "update-ref", "refs/pull/1/merge", h.merged)
	git(t, o, "checkout", "-q", "main")
	return h
}

// checkout makes the shallow clone actions/checkout makes: fetch-depth 1 of one commit.
func (h history) checkout(t *testing.T, sha string) string {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", "file://"+h.origin)
	git(t, dir, "fetch", "-q", "--no-tags", "--depth=1", "origin", sha)
	git(t, dir, "checkout", "-q", "--detach", sha)
	require.Equal(t, "true", git(t, dir, "rev-parse", "--is-shallow-repository"))
	return dir
}

func lines(cs actions.ChangeSet) map[string][]int {
	out := map[string][]int{}
	for f, ls := range cs {
		out[f] = []int{}
		for l := range ls {
			out[f] = append(out[f], l)
		}
		sort.Ints(out[f])
	}
	return out
}

func TestResolveBaseline_RealHistory(t *testing.T) {
	h := newHistory(t)
	prChanges := map[string][]int{"a.sh": {2, 4}}
	tests := []struct {
		name     string
		checkout string
		ev       Event
		baseRef  string
		want     string // the baseline commit ("" none)
		changes  map[string][]int
		how      string
	}{
		{name: "pull request, merge commit checked out (the default)", checkout: h.merged,
			ev:   Event{Name: "pull_request", BaseSHA: h.c2, HeadSHA: h.f1},
			want: h.c2, changes: prChanges, how: "first parent of the merge commit"},
		{name: "pull request, head checked out", checkout: h.f1,
			ev:   Event{Name: "pull_request", BaseSHA: h.c2, HeadSHA: h.f1},
			want: h.c1, changes: prChanges, how: "the merge base of the pull request's base"},
		{name: "push", checkout: h.c2, ev: Event{Name: "push", Before: h.c1, After: h.c2, DefaultBranch: "main"},
			want: h.c1, changes: map[string][]int{"b.sh": {1, 2, 3, 4, 5}}, how: "the push's previous tip"},
		{name: "first push of a new branch (before all zeros)", checkout: h.f1,
			ev:   Event{Name: "push", Before: zeroSHA, After: h.f1, DefaultBranch: "main"},
			want: h.c1, changes: prChanges, how: "a new branch: the merge base with main"},
		{name: "push whose before cannot be fetched", checkout: h.f1,
			ev:   Event{Name: "push", Before: strings.Repeat("ab", 20), After: h.f1, DefaultBranch: "main"},
			want: h.c1, changes: prChanges, how: "cannot be fetched"},
		{name: "first push of the default branch", checkout: h.c2,
			ev:   Event{Name: "push", Before: zeroSHA, After: h.c2, DefaultBranch: "main"},
			want: "", how: "every line counts as new"},
		{name: "base-ref given (a branch of the remote)", checkout: h.f1, baseRef: "main",
			want: h.c1, changes: prChanges, how: "the merge base of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := h.checkout(t, tc.checkout)
			b, err := ResolveBaseline(context.Background(), Git{Dir: dir}, tc.ev, tc.baseRef)
			require.NoError(t, err)
			assert.Equal(t, tc.want, b.Commit)
			assert.Contains(t, b.How, tc.how)
			if tc.want != "" {
				assert.Equal(t, tc.changes, lines(b.Changes))
			}
		})
	}
}

// After a force-push, before is not an ancestor of after: the lines that differ from the old
// tip are the new ones.
func TestResolveBaseline_ForcePush(t *testing.T) {
	h := newHistory(t)
	git(t, h.origin, "checkout", "-q", "-B", "feature", h.c1)
	write(t, h.origin, "a.sh", "#!/bin/sh\necho one\necho TWO\n")
	rewritten := commit(t, h.origin, "f1 rewritten")
	git(t, h.origin, "checkout", "-q", "main")
	dir := h.checkout(t, rewritten)
	b, err := ResolveBaseline(context.Background(), Git{Dir: dir}, Event{Name: "push", Before: h.f1, After: rewritten, Forced: true, DefaultBranch: "main"}, "")
	require.NoError(t, err)
	assert.Equal(t, h.f1, b.Commit, "the old tip, fetched although no branch points to it any more")
	assert.Contains(t, b.How, "force-push")
	assert.Equal(t, map[string][]int{"a.sh": {2, 3}}, lines(b.Changes), "line 2 differs from the old tip again, line 3 is new, line 4 is gone")
}

func TestResolveBaseline_Errors(t *testing.T) {
	h := newHistory(t)
	dir := h.checkout(t, h.f1)
	_, err := ResolveBaseline(context.Background(), Git{Dir: dir}, Event{}, "")
	assert.ErrorContains(t, err, "only-new needs a base: set base-ref")
	_, err = ResolveBaseline(context.Background(), Git{Dir: dir}, Event{Name: "workflow_dispatch"}, "")
	assert.ErrorContains(t, err, "only-new on a workflow_dispatch event needs base-ref")
	_, err = ResolveBaseline(context.Background(), Git{Dir: dir}, Event{}, "no-such-branch")
	assert.ErrorContains(t, err, `base-ref "no-such-branch": no such commit or branch`)
	_, err = ResolveBaseline(context.Background(), Git{Dir: dir}, Event{Name: "pull_request"}, "")
	assert.ErrorContains(t, err, "without pull_request.base.sha")
}

func TestReadEvent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "event.json")
	payload := map[string]any{"before": "b", "after": "a", "forced": true, "repository": map[string]any{"default_branch": "main"},
		"pull_request": map[string]any{"base": map[string]any{"sha": "base"}, "head": map[string]any{"sha": "head"}}}
	data, _ := json.Marshal(payload)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	ev, err := ReadEvent("pull_request", p)
	require.NoError(t, err)
	assert.Equal(t, Event{Name: "pull_request", BaseSHA: "base", HeadSHA: "head", Before: "b", After: "a", Forced: true, DefaultBranch: "main"}, ev)
	require.NoError(t, os.WriteFile(p, []byte("{"), 0o644))
	_, err = ReadEvent("push", p)
	assert.ErrorContains(t, err, "reading the event payload")
}

func TestParseChanges(t *testing.T) {
	diff := `diff --git a/x.go b/x.go
index 1..2 100644
--- a/x.go
+++ b/x.go
@@ -1,0 +2,2 @@
+a
+b
@@ -10 +12 @@
-c
+d
diff --git a/gone.go b/gone.go
deleted file mode 100644
--- a/gone.go
+++ /dev/null
@@ -1 +0,0 @@
-x
diff --git a/old.sh b/new.sh
similarity index 100%
rename from old.sh
rename to new.sh
diff --git a/y.py b/y.py
--- a/y.py
+++ b/y.py
@@ -4,2 +3,0 @@
-p
-q
`
	cs, err := ParseChanges([]byte(diff))
	require.NoError(t, err)
	assert.Equal(t, map[string][]int{"x.go": {2, 3, 12}, "new.sh": {}, "y.py": {}}, lines(cs))
}

// Only-new: a finding on an unchanged line is not counted, so it neither fails the run nor is
// annotated; one on a changed line is.
func TestJudge_OnlyNew(t *testing.T) {
	cs := actions.ChangeSet{}
	cs.Add("a.sh", 4)
	base := &Baseline{Commit: "c", Changes: cs}
	old := Finding{Tool: "shellcheck", File: "a.sh", Line: 2, Severity: SevError, Rule: "SC2164", Message: "old"}
	fresh := Finding{Tool: "shellcheck", File: "a.sh", Line: 4, Severity: SevWarning, Rule: "SC2086", Message: "new"}
	rep := &Report{Results: []Result{{Linter: shellcheck, Findings: []Finding{old, fresh}}}}

	v := Judge(rep, base, true, FailOnError)
	assert.False(t, v.Failed, "the error is on an unchanged line")
	assert.Equal(t, []Finding{fresh}, v.Counted)
	assert.Equal(t, 1, v.Ignored)
	require.Len(t, v.Annotations(), 1)
	assert.Equal(t, "new", v.Annotations()[0].Message)

	assert.True(t, Judge(rep, base, true, FailOnWarning).Failed)
	assert.True(t, Judge(rep, base, false, FailOnError).Failed, "without only-new every finding counts")
	v = Judge(rep, &Baseline{How: "every line counts as new"}, true, FailOnError)
	assert.True(t, v.Failed, "with no baseline commit every line is new")
}
