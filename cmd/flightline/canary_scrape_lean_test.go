//go:build lean

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCanaryMonitor_LeanHasNoScrape(t *testing.T) {
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	code, _, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--rollback=false", "--selector", `job="agent"`, "--scrape", "http://127.0.0.1:1/metrics")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--scrape needs the full flightline binary")
}
