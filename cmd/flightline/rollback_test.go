package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

func TestRollbackCmd_RevertMergeThenRefuseRevertOfRevert(t *testing.T) {
	e, dir := localPlatform(t)
	p := e.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})

	code, stdout, stderr := runCLI(t, nil, "rollback", "--platform-dir", dir, "--policy", forgetest.Policy,
		"--reason", "error rate over 1%", "--merge", "merge")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "reverted", outs["operation"])
	assert.Equal(t, p.PR.ID(), outs["reverted-pr"])
	assert.Equal(t, "1.4.0", outs["restored-range"])
	assert.Equal(t, "1.4.0", outs["restored-tag"])
	assert.Contains(t, stderr, "Exact rollback")
	assert.Contains(t, stderr, "error rate over 1%")
	assert.Equal(t, e.Original, e.File("main"))

	// The revert's merge commit is not a promotion: refused, non-zero, operation=refused.
	revert := e.MustRollback(rollback.Request{}) // reused: finds the merged revert
	code, stdout, stderr = runCLI(t, nil, "rollback", "--platform-dir", dir, "--pr", revert.Revert.ID())
	assert.Equal(t, 1, code)
	outs, _ = actions.ParseOutputs(stdout)
	assert.Equal(t, "refused", outs["operation"])
	assert.Contains(t, stderr, "refusing to revert a revert")
}
