package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/sarif"
)

// securitySeverity is GitHub's security-severity score per Trivy severity (what code scanning
// sorts and labels by: ≥9 critical, ≥7 high, ≥4 medium, >0 low).
var securitySeverity = map[string]string{"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "UNKNOWN": "0.0"}

func sarifLevel(sev string) string {
	switch sev {
	case "CRITICAL", "HIGH":
		return sarif.LevelError
	case "MEDIUM":
		return sarif.LevelWarning
	}
	return sarif.LevelNote
}

// Outputs are the step outputs: verdict, counts, report, sarif, referrer.
func (r Result) Outputs(sarifPath string) [][2]string {
	counts, _ := json.Marshal(r.Counts)
	return [][2]string{{"verdict", r.Verdict.String()}, {"counts", string(counts)}, {"report", r.ReportPath},
		{"sarif", sarifPath}, {"referrer", r.Referrer}, {"digest", r.Digest}}
}

// SARIFRun is the gating findings as one SARIF run: exactly what failed the scan, nothing
// below the threshold and nothing ignored, so code scanning shows what gated.
func (r Result) SARIFRun() sarif.Run {
	run := sarif.Run{Tool: "Trivy (via Flightline)", Version: strings.TrimPrefix(r.Trivy, "v"), InformationURI: "https://trivy.dev"}
	seen := map[string]bool{}
	for _, f := range r.Gating {
		if !seen[f.ID] {
			seen[f.ID] = true
			help := f.URL
			if help == "" {
				help = "https://avd.aquasec.com/nvd/" + strings.ToLower(f.ID)
			}
			title := f.Title
			if title == "" {
				title = f.ID
			}
			run.Rules = append(run.Rules, sarif.Rule{ID: f.ID, Name: f.ID, ShortDescription: title, HelpURI: help,
				Level:      sarifLevel(f.Severity),
				Properties: map[string]any{"security-severity": securitySeverity[f.Severity], "tags": []string{"security", "vulnerability", f.Severity}}})
		}
		run.Results = append(run.Results, sarif.Result{RuleID: f.ID, Level: sarifLevel(f.Severity), File: f.File,
			Message: findingMessage(f), Fingerprint: f.Fingerprint})
	}
	return run
}

// WriteSARIF writes SARIFRun as a SARIF 2.1.0 log within GitHub's upload limits.
func (r Result) WriteSARIF(w io.Writer) error { return sarif.Write(w, r.SARIFRun()) }

func findingMessage(f Finding) string {
	fix := "no fixed version yet"
	if f.Fixed != "" {
		fix = "fixed in " + f.Fixed
	}
	msg := fmt.Sprintf("%s %s: %s %s, %s", f.Severity, f.ID, f.Package, f.Installed, fix)
	if len(f.Platforms) > 0 {
		msg += " (" + strings.Join(f.Platforms, ", ") + ")"
	}
	if f.Title != "" {
		msg += ": " + f.Title
	}
	return sanitize(msg)
}

// Annotator is where annotations go (pkg/actions' Runtime).
type Annotator interface {
	Annotate(level actions.Level, msg string, a actions.Annotation)
}

// Annotate issues the verdict's annotations, most severe first (GitHub shows a limited number
// per step; the rest go to the log): each gating finding as an error, then the ignore file's
// rejected, expired and stale entries at their line.
func (r Result) Annotate(a Annotator) {
	for _, f := range r.Gating {
		a.Annotate(actions.Error, findingMessage(f), actions.Annotation{File: f.File, Title: "vulnerability " + f.ID})
	}
	for _, e := range r.Rejected {
		a.Annotate(actions.Error, fmt.Sprintf("ignore entry %s is not honoured: %s", e.ID, e.Problem), actions.Annotation{File: e.File, Line: e.Line, Title: "ignore file"})
	}
	for _, e := range r.Expired {
		a.Annotate(actions.Warning, fmt.Sprintf("ignore entry %s %s", e.ID, e.Problem), actions.Annotation{File: e.File, Line: e.Line, Title: "ignore file"})
	}
	for _, e := range r.Stale {
		a.Annotate(actions.Warning, fmt.Sprintf("ignore entry %s matched no finding: remove it if the vulnerability is gone", e.ID), actions.Annotation{File: e.File, Line: e.Line, Title: "stale ignore entry"})
	}
	for _, s := range r.Ignore.Sections {
		a.Annotate(actions.Notice, fmt.Sprintf("the %s section is not used: this scan looks for vulnerabilities only", s), actions.Annotation{File: r.Ignore.Path, Title: "ignore file"})
	}
}

// Summary renders the step summary from the verdict: counts by severity, the gating findings
// with installed and fixed versions, the ignored ones with statement and expiry, and the ignore
// file's problems.
func (r Result) Summary() *actions.Summary {
	s := new(actions.Summary)
	icon := "✅"
	if !r.Passed {
		icon = "❌"
	}
	what := r.Image
	if r.Digest != "" {
		what += "@" + r.Digest
	}
	s.Heading(2, fmt.Sprintf("%s Scan %s: `%s`", icon, r.Verdict.String(), sanitize(what)))
	unfixed := ""
	if r.Policy.IgnoreUnfixed {
		unfixed = fmt.Sprintf("; ignore-unfixed left out %d finding(s) without a fix", r.Unfixed)
	}
	s.Para(fmt.Sprintf("Gating severities: %s%s. Trivy %s, vulnerability DB updated %s.", strings.Join(r.Policy.Severities, ", "), unfixed, r.Trivy, r.DB.UpdatedAt.UTC().Format(time.RFC3339)))
	var hdr, row []string
	for i := len(Severities) - 1; i >= 0; i-- {
		sev := Severities[i]
		hdr = append(hdr, sev)
		c := fmt.Sprint(r.Counts[sev])
		if slices.Contains(r.Policy.Severities, sev) {
			c = "**" + c + "**"
		}
		row = append(row, c)
	}
	hdr, row = append(hdr, "ignored"), append(row, fmt.Sprint(len(r.Ignored)))
	s.Table(hdr, [][]string{row})
	if len(r.Platforms) > 0 {
		var rows [][]string
		for _, p := range r.Platforms {
			rows = append(rows, []string{p.Platform, "`" + p.Digest + "`", p.Verdict, fmt.Sprint(p.Gating)})
		}
		s.Para("Per platform (the verdict is the worst of them):").Table([]string{"platform", "digest", "verdict", "gating findings"}, rows)
	}
	if len(r.Gating) > 0 {
		var rows [][]string
		for _, f := range r.Gating {
			rows = append(rows, []string{f.Severity, link(f), f.Package, f.Installed, cmpOr(f.Fixed, "—"), f.File, strings.Join(f.Platforms, ", ")})
		}
		s.Heading(3, fmt.Sprintf("Gating findings (%d)", len(r.Gating))).
			Table([]string{"severity", "vulnerability", "package", "installed", "fixed", "file", "platforms"}, rows)
	}
	if len(r.Ignored) > 0 {
		var rows [][]string
		for _, ig := range r.Ignored {
			exp := "—"
			if !ig.ExpiresAt.IsZero() {
				exp = ig.ExpiresAt.Format("2006-01-02")
			}
			rows = append(rows, []string{ig.Severity, link(ig.Finding), ig.Package, ig.Installed, sanitize(ig.Statement), exp, cmpOr(ig.Where, ig.Source)})
		}
		s.Heading(3, fmt.Sprintf("Ignored (%d)", len(r.Ignored))).
			Table([]string{"severity", "vulnerability", "package", "installed", "statement", "expires", "entry"}, rows)
	}
	var problems []string
	for _, e := range r.Rejected {
		problems = append(problems, fmt.Sprintf("`%s` %s: not honoured: %s", e.Where(), e.ID, e.Problem))
	}
	for _, e := range r.Expired {
		problems = append(problems, fmt.Sprintf("`%s` %s: %s", e.Where(), e.ID, e.Problem))
	}
	for _, e := range r.Stale {
		problems = append(problems, fmt.Sprintf("`%s` %s: stale, it matched no finding", e.Where(), e.ID))
	}
	if len(problems) > 0 {
		s.Heading(3, "Ignore file").List(problems...)
	}
	if r.Referrer != "" {
		s.Para(fmt.Sprintf("Report attached to `%s@%s` as referrer `%s` (artifactType `%s`).", r.Image, r.Digest, r.Referrer, ArtifactType))
	}
	return s
}

func link(f Finding) string {
	if strings.HasPrefix(f.URL, "https://") {
		return fmt.Sprintf("[%s](%s)", f.ID, f.URL)
	}
	return f.ID
}
