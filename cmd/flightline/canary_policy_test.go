package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/promote"
)

// The canary's up-front check of the revert: a mistyped policy says it is not in the platform
// file and lists the candidates, before any watch starts.
func TestCanaryMonitor_MistypedPolicy(t *testing.T) {
	pe, pdir := localPlatform(t)
	pe.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	code, _, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", "http://127.0.0.1:9", "--selector", `job="a"`,
		"--platform-dir", pdir, "--policy", forgetest.Policy+"x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `in ai-agents-image-automation.yaml on main: not found: ImagePolicy "`+forgetest.Policy+`x" is not in the file; it has: `+forgetest.Policy+` (line`)
}
