package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
)

// actions/test under act: inputs reach the binary through env:, a failing suite fails the step
// with its outputs set and its annotation at the failing line, a flaky test passes the step
// but is counted, and a behavioural test is judged.
func TestTestAction_UnderAct(t *testing.T) {
	acttest.Act(t)
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/test-action.yml"),
		Env: map[string]string{"FIXTURE_FLAKY_DIR": t.TempDir(), "FIXTURE_BEHAVE_DIR": t.TempDir(),
			"FIXTURE_RATE_TestAnswer": "1", "GOFLAGS": "-mod=mod"},
		Timeout: 8 * time.Minute,
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "failure", res.Outputs["failing-outcome"], "exit code 2 fails the step")
	assert.Equal(t, "2", res.Outputs["failing-failed"])
	assert.Equal(t, "2", res.Outputs["failing-passed"])
	assert.Equal(t, "yes", res.Outputs["failing-report-exists"], "the report path is relative to the workspace, not to working-directory")
	assert.Equal(t, "success", res.Outputs["flaky-outcome"], "flaky without fail-on-flaky passes")
	assert.Equal(t, "1", res.Outputs["flaky-flaky"])
	assert.Equal(t, "1", res.Outputs["flaky-passed"])
	assert.Equal(t, "success", res.Outputs["behavioural-outcome"])
	assert.Equal(t, "test-report.json", res.Outputs["behavioural-report"])
	assert.Contains(t, res.Log, "::error file=pkg/testreport/testdata/gofixture/fail/fail_test.go,line=8,title=TestAdd failed::")
	assert.Contains(t, res.Summary, "### Tests failed")
	assert.Contains(t, res.Summary, "#### Flaky tests")
	assert.Contains(t, res.Summary, "| TestAnswer |")
}
