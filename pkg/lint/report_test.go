package lint

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/sarif"
)

func TestVerdict_SummaryGolden(t *testing.T) {
	cs := actions.ChangeSet{}
	cs.Add("app/main.py", 8)
	rep := &Report{
		Wall: 2100 * time.Millisecond, InLinters: 2090 * time.Millisecond,
		Results: []Result{
			{Linter: flake8, Version: "5.0.4", Elapsed: 2 * time.Second, Counts: Counts{Error: 1, Warning: 1}, Findings: []Finding{
				{Tool: "flake8", File: "app/main.py", Line: 1, Col: 1, Rule: "F401", Severity: SevWarning, Message: "'os' imported but unused"},
				{Tool: "flake8", File: "app/main.py", Line: 8, Col: 12, Rule: "F821", Severity: SevError, Message: "undefined name 'x'"},
			}},
			{Linter: yamllint, Err: errors.New("yamllint: yamllint is not on PATH; install it with: pip install yamllint==1.38.0: linter not installed")},
		},
	}
	v := Judge(rep, &Baseline{Commit: "abc", How: "the pull request's base abc", Changes: cs}, true, FailOnError)
	s := v.Summary(actions.Spent{Shown: [3]int{1, 0, 0}}, "lint.sarif", []sarif.Cut{{Tool: "flake8", Results: 2, Kept: 1, NoLocation: 1}})
	p := filepath.Join("testdata", "summary.golden.md")
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(s.String()), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), s.String())
}
