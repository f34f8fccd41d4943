package testreport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// Report is the result of flightline test: the suite, the behavioural judgements and the totals.
// It is written as JSON (WriteJSON) for artifacts.
type Report struct {
	V           int           `json:"v"`
	Runner      string        `json:"runner"`
	Totals      Totals        `json:"totals"`
	Duration    float64       `json:"durationSeconds"`
	Design      *DesignReport `json:"design,omitempty"`
	Behavioural []*Behaviour  `json:"behavioural,omitempty"`
	*Suite
}

// DesignReport is the sequential test the behavioural tests were judged by.
type DesignReport struct {
	P0      float64 `json:"p0"`
	P1      float64 `json:"p1"`
	Delta   float64 `json:"delta"`
	Alpha   float64 `json:"alpha"`
	Beta    float64 `json:"beta"`
	MaxRuns int     `json:"maxRuns"`
	FixedN  int     `json:"fixedN,omitempty"` // runs a fixed-sample design with the same α and β needs
}

// Behaviour is one behavioural test and its judgement.
type Behaviour struct {
	Package string `json:"package,omitempty"`
	Name    string `json:"name"`
	ID      string `json:"id,omitempty"`
	sprt.Result
	// Note says why a test stopped before a decision (it skipped itself, or a run errored).
	Note string `json:"note,omitempty"`
	// File and Line locate the last failing run; Output is its output (capped).
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Output string `json:"output,omitempty"`
}

// Verdict says whether the gate passes and, when it does not, why (one reason per line).
func (r *Report) Verdict(failOnFlaky bool) (ok bool, reasons []string) {
	t := r.Totals
	if t.Failed > 0 {
		reasons = append(reasons, fmt.Sprintf("%d test(s) failed", t.Failed))
	}
	if t.Problems > 0 {
		reasons = append(reasons, fmt.Sprintf("%d package(s) failed to build or run", t.Problems))
	}
	if failOnFlaky && t.Flaky > 0 {
		reasons = append(reasons, fmt.Sprintf("%d test(s) were flaky and fail-on-flaky is set", t.Flaky))
	}
	for _, b := range r.Behavioural {
		switch b.Decision {
		case sprt.Fail:
			reasons = append(reasons, fmt.Sprintf("behavioural %s failed: %d of %d runs passed (%.0f %%, 95 %% interval %.0f–%.0f %%), below the required %.0f %%",
				b.Name, b.Passes, b.Runs, 100*b.Rate, 100*b.Low, 100*b.High, 100*r.Design.P0))
		case sprt.Undecided:
			why := fmt.Sprintf("still undecided after %d runs (max-runs): raise max-runs or widen indifference", b.Runs)
			if b.Note != "" {
				why = b.Note
			}
			reasons = append(reasons, fmt.Sprintf("behavioural %s undecided: %s", b.Name, why))
		}
	}
	return len(reasons) == 0, reasons
}

// WriteJSON writes the report to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
