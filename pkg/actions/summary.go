package actions

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// SummaryLimit is the most a step summary may hold: GitHub rejects a step's summary over
// 1 MiB, so the Runtime stays below it with room for the truncation note.
const SummaryLimit = 1<<20 - 4<<10

// Summary builds a step summary in GitHub-flavoured markdown. The zero value is ready to use.
type Summary struct {
	b strings.Builder
}

// Heading adds a heading of level 1 to 6.
func (s *Summary) Heading(level int, text string) *Summary {
	level = min(max(level, 1), 6)
	fmt.Fprintf(&s.b, "%s %s\n\n", strings.Repeat("#", level), oneLine(text))
	return s
}

// Para adds a paragraph of markdown text.
func (s *Summary) Para(text string) *Summary {
	fmt.Fprintf(&s.b, "%s\n\n", strings.TrimRight(text, "\n"))
	return s
}

// List adds a bulleted list.
func (s *Summary) List(items ...string) *Summary {
	for _, it := range items {
		fmt.Fprintf(&s.b, "- %s\n", oneLine(it))
	}
	s.b.WriteString("\n")
	return s
}

// Table adds a table; cells are escaped so that a '|' or a newline cannot break the layout.
func (s *Summary) Table(header []string, rows [][]string) *Summary {
	if len(header) == 0 {
		return s
	}
	row := func(cells []string) {
		s.b.WriteString("|")
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			fmt.Fprintf(&s.b, " %s |", cell(c))
		}
		s.b.WriteString("\n")
	}
	row(header)
	s.b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		row(r)
	}
	s.b.WriteString("\n")
	return s
}

// Code adds a fenced code block; the fence is longer than any backtick run inside.
func (s *Summary) Code(lang, text string) *Summary {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	fmt.Fprintf(&s.b, "%s%s\n%s\n%s\n\n", fence, lang, strings.TrimRight(text, "\n"), fence)
	return s
}

// Details adds a collapsible section whose body is markdown.
func (s *Summary) Details(summary, body string) *Summary {
	fmt.Fprintf(&s.b, "<details><summary>%s</summary>\n\n%s\n\n</details>\n\n", htmlEscape(oneLine(summary)), strings.TrimRight(body, "\n"))
	return s
}

// Series is one line of a Chart.
type Series struct {
	Name   string
	Values []float64 // NaN (no data) is drawn at the axis minimum; say so in the chart's title or text
}

// Chart is a mermaid xychart-beta line chart: one or more series over labelled x positions,
// for example a metric per tick against its threshold.
type Chart struct {
	Title      string
	XLabels    []string
	YLabel     string
	YMin, YMax *float64 // nil: mermaid picks the range
	Series     []Series
}

// Chart adds a mermaid chart, preceded by a legend naming the series in order (mermaid's
// xychart has no legend of its own).
func (s *Summary) Chart(c Chart) *Summary {
	if len(c.Series) == 0 {
		return s
	}
	var names []string
	for i, se := range c.Series {
		names = append(names, fmt.Sprintf("line %d: %s", i+1, se.Name))
	}
	fmt.Fprintf(&s.b, "_%s_\n\n", oneLine(strings.Join(names, " · ")))
	lo := math.Inf(1)
	for _, se := range c.Series {
		for _, v := range se.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo = math.Min(lo, v)
			}
		}
	}
	if c.YMin != nil {
		lo = *c.YMin
	}
	if math.IsInf(lo, 1) {
		lo = 0
	}
	s.b.WriteString("```mermaid\nxychart-beta\n")
	if c.Title != "" {
		fmt.Fprintf(&s.b, "    title %s\n", quote(c.Title))
	}
	labels := make([]string, len(c.XLabels))
	for i, l := range c.XLabels {
		labels[i] = quote(l)
	}
	fmt.Fprintf(&s.b, "    x-axis [%s]\n", strings.Join(labels, ", "))
	y := "    y-axis"
	if c.YLabel != "" {
		y += " " + quote(c.YLabel)
	}
	if c.YMin != nil && c.YMax != nil {
		y += fmt.Sprintf(" %s --> %s", num(*c.YMin), num(*c.YMax))
	}
	s.b.WriteString(y + "\n")
	for _, se := range c.Series {
		vals := make([]string, len(se.Values))
		for i, v := range se.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = lo
			}
			vals[i] = num(v)
		}
		fmt.Fprintf(&s.b, "    line [%s]\n", strings.Join(vals, ", "))
	}
	s.b.WriteString("```\n\n")
	return s
}

// String returns the markdown built so far.
func (s *Summary) String() string { return s.b.String() }

// Len returns the size of the markdown built so far, in bytes.
func (s *Summary) Len() int { return s.b.Len() }

// WriteSummary appends the summary to the step summary (GITHUB_STEP_SUMMARY), or, locally,
// prints it on stderr. A note about annotations that went over GitHub's budget is added. The
// whole step summary is kept under SummaryLimit: what does not fit is cut at a line boundary and
// a note says how much was left out.
func (r *Runtime) WriteSummary(s *Summary) error {
	text := s.String()
	if over := r.overBudget(); len(over) > 0 {
		var parts []string
		for _, l := range []Level{Error, Warning, Notice} {
			if n := over[l]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d more %s annotation(s)", n, l))
			}
		}
		text += fmt.Sprintf("> %s were not shown as annotations (GitHub shows %d per type per step); they are in the log.\n\n",
			strings.Join(parts, ", "), AnnotationBudget)
	}
	text = r.Redact(text)
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		_, err := fmt.Fprint(r.stderr, text)
		return err
	}
	used := int64(0)
	if fi, err := os.Stat(path); err == nil {
		used = fi.Size()
	}
	text = truncate(text, int(max(0, SummaryLimit-used)))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening GITHUB_STEP_SUMMARY: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("writing the step summary: %w", err)
	}
	return f.Close()
}

// truncate cuts text to at most limit bytes at a line boundary, ending with a note.
func truncate(text string, limit int) string {
	if len(text) <= limit {
		return text
	}
	const noteFmt = "\n\n> Summary truncated: %d bytes left out to stay under GitHub's 1 MiB step-summary limit.\n"
	note := fmt.Sprintf(noteFmt, len(text))
	keep := limit - len(note)
	if keep <= 0 {
		return ""
	}
	cut := strings.LastIndexByte(text[:keep], '\n')
	if cut < 0 {
		cut = 0
	}
	return text[:cut] + fmt.Sprintf(noteFmt, len(text)-cut)
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func quote(s string) string { return strconv.Quote(strings.ReplaceAll(oneLine(s), `"`, "'")) }

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SortedKeys returns a map's keys in order, for deterministic tables.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
