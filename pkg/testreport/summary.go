package testreport

import (
	"fmt"
	"strings"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// Safe makes text printed by a test harmless in a workflow log: a line that would start a
// workflow command (::name::, ##[name]) after optional white space gets a zero-width space
// between its first two characters, and carriage returns (which can hide text) become
// newlines. Test output is untrusted: a pull request can make a test print anything.
func Safe(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t\v\f\u00a0")
		if strings.HasPrefix(t, "::") || strings.HasPrefix(t, "##[") {
			lead := l[:len(l)-len(t)]
			lines[i] = lead + t[:1] + "\u200b" + t[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// excerpt is the part of a test's output worth reading: without go test's framing lines, at
// most maxLines lines (the head and the tail) and maxBytes bytes.
func excerpt(out string, maxLines, maxBytes int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "=== RUN") || strings.HasPrefix(t, "=== PAUSE") || strings.HasPrefix(t, "=== CONT") ||
			strings.HasPrefix(t, "=== NAME") || strings.HasPrefix(t, "--- PASS") || strings.HasPrefix(t, "--- FAIL") ||
			strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > maxLines {
		head := maxLines / 3
		cut := len(keep) - maxLines
		keep = append(append(append([]string(nil), keep[:head]...), fmt.Sprintf("… (%d lines left out)", cut)), keep[head+cut:]...)
	}
	s := strings.Join(keep, "\n")
	if len(s) > maxBytes {
		s = s[:maxBytes] + "\n… (cut)"
	}
	return s
}

// Annotate issues an error annotation at the file and line of each failure (build failures
// first, then failed tests, then failed behavioural tests) and a warning for each flaky test;
// the Runtime keeps them within GitHub's budget and logs the rest.
func (r *Report) Annotate(rt *actions.Runtime) {
	for _, p := range r.Problems {
		msg := p.Message
		if p.Output != "" && p.File == "" {
			msg += "\n" + excerpt(p.Output, 15, 2000)
		}
		rt.Annotate(actions.Error, Safe(msg), actions.Annotation{File: p.File, Line: p.Line, Col: p.Col,
			Title: Safe(strings.TrimSpace(p.Kind + " failure " + p.Package))})
	}
	for _, t := range r.Suite.Failed() {
		rt.Annotate(actions.Error, Safe(failureMessage(t)), actions.Annotation{File: t.File, Line: t.Line, Title: Safe(t.Name + " failed")})
	}
	for _, t := range r.Suite.Leaves() {
		if t.Flaky && t.Status == Pass {
			rt.Annotate(actions.Warning, Safe(fmt.Sprintf("flaky: failed, then passed on rerun (%s)\n%s", attempts(t), failureMessage(t))),
				actions.Annotation{File: t.File, Line: t.Line, Title: Safe(t.Name + " is flaky")})
		}
	}
	for _, b := range r.Behavioural {
		if b.Decision == sprt.Fail || b.Decision == sprt.Undecided {
			msg := fmt.Sprintf("behavioural test %s: %d of %d runs passed (%.1f %%, 95 %% interval %.1f–%.1f %%), required %.0f %%",
				b.Decision, b.Passes, b.Runs, 100*b.Rate, 100*b.Low, 100*b.High, 100*r.Design.P0)
			if b.Output != "" {
				msg += "\nlast failure:\n" + excerpt(b.Output, 10, 1500)
			}
			rt.Annotate(actions.Error, Safe(msg), actions.Annotation{File: b.File, Line: b.Line, Title: Safe(b.Name + " " + string(b.Decision))})
		}
	}
}

func failureMessage(t *Test) string {
	ex := excerpt(t.Output, 12, 1500)
	if t.Message != "" && !strings.Contains(ex, t.Message) {
		ex = t.Message + "\n" + ex
	}
	if strings.TrimSpace(ex) == "" {
		ex = "failed (no output)"
	}
	return ex
}

func attempts(t *Test) string {
	s := make([]string, len(t.Attempts))
	for i, a := range t.Attempts {
		s[i] = string(a)
	}
	return strings.Join(s, " → ")
}

// md escapes text from a test (names, reasons) for a markdown table cell or a heading.
func md(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(Safe(s))
}

// Summary renders the step summary: the verdict and totals, the behavioural judgements, each
// failure with an excerpt of its output, the flaky tests, the slowest tests and the skipped
// tests with their reasons.
func (r *Report) Summary(failOnFlaky bool) *actions.Summary {
	s := new(actions.Summary)
	ok, reasons := r.Verdict(failOnFlaky)
	verdict := "passed"
	if !ok {
		verdict = "failed"
	}
	s.Heading(3, "Tests "+verdict)
	t := r.Totals
	s.Table([]string{"tests", "passed", "failed", "flaky", "skipped", "build/package failures", "behavioural", "time"},
		[][]string{{fmt.Sprint(t.Tests), fmt.Sprint(t.Passed), fmt.Sprint(t.Failed), fmt.Sprint(t.Flaky), fmt.Sprint(t.Skipped),
			fmt.Sprint(t.Problems), fmt.Sprint(len(r.Behavioural)), fmt.Sprintf("%.1f s", r.Duration)}})
	if len(reasons) > 0 {
		items := make([]string, len(reasons))
		for i, x := range reasons {
			items[i] = md(x)
		}
		s.List(items...)
	}
	if len(r.Behavioural) > 0 && r.Design != nil {
		d := r.Design
		s.Heading(4, "Behavioural tests")
		fixed := ""
		if d.FixedN > 0 {
			fixed = fmt.Sprintf(" A fixed-sample test with the same error rates would run each %d times.", d.FixedN)
		}
		s.Para(fmt.Sprintf("Judged as probabilities with Wald's sequential test: pass when the pass rate is at least %.3g, fail when it is at most %.3g (δ = %.3g), with error rates α = %.3g (failing a good test) and β = %.3g (passing a regressed one), at most %d runs each.%s",
			d.P0, d.P1, d.Delta, d.Alpha, d.Beta, d.MaxRuns, fixed))
		var rows [][]string
		for _, b := range r.Behavioural {
			dec := string(b.Decision)
			if dec == "" {
				dec = "not decided"
			}
			if b.Note != "" {
				dec += " (" + md(b.Note) + ")"
			}
			rows = append(rows, []string{md(b.Name), fmt.Sprint(b.Runs), fmt.Sprint(b.Passes), fmt.Sprintf("%.1f %%", 100*b.Rate),
				fmt.Sprintf("%.1f–%.1f %%", 100*b.Low, 100*b.High), "**" + dec + "**"})
		}
		s.Table([]string{"test", "runs", "passed", "pass rate", "95 % Wilson interval", "decision"}, rows)
	}
	for _, p := range r.Problems {
		where := ""
		if p.File != "" {
			where = fmt.Sprintf("`%s:%d`", p.File, p.Line)
		}
		s.Details(fmt.Sprintf("%s failure %s: %s", p.Kind, p.Package, Safe(p.Message)), strings.TrimSpace(where)+"\n\n"+codeBlock(excerpt(p.Output, 40, 4000)))
	}
	failed := r.Suite.Failed()
	if len(failed) > 0 {
		s.Heading(4, "Failures")
		for i, f := range failed {
			if i == 30 {
				s.Para(fmt.Sprintf("… and %d more failures (all in the JSON report).", len(failed)-30))
				break
			}
			where := ""
			if f.File != "" {
				where = fmt.Sprintf("`%s:%d`", f.File, f.Line)
			}
			s.Details(Safe(f.FullName()), where+"\n\n"+codeBlock(failureMessage(f)))
		}
	}
	var flaky [][]string
	for _, f := range r.Suite.Leaves() {
		if f.Flaky {
			flaky = append(flaky, []string{md(f.FullName()), attempts(f), md(loc(f))})
		}
	}
	if len(flaky) > 0 {
		s.Heading(4, "Flaky tests")
		s.Para("Failed, then passed when rerun: counted as flaky, not as passed.")
		s.Table([]string{"test", "runs", "where it failed"}, flaky)
	}
	if slow := r.Suite.Slowest(5); len(slow) > 0 && slow[0].Elapsed > 0 {
		var rows [][]string
		for _, f := range slow {
			if f.Elapsed >= 0.005 { // go test rounds to 0.01 s: a zero says nothing
				rows = append(rows, []string{md(f.FullName()), fmt.Sprintf("%.2f s", f.Elapsed)})
			}
		}
		s.Heading(4, "Slowest tests")
		s.Table([]string{"test", "time"}, rows)
	}
	var skipped [][]string
	for _, f := range r.Suite.Leaves() {
		if f.Status == Skip {
			skipped = append(skipped, []string{md(f.FullName()), md(f.SkipReason)})
		}
	}
	if len(skipped) > 0 {
		if len(skipped) > 50 {
			skipped = append(skipped[:50], []string{fmt.Sprintf("… %d more", len(skipped)-50), ""})
		}
		s.Heading(4, "Skipped tests")
		s.Table([]string{"test", "reason"}, skipped)
	}
	return s
}

func loc(t *Test) string {
	if t.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", t.File, t.Line)
}

func codeBlock(text string) string {
	text = Safe(text)
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + "text\n" + strings.TrimRight(text, "\n") + "\n" + fence
}
