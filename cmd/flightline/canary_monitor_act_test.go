package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
)

// The composite action under act, against a real Prometheus: inputs reach the binary through
// env:, outputs and the summary reach the workflow, and a rollback (exit 2) still sets its
// outputs for a following step or job.
func TestCanaryMonitorAction(t *testing.T) {
	acttest.Act(t)
	env := startCanaryEnv(t)
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/canary-monitor.yml"),
		Files:    map[string]string{"canary.yaml": cliAnalysis},
		Env:      map[string]string{"PROM_URL": env.prom.URL, "HEALTHY": env.healthy, "FAILING": env.failing},
		Timeout:  5 * time.Minute,
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "success", res.Outputs["healthy-decision"])
	assert.Equal(t, "healthy.json", res.Outputs["healthy-report"])
	assert.Equal(t, "yes", res.Outputs["healthy-report-exists"])
	assert.Equal(t, "rollback", res.Outputs["failing-decision"])
	assert.Equal(t, "failure", res.Outputs["failing-outcome"], "exit code 2 fails the step")
	assert.Contains(t, res.Outputs["failing-checks"], "request-success-rate: failed")
	assert.Contains(t, res.Summary, "canary agent: success")
	assert.Contains(t, res.Summary, "canary agent: rollback")
	assert.Contains(t, res.Summary, "xychart-beta")
	assert.Contains(t, res.Log, "tick 1 ")
}
