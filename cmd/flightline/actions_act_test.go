package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
)

// actions/promote under act against a local platform repository and a loopback registry: the
// inputs reach the binary through env:, the outputs reach the workflow, the PR is merged.
func TestPromoteAction_UnderAct(t *testing.T) {
	acttest.Act(t)
	e, dir := localPlatform(t)
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/promote-action.yml"),
		Env:      map[string]string{"PLATFORM_DIR": dir, "IMAGE": e.Image + "@" + e.Digests["1.5.0"]},
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "merged", res.Outputs["operation"])
	assert.Equal(t, "1.4.0", res.Outputs["previous-range"])
	assert.Equal(t, "1.5.0", res.Outputs["range"])
	assert.Equal(t, "v1.5.0", "v"+res.Outputs["tag"])
	assert.Equal(t, e.Digests["1.5.0"], res.Outputs["digest"])
	assert.Equal(t, "", res.Outputs["pr-number"])
	assert.Equal(t, "flightline/promote/"+forgetest.Policy+"/1.5.0", res.Outputs["pr-url"])
	assert.Equal(t, e.WithRange("1.5.0"), e.File("main"))
	assert.Contains(t, res.Summary, "| policy | from | to | tag | digest | PR |")
}

// rollback.yml's workflow_dispatch inputs under act: the last merged promotion is reverted and
// merged, the file is back byte for byte, the summary says it is an exact rollback.
func TestRollbackWorkflow_DispatchUnderAct(t *testing.T) {
	acttest.Act(t)
	e, dir := localPlatform(t)
	p := e.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	res := acttest.Run(t, acttest.Options{
		Workflow: ".github/workflows/rollback.yml",
		Event:    "workflow_dispatch",
		Inputs:   map[string]string{"policy": forgetest.Policy, "reason": "p99 latency over 1500 ms", "merge": "merge"},
		Env:      map[string]string{"FLIGHTLINE_PLATFORM_DIR": dir},
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, e.Original, e.File("main"), "the file is byte-identical to before the promotion")
	assert.Contains(t, res.Summary, "Exact rollback")
	assert.Contains(t, res.Summary, "p99 latency over 1500 ms")
	assert.Contains(t, res.Log, "operation=reverted")

	reverts, err := e.P.Forge().Find(t.Context(), forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"<!-- flightline:revert "}})
	require.NoError(t, err)
	require.Len(t, reverts, 1)
	m, err := marker.ParseRevert(reverts[0].Body)
	require.NoError(t, err)
	assert.Equal(t, p.PR.ID(), m.Reverts)
	assert.Equal(t, "p99 latency over 1500 ms", m.Reason)
	assert.Equal(t, "manual", m.Trigger)
}

// rollback.yml through workflow_call, as the canary calls it: trigger canary reaches the marker
// and the workflow's outputs reach the caller.
func TestRollbackWorkflow_CallUnderAct(t *testing.T) {
	acttest.Act(t)
	e, dir := localPlatform(t)
	e.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/rollback-call.yml"),
		Env:      map[string]string{"FLIGHTLINE_PLATFORM_DIR": dir},
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "reverted", res.Outputs["operation"])
	assert.Equal(t, "1.4.0", res.Outputs["restored-range"])
	assert.Equal(t, "1.4.0", res.Outputs["restored-tag"])
	assert.Contains(t, res.Outputs["revert-pr-url"], "flightline/revert/"+forgetest.Policy+"/")
	assert.Equal(t, e.Original, e.File("main"))

	reverts, err := e.P.Forge().Find(t.Context(), forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"<!-- flightline:revert "}})
	require.NoError(t, err)
	require.Len(t, reverts, 1)
	m, err := marker.ParseRevert(reverts[0].Body)
	require.NoError(t, err)
	assert.Equal(t, "canary", m.Trigger)
}
