package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/sarif"
)

// actions/lint under act on the fixture repository (as a working-directory of this repository):
// the composite sets up the binary, runs three linters at once with per-linter args, fails the
// step on the fixture's errors and still sets its outputs and writes SARIF that validates.
func TestLintAction_FixtureUnderAct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act")
	}
	for _, p := range []string{"shellcheck", "yamllint", "flake8"} {
		testenv.LookPath(t, p, "run .ci/run")
	}
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/lint-action.yml"),
		Timeout:  10 * time.Minute,
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "failure", res.Outputs["outcome"], "fail-on error fails the step")
	assert.Equal(t, "true", res.Outputs["failed"])
	assert.Equal(t, "lint.sarif", res.Outputs["sarif"])
	assert.NotEmpty(t, res.Outputs["findings"])
	assert.NotEqual(t, "0", res.Outputs["findings"])
	for _, want := range []string{
		"::error col=12,file=pkg/lint/testdata/fixture/app/main.py,line=8,title=flake8 F821::undefined name",
		"::warning col=1,file=pkg/lint/testdata/fixture/scripts/deploy.sh,line=3,title=shellcheck SC2164::",
		"::error col=3,file=pkg/lint/testdata/fixture/config.yaml,line=4,title=yamllint key-duplicates::",
	} {
		assert.Contains(t, res.Log, want, "annotations name files from the repository root")
	}
	assert.NotContains(t, res.Log, "E501", "flake8's args reached it")
	assert.Contains(t, res.Summary, "| linter | version | errors | warnings | info | time | status |")
	require.NoError(t, sarif.Validate([]byte(res.Outputs["sarif-json"])), "the SARIF file validates")
	assert.Contains(t, res.Outputs["sarif-json"], `"uri": "pkg/lint/testdata/fixture/config.yaml"`)
}
