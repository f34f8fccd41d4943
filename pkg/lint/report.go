package lint

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/sarif"
)

// FailOn is the lowest severity that fails the run.
type FailOn string

// The fail-on values.
const (
	FailOnError   FailOn = "error"
	FailOnWarning FailOn = "warning"
	FailOnNone    FailOn = "none"
)

// ParseFailOn validates the fail-on input.
func ParseFailOn(s string) (FailOn, error) {
	switch f := FailOn(strings.ToLower(strings.TrimSpace(s))); f {
	case FailOnError, FailOnWarning, FailOnNone:
		return f, nil
	case "":
		return FailOnError, nil
	}
	return "", fmt.Errorf("fail-on %q: want error, warning or none", s)
}

// Verdict is the outcome of a lint run: which findings count, and whether the run fails.
type Verdict struct {
	Report *Report
	// Baseline is what "changed" means (nil when no base could be found or none was asked for).
	Baseline *Baseline
	// OnlyNew limits the findings that count to changed lines.
	OnlyNew bool
	FailOn  FailOn
	// Counted are the findings that count (all of them, or those on changed lines).
	Counted []Finding
	// Ignored is how many findings only-new left out (on unchanged lines).
	Ignored int
	// Failed says whether the run fails: a counted finding at or above FailOn, or a linter that
	// could not run (unless FailOn is none).
	Failed bool
	// Reasons say why it failed, one per line.
	Reasons []string
}

// Judge applies only-new and fail-on to a report. With onlyNew and a baseline, a finding counts
// when its line was added or modified (a finding without a line, when its file was touched).
func Judge(rep *Report, base *Baseline, onlyNew bool, failOn FailOn) *Verdict {
	v := &Verdict{Report: rep, Baseline: base, OnlyNew: onlyNew, FailOn: failOn}
	for _, f := range rep.Findings() {
		if onlyNew && base != nil && base.Commit != "" && !isNew(f, base.Changes) {
			v.Ignored++
			continue
		}
		v.Counted = append(v.Counted, f)
	}
	if failOn == FailOnNone {
		return v
	}
	var c Counts
	for _, f := range v.Counted {
		if f.Severity.AtLeast(Severity(failOn)) {
			c.Add(f.Severity)
		}
	}
	if n := c.Total(); n > 0 {
		v.Failed = true
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d finding(s) at or above %s", n, failOn))
	}
	for _, r := range rep.Results {
		if r.Err != nil {
			v.Failed = true
			v.Reasons = append(v.Reasons, r.Err.Error())
		}
	}
	return v
}

func isNew(f Finding, cs actions.ChangeSet) bool {
	if f.File == "" {
		return false
	}
	if f.Line <= 0 {
		return cs.ChangedFile(f.File)
	}
	return cs.ChangedLine(f.File, f.Line)
}

// Annotations are the counted findings as annotations (every Finding's severity to a level).
func (v *Verdict) Annotations() []actions.Item {
	items := make([]actions.Item, 0, len(v.Counted))
	for _, f := range v.Counted {
		lvl := actions.Notice
		switch f.Severity {
		case SevError:
			lvl = actions.Error
		case SevWarning:
			lvl = actions.Warning
		}
		items = append(items, actions.Item{Level: lvl, Message: f.Message,
			Annotation: actions.Annotation{File: f.File, Line: f.Line, Col: f.Col, Title: f.Tool + " " + f.Rule}})
	}
	return items
}

// Changes is the baseline's change set, or nil.
func (v *Verdict) Changes() actions.Changes {
	if v.Baseline == nil || v.Baseline.Commit == "" {
		return nil
	}
	return v.Baseline.Changes
}

// SARIFRuns are one run per linter that ran, holding every finding (not only the new ones: code
// scanning tracks alerts across runs, and a run that left findings out would close them).
func (rep *Report) SARIFRuns() []sarif.Run {
	var runs []sarif.Run
	for _, r := range rep.Results {
		if r.Version == "" && r.Err != nil {
			continue // never ran
		}
		run := sarif.Run{Tool: r.Linter.Name, Version: r.Version, InformationURI: r.Linter.InfoURI}
		seen := map[string]bool{}
		for _, f := range r.Findings {
			rule := f.Rule
			if rule == "" {
				rule = f.Tool
			}
			if !seen[rule] {
				seen[rule] = true
				run.Rules = append(run.Rules, sarif.Rule{ID: rule, Name: rule, HelpURI: helpURI(f.Tool, rule)})
			}
			lvl := sarif.LevelNote
			switch f.Severity {
			case SevError:
				lvl = sarif.LevelError
			case SevWarning:
				lvl = sarif.LevelWarning
			}
			run.Results = append(run.Results, sarif.Result{RuleID: rule, Level: lvl, Message: f.Message, File: f.File, Line: f.Line, Col: f.Col})
		}
		runs = append(runs, run)
	}
	return runs
}

func helpURI(tool, rule string) string {
	switch tool {
	case "shellcheck":
		return "https://www.shellcheck.net/wiki/" + rule
	case "ruff":
		return "https://docs.astral.sh/ruff/rules/"
	case "go-vet":
		return "https://pkg.go.dev/golang.org/x/tools/go/analysis/passes/" + rule
	}
	return ""
}

// WriteSARIF writes the report as one SARIF file (a run per linter) and says what was cut.
func (rep *Report) WriteSARIF(w io.Writer) (sarif.Report, error) {
	return sarif.WriteReport(w, rep.SARIFRuns()...)
}

// FirstFindings is how many counted findings the summary lists.
const FirstFindings = 20

// Summary renders the step summary: a table per linter (version as run, findings by severity,
// time, status), what only-new compared with, the first findings (changed lines first), and
// the time Flightline spent itself.
func (v *Verdict) Summary(spent actions.Spent, sarifPath string, cut []sarif.Cut) *actions.Summary {
	s := new(actions.Summary)
	status := "passed"
	if v.Failed {
		status = "failed"
	}
	s.Heading(2, fmt.Sprintf("Lint %s: %d finding(s)", status, len(v.Counted)))
	counted := map[string]*Counts{}
	for _, f := range v.Counted {
		if counted[f.Tool] == nil {
			counted[f.Tool] = &Counts{}
		}
		counted[f.Tool].Add(f.Severity)
	}
	var rows [][]string
	for _, r := range v.Report.Results {
		c := Counts{}
		if p := counted[r.Linter.Name]; p != nil {
			c = *p
		}
		st := "ok"
		switch {
		case r.Err != nil:
			st = "**failed**: " + oneLine(r.Err.Error())
		case c.Total() < r.Counts.Total():
			st = fmt.Sprintf("ok (%d on unchanged lines not counted)", r.Counts.Total()-c.Total())
		}
		ver := r.Version
		if ver == "" {
			ver = "–"
		}
		rows = append(rows, []string{r.Linter.Name, ver, fmt.Sprint(c.Error), fmt.Sprint(c.Warning), fmt.Sprint(c.Info), round(r.Elapsed), st})
	}
	s.Table([]string{"linter", "version", "errors", "warnings", "info", "time", "status"}, rows)
	var notes []string
	if v.Baseline != nil {
		if v.OnlyNew {
			notes = append(notes, fmt.Sprintf("Only new findings count: compared with %s; %d finding(s) on unchanged lines left out.", v.Baseline.How, v.Ignored))
		} else {
			notes = append(notes, fmt.Sprintf("Changed lines (for the annotation order): against %s.", v.Baseline.How))
		}
	}
	if v.FailOn == FailOnNone {
		notes = append(notes, "fail-on is none: findings never fail the run.")
	} else {
		notes = append(notes, fmt.Sprintf("fail-on %s: the run fails on a finding at or above %s, or a linter that cannot run.", v.FailOn, v.FailOn))
	}
	if t := spent.ShownTotal() + spent.OverTotal(); t > 0 {
		notes = append(notes, fmt.Sprintf("Annotations: %d shown (%d on changed lines, %d in changed files, %d elsewhere), %d over GitHub's budget of %d per type (in the log).",
			spent.ShownTotal(), spent.Shown[actions.OnChangedLine], spent.Shown[actions.InChangedFile], spent.Shown[actions.Elsewhere], spent.OverTotal(), actions.AnnotationBudget))
	}
	if sarifPath != "" {
		notes = append(notes, "SARIF (a run per linter, every finding): "+sarifPath+".")
		for _, c := range cut {
			if msg := c.String(); msg != "" {
				notes = append(notes, "SARIF within GitHub's limits: "+msg+".")
			}
		}
	}
	own := v.Report.Wall - v.Report.InLinters
	notes = append(notes, fmt.Sprintf("Wall time %s, of which %s inside linter processes (they run at once) and %s in Flightline itself.",
		round(v.Report.Wall), round(v.Report.InLinters), round(own)))
	s.List(notes...)
	if len(v.Counted) > 0 {
		ordered := actions.Order(v.Annotations(), v.Changes())
		n := min(len(ordered), FirstFindings)
		var b strings.Builder
		for _, it := range ordered[:n] {
			f := Finding{File: it.File, Line: it.Line, Col: it.Col, Message: it.Message}
			tool, rule, _ := strings.Cut(it.Title, " ")
			f.Tool, f.Rule, f.Severity = tool, rule, severityOf(it.Level)
			b.WriteString(f.String() + "\n")
		}
		title := fmt.Sprintf("First %d of %d finding(s)", n, len(v.Counted))
		if v.Changes() != nil {
			title += ", changed lines first"
		}
		s.Heading(3, title).Code("text", b.String())
	}
	return s
}

func severityOf(l actions.Level) Severity {
	switch l {
	case actions.Error:
		return SevError
	case actions.Warning:
		return SevWarning
	}
	return SevInfo
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}
