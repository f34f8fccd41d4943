package rollback

import (
	"fmt"
	"strings"
)

// Summary is the step summary in markdown: what was reverted and why, the restored range and
// tag, and whether the rollback is exact.
func (r Result) Summary() string {
	var b strings.Builder
	title := "Rollback"
	if r.DryRun {
		title = "Rollback (dry run)"
	}
	fmt.Fprintf(&b, "### %s of `%s`: %s\n\n", title, r.Policy, r.Operation)
	if r.Message != "" {
		fmt.Fprintf(&b, "%s.\n\n", cell(r.Message))
	}
	b.WriteString("| reverted | rollback PR | restored range | restored tag | trigger | reason |\n|---|---|---|---|---|---|\n")
	reverted := "—"
	if r.Reverted.ID() != "" {
		reverted = link(r.Reverted.Number, r.Reverted.URL, r.Reverted.Ref())
		if r.Promotion.Tag != "" {
			reverted += fmt.Sprintf(" (`%s` → `%s`, tag `%s`)", r.Promotion.PreviousRange, r.Promotion.Range, r.Promotion.Tag)
		}
	}
	revert := "—"
	if r.Revert.ID() != "" {
		revert = link(r.Revert.Number, r.Revert.URL, r.Revert.Ref())
		if r.Merged {
			revert += " (merged)"
		}
	}
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n\n", reverted, revert, code(r.RestoredRange), code(r.RestoredTag), r.Trigger, cell(r.Reason))
	switch {
	case r.RestoredRange == "" || r.Operation == Refused:
	case r.Exact:
		fmt.Fprintf(&b, "Exact rollback: `%s` pins one version.\n", r.RestoredRange)
	case r.RestoredTag != "":
		fmt.Fprintf(&b, "Not an exact rollback: `%s` is a range, so Flux runs the newest tag in the old range, `%s` today.\n", r.RestoredRange, r.RestoredTag)
	default:
		fmt.Fprintf(&b, "Not an exact rollback: `%s` is a range, so Flux runs the newest tag in the old range.\n", r.RestoredRange)
	}
	if r.Verified {
		fmt.Fprintf(&b, "\nVerified: `%s` on `%s` pins `%s`. On the cluster, check the deployment's image and `flux get image policy`.\n", r.File, r.Base, r.RestoredRange)
	}
	for _, n := range r.Newer {
		fmt.Fprintf(&b, "\nNewer promotion merged since: %s %s\n", n.Ref(), cell(n.Title))
	}
	for _, i := range r.Ignored {
		fmt.Fprintf(&b, "\nIgnored: %s\n", cell(i))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> %s\n", cell(w))
	}
	return b.String()
}

func link(num int, url, ref string) string {
	if num > 0 && url != "" {
		return fmt.Sprintf("[#%d](%s)", num, url)
	}
	return "`" + ref + "`"
}

// code is s as inline code, or a dash when empty.
func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + cell(s) + "`"
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }
