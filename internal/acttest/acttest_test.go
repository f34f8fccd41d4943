package acttest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The version action proves the set-up path end to end: the binary is built (lean) from the
// action's own checkout, put on PATH, its outputs reach the workflow and its summary the job;
// the second use in the same job builds nothing.
func TestVersionAction_OutputsAndSummaryReachTheWorkflow(t *testing.T) {
	res := Run(t, Options{Workflow: filepath.Join(RepoRoot(t), "internal/acttest/testdata/version.yml")})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "dev", res.Outputs["version"])
	assert.Equal(t, "dev", res.Outputs["second"])
	assert.Equal(t, "lean", res.Outputs["edition"])
	assert.True(t, strings.HasSuffix(res.Outputs["on-path"], "/flightline"), res.Outputs["on-path"])
	assert.Contains(t, res.Summary, "### flightline dev")
	assert.Contains(t, res.Summary, "| commit | go | platform | edition |")
	assert.Contains(t, res.Log, "flightline: already set up in this job", "the second use is a no-op")
}

func TestSummaryFromLog(t *testing.T) {
	log := "[wf/job] ⭐ Run Main x\n[wf/job]   ⚙  Summary - ## Title\n\n| a |\n| --- |\n[wf/job]   ✅  Success\n"
	assert.Equal(t, "## Title\n\n| a |\n| --- |\n", summaryFromLog(log))
}
