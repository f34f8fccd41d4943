package lint

import (
	"fmt"
	"strings"

	"github.com/labrats-work/flightline/pkg/actions"
)

// Severity is a finding's level, the same scale for every tool.
type Severity string

// The severities, most severe first.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevInfo    Severity = "info"
)

// rank orders severities: lower is more severe.
func (s Severity) rank() int {
	switch s {
	case SevError:
		return 0
	case SevWarning:
		return 1
	default:
		return 2
	}
}

// AtLeast reports whether s is at least as severe as o.
func (s Severity) AtLeast(o Severity) bool { return s.rank() <= o.rank() }

// Finding is one problem a linter reported. File is relative to the repository root with
// forward slashes (empty when the tool gave no file); Line and Col are 1-based, 0 when unknown.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Tool     string   `json:"tool"`
}

// String is the finding as a user reads it: "file:line:col: message [tool rule]".
func (f Finding) String() string {
	return fmt.Sprintf("%s%s: %s [%s %s]", actions.Position(f.File, f.Line, f.Col), f.Severity, oneLine(f.Message), f.Tool, f.Rule)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// Counts is a number of findings per severity.
type Counts struct{ Error, Warning, Info int }

// Add counts one finding.
func (c *Counts) Add(s Severity) {
	switch s {
	case SevError:
		c.Error++
	case SevWarning:
		c.Warning++
	default:
		c.Info++
	}
}

// Total is the sum.
func (c Counts) Total() int { return c.Error + c.Warning + c.Info }
