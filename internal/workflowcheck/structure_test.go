package workflowcheck

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
)

// The repository's workflows and the example callers hold the structure rules: Flightline's
// reusable workflows run Flightline's actions at their own commit, no concurrency group can block,
// cancel or deadlock a rollback, and pull requests never promote.
func TestRepository_WorkflowStructure(t *testing.T) {
	root := acttest.RepoRoot(t)
	files := append(glob(t, root, ".github/workflows/*.yml"), glob(t, root, "examples/workflows/*.yml")...)
	require.NotEmpty(t, files)
	findings, err := CheckStructure(root, files)
	require.NoError(t, err)
	for _, f := range findings {
		f.File = rel(root, f.File)
		t.Error(f.String())
	}
}

// The pipeline and rollback workflows exist, are reusable, and use every Flightline stage through
// the self-checkout: the rules above would pass vacuously on a workflow that used nothing.
func TestRepository_PipelineUsesEveryStageAtItsOwnCommit(t *testing.T) {
	root := acttest.RepoRoot(t)
	want := map[string][]string{
		"pipeline.yml": {"lint", "test", "build", "scan", "promote", "canary-monitor", "rollback"},
		"rollback.yml": {"rollback"},
	}
	for file, actions := range want {
		w, err := LoadWorkflow(filepath.Join(root, ".github/workflows", file))
		require.NoError(t, err)
		assert.True(t, w.Reusable, "%s is callable with workflow_call", file)
		used := map[string]bool{}
		for _, j := range w.Jobs {
			for name, u := range j.actions() {
				used[name] = true
				assert.Equal(t, "./"+SelfDir+"/actions/"+name, u.Value, "%s job %s", file, j.Name)
			}
		}
		for _, a := range actions {
			assert.True(t, used[a], "%s uses actions/%s", file, a)
		}
	}
}

func TestCheckStructure_FindsEveryBrokenRule(t *testing.T) {
	root, err := filepath.Abs("testdata/structure")
	require.NoError(t, err)
	findings, err := CheckStructure(root, []string{filepath.Join(root, "caller.yml")})
	require.NoError(t, err)
	var got []string
	for _, f := range findings {
		f.File = rel(root, f.File)
		got = append(got, f.String())
	}
	assert.Equal(t, []string{
		`.github/workflows/pipeline.yml:18:15: ./actions/promote in a reusable workflow resolves against the caller's repository: use ./.flightline/actions/<name> after checking out Flightline at needs.flightline.outputs.sha [self-version]`,
		`.github/workflows/pipeline.yml:21:15: job "promote" uses ./.flightline/actions/promote before checking out Flightline at needs.flightline.outputs.sha into .flightline [self-version]`,
		`.github/workflows/pipeline.yml:24:11: actions/promote has no input "colour" [action-input]`,
		`.github/workflows/pipeline.yml:30:9: job "watch" checks out .flightline from somewhere else than needs.flightline.outputs.repository at needs.flightline.outputs.sha [self-version]`,
		`.github/workflows/pipeline.yml:35:15: job "watch" uses ./.flightline/actions/canary-monitor before checking out Flightline at needs.flightline.outputs.sha into .flightline [self-version]`,
		`.github/workflows/pipeline.yml:35:15: actions/canary-monitor needs the input "policy" [action-input]`,
		`.github/workflows/pipeline.yml:54:15: labrats-work/flightline/actions/rollback@0000000000000000000000000000000000000000 runs another commit of Flightline than this workflow's own: use ./.flightline/actions/<name> [self-version]`,
		`.github/workflows/pipeline.yml:26:5: job "watch" of a reusable workflow declares no permissions: of its own: state each grant it needs, with a comment [permissions]`,
		`.github/workflows/pipeline.yml:7:5: job "flightline" must read job.workflow_repository and job.workflow_sha (pass ${{ toJSON(job) }} through env:) [self-version]`,
		`.github/workflows/pipeline.yml:28:18: the watch (job "watch") holds the group "flightline-${{ inputs.policy }}" that job "rollback" also uses: a watch may hold it for hours [concurrency]`,
		`.github/workflows/pipeline.yml:44:14: job "rollback" rolls back inside the concurrency group "flightline-rollback": a rollback must never queue behind a watch nor be cancelled by a later pending run; remove the group (compare-and-swap on refs settles races) [concurrency]`,
		`.github/workflows/pipeline.yml:21:15: job "promote" promotes but its if: does not exclude github.event_name == 'pull_request_target': a pull request (a fork's included) must never promote [pull-request]`,
		`.github/workflows/pipeline.yml:35:15: job "watch" watches without requiring needs.promote.result == 'success' in its if: [pull-request]`,
		`.github/workflows/pipeline.yml:54:15: job "rollback" rolls back without requiring needs.watch.outputs.decision == 'rollback' in its if: [pull-request]`,
		`caller.yml:6:10: this workflow rolls back (job "pipeline") but holds the workflow-level group "flightline-${{ github.ref }}" for the whole run: a rollback would wait behind, or be cancelled by, another run of it [concurrency]`,
		`caller.yml:6:10: the group "flightline-${{ github.ref }}" is held while job "pipeline" calls .github/workflows/pipeline.yml, whose group "flightline-${{ inputs.policy }}" can be the same: GitHub cancels that as a deadlock [concurrency]`,
		`caller.yml:6:10: the group "flightline-${{ github.ref }}" is held while job "pipeline" calls .github/workflows/pipeline.yml, whose group "flightline-rollback" can be the same: GitHub cancels that as a deadlock [concurrency]`,
	}, got)
}

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"ci", "ci", true},
		{"ci", "cd", false},
		{"flightline-promote-${{ inputs.policy }}", "flightline-${{ inputs.policy }}", true},
		{"flightline-promote-${{ inputs.policy }}", "release-${{ github.ref }}", false},
		{"flightline-promote-a/b", "flightline-promote-${{ inputs.policy }}", true},
		{"x-${{ github.run_id }}", "flightline-rollback", false},
		{"${{ github.workflow }}", "anything", true},
	} {
		assert.Equal(t, c.want, overlap(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.want, overlap(c.b, c.a), "%q %q", c.b, c.a)
	}
}
