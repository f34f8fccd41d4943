package testreport

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// The step summary of a report with a failure, a flaky test, a skipped test, a build failure
// and behavioural judgements, against testdata/summary.golden.md.
func TestSummary_Golden(t *testing.T) {
	read := func(name string) *Suite {
		f, err := os.Open(filepath.Join("testdata", "go", name+".jsonl"))
		require.NoError(t, err)
		defer f.Close()
		s, err := ParseGoJSON(name, f)
		require.NoError(t, err)
		return s
	}
	s := read("fail")
	s.Merge(read("buildfail"))
	// TestAdd passes on a rerun: flaky.
	s.Merge(&Suite{Tests: []*Test{{Package: "example.com/fixture/fail", Name: "TestAdd", Status: Pass, Attempts: []Status{Pass}, format: "go"}}})
	fixtureLocator.Locate(s)
	d := sprt.Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 200}
	seq := func(pattern string, n int) []bool {
		var out []bool
		for range n {
			for _, c := range pattern {
				out = append(out, c == 'P')
			}
		}
		return out
	}
	rep := &Report{V: 1, Runner: RunnerGo, Suite: s, Totals: s.Totals(), Duration: 12.5,
		Design: &DesignReport{P0: 0.9, P1: 0.8, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 200, FixedN: 135},
		Behavioural: []*Behaviour{
			{Package: "example.com/fixture/behave", Name: "TestAnswer", Result: d.Summarise(seq("P", 26))},
			{Package: "example.com/fixture/behave", Name: "TestPrompts/refund", Result: d.Summarise(seq("PFF", 3)),
				File: "gofixture/behave/behave_test.go", Line: 60, Output: "    behave_test.go:60: answer to refund wrong (draw 0.712)\n"},
		}}
	got := rep.Summary(false).String()
	want := filepath.Join("testdata", "summary.golden.md")
	if *update || *updateGolden {
		require.NoError(t, os.WriteFile(want, []byte(got), 0o644))
	}
	w, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, string(w), got)
}
