package actions

import (
	"fmt"
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
		var pos []string
		if a.File != "" {
			pos = append(pos, a.File)
			if a.Line > 0 {
				pos = append(pos, strconv.Itoa(a.Line))
				if a.Col > 0 {
					pos = append(pos, strconv.Itoa(a.Col))
				}
			}
		}
		prefix := ""
		if len(pos) > 0 {
			prefix = strings.Join(pos, ":") + ": "
		}
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
