package promote

import (
	"fmt"
	"strings"
)

// Summary is the step summary in markdown: a table (policy, from, to, tag, digest, PR), the
// one-line diff, and the superseded promotions.
func (r Result) Summary() string {
	var b strings.Builder
	title := "Promotion"
	if r.DryRun {
		title = "Promotion (dry run)"
	}
	fmt.Fprintf(&b, "### %s of `%s`: %s\n\n%s.\n\n", title, r.Policy, r.Operation, cell(r.Message))
	b.WriteString("| policy | from | to | tag | digest | PR |\n|---|---|---|---|---|---|\n")
	pr := "—"
	switch {
	case r.PR.Number > 0 && r.PR.URL != "":
		pr = fmt.Sprintf("[#%d](%s)", r.PR.Number, r.PR.URL)
	case r.PR.ID() != "":
		pr = "`" + r.PR.Ref() + "`"
	}
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", code(r.Policy), code(r.PreviousRange), code(r.Range), code(r.Tag), code(r.Digest), pr)
	if r.Diff != "" {
		fmt.Fprintf(&b, "\n```diff\n%s```\n", r.Diff)
	}
	if len(r.Superseded) > 0 {
		b.WriteString("\nSuperseded (closed):\n")
		for _, s := range r.Superseded {
			fmt.Fprintf(&b, "- %s %s\n", s.Ref(), cell(s.Title))
		}
	}
	for _, i := range r.Ignored {
		fmt.Fprintf(&b, "\nIgnored: %s\n", cell(i))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", cell(n))
	}
	return b.String()
}

// code is s as inline code, or a dash when empty.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + cell(s) + "`"
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }
