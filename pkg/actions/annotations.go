package actions

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Level is an annotation's severity.
type Level string

// The annotation levels GitHub knows.
const (
	Notice  Level = "notice"
	Warning Level = "warning"
	Error   Level = "error"
)

// AnnotationBudget is how many annotations of each level GitHub shows for one step; the rest
// are dropped by GitHub, so the Runtime logs them as plain lines and counts them in the summary.
const AnnotationBudget = 10

// Annotation places a message on a file position. Every field is optional.
type Annotation struct {
	File      string
	Line, Col int
	Title     string
}

// Annotate issues an annotation. In Actions the first AnnotationBudget of each level become
// ::LEVEL file=…:: workflow commands; the rest are logged. Locally it prints
// "file:line:col: level: message" on stderr.
func (r *Runtime) Annotate(level Level, msg string, a Annotation) {
	msg = r.Redact(msg)
	r.mu.Lock()
	r.annotations[level]++
	n := r.annotations[level]
	r.mu.Unlock()

	if !r.InActions() || n > AnnotationBudget {
		prefix := Position(a.File, a.Line, a.Col)
		fmt.Fprintf(r.stderr, "%s%s: %s\n", prefix, level, msg)
		return
	}
	fields := map[string]string{}
	if a.File != "" {
		fields["file"] = a.File
	}
	if a.Line > 0 {
		fields["line"] = strconv.Itoa(a.Line)
	}
	if a.Col > 0 {
		fields["col"] = strconv.Itoa(a.Col)
	}
	if a.Title != "" {
		fields["title"] = a.Title
	}
	g := r.gha.WithFieldsMap(fields)
	switch level {
	case Error:
		g.Errorf("%s", msg)
	case Warning:
		g.Warningf("%s", msg)
	default:
		g.Noticef("%s", msg)
	}
}

// overBudget returns, per level, how many annotations GitHub will not show.
func (r *Runtime) overBudget() map[Level]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[Level]int{}
	if !r.InActions() {
		return out
	}
	for l, n := range r.annotations {
		if n > AnnotationBudget {
			out[l] = n - AnnotationBudget
		}
	}
	return out
}

// Changes is what annotation ordering needs to know about a change (a pull request's diff, or
// a push's). Paths are relative to the repository root with forward slashes, as annotations use.
type Changes interface {
	// ChangedLine reports whether the change added or modified line of file.
	ChangedLine(file string, line int) bool
	// ChangedFile reports whether the change touched file at all.
	ChangedFile(file string) bool
}

// Rank is where an annotation stands when GitHub's budget is spent.
type Rank int

// The ranks, best first.
const (
	OnChangedLine Rank = iota // on a line the change added or modified
	InChangedFile             // elsewhere in a file the change touched
	Elsewhere                 // in a file the change did not touch, or without a file
)

// String names the rank for summaries.
func (k Rank) String() string {
	switch k {
	case OnChangedLine:
		return "on changed lines"
	case InChangedFile:
		return "in changed files"
	default:
		return "elsewhere"
	}
}

// RankOf ranks an annotation against a change; with no change (nil) everything is Elsewhere.
func RankOf(a Annotation, c Changes) Rank {
	if c == nil || a.File == "" {
		return Elsewhere
	}
	if a.Line > 0 && c.ChangedLine(a.File, a.Line) {
		return OnChangedLine
	}
	if c.ChangedFile(a.File) {
		return InChangedFile
	}
	return Elsewhere
}

// Item is an annotation waiting for its turn.
type Item struct {
	Level   Level
	Message string
	Annotation
}

// Order returns the items in the order GitHub's budget should be spent on them: those on
// changed lines first, then those in changed files, then the rest; within a rank, the order
// given is kept. The input slice is not modified.
func Order(items []Item, c Changes) []Item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b Item) int { return cmp.Compare(RankOf(a.Annotation, c), RankOf(b.Annotation, c)) })
	return out
}

// Spent says how annotations went: per rank, how many GitHub shows (locally: how many were
// printed, which is all) and how many went over the budget (those are logged as plain lines,
// and WriteSummary counts them).
type Spent struct {
	Shown, Over [3]int // indexed by Rank
}

// ShownTotal and OverTotal add up the ranks.
func (s Spent) ShownTotal() int { return s.Shown[0] + s.Shown[1] + s.Shown[2] }

// OverTotal is how many annotations went over the budget.
func (s Spent) OverTotal() int { return s.Over[0] + s.Over[1] + s.Over[2] }

// AnnotateOrdered issues items in Order against c, so that the per-level budget goes to the
// changed lines first, and says how it was spent. Locally every item is printed, in that order.
func (r *Runtime) AnnotateOrdered(items []Item, c Changes) Spent {
	var s Spent
	for _, it := range Order(items, c) {
		r.mu.Lock()
		shown := !r.InActions() || r.annotations[it.Level] < AnnotationBudget
		r.mu.Unlock()
		rank := RankOf(it.Annotation, c)
		if shown {
			s.Shown[rank]++
		} else {
			s.Over[rank]++
		}
		r.Annotate(it.Level, it.Message, it.Annotation)
	}
	return s
}

// ChangeSet is Changes held in memory: each touched file with the lines added or modified in
// it (none for a file that was only deleted from, renamed or changed in mode).
type ChangeSet map[string]map[int]bool

// Add records lines of file as changed; with no lines it records that the file was touched.
func (cs ChangeSet) Add(file string, lines ...int) {
	m := cs[file]
	if m == nil {
		m = map[int]bool{}
		cs[file] = m
	}
	for _, l := range lines {
		m[l] = true
	}
}

// ChangedLine implements Changes.
func (cs ChangeSet) ChangedLine(file string, line int) bool { return cs[file][line] }

// ChangedFile implements Changes.
func (cs ChangeSet) ChangedFile(file string) bool { _, ok := cs[file]; return ok }

// Position is the "file:line:col: " prefix of a finding as people read it: only the parts that
// are known (a line without a file, or a column without a line, is left out); empty when the
// file is unknown.
func Position(file string, line, col int) string {
	if file == "" {
		return ""
	}
	pos := []string{file}
	if line > 0 {
		pos = append(pos, strconv.Itoa(line))
		if col > 0 {
			pos = append(pos, strconv.Itoa(col))
		}
	}
	return strings.Join(pos, ":") + ": "
}
