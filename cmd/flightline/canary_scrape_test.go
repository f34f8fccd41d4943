//go:build !lean

package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/actions"
)

// canary-monitor --scrape needs no Prometheus: the same analysis as TestCanaryMonitor_Live,
// answered by Prometheus's engine in-process. Series carry job=<the canary's target> ("agent").
func TestCanaryMonitor_ScrapeInsteadOfPrometheus(t *testing.T) {
	ok := promtest.NewAgent(t, "1.5.0")
	bad := promtest.NewAgent(t, "1.5.0")
	bad.SetErrorRate(0.3)
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	tests := []struct {
		name, addr string
		code       int
		decision   string
	}{
		{"healthy", ok.Addr, 0, "success"},
		{"error burst", bad.Addr, exitRollback, "rollback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--rollback=false",
				"--scrape", "http://"+tc.addr+"/metrics", "--selector", fmt.Sprintf(`job="agent",instance=%q`, tc.addr),
				"--report", t.TempDir()+"/report.json")
			require.Equal(t, tc.code, code, stderr)
			outs, err := actions.ParseOutputs(stdout)
			require.NoError(t, err)
			assert.Equal(t, tc.decision, outs["decision"])
			assert.Contains(t, stderr, "in-process (Prometheus's engine, no server)")
		})
	}
}

func TestCanaryMonitor_ScrapeBadURLIsNamed(t *testing.T) {
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	code, _, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--rollback=false", "--selector", `job="agent"`, "--scrape", "localhost:9090")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--scrape: scrape target "localhost:9090": want an http(s) URL`)
}

func TestCanaryMonitor_ScrapeIntervalMustBePositive(t *testing.T) {
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	code, _, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--rollback=false", "--selector", `job="agent"`,
		"--scrape", "http://127.0.0.1:1/metrics", "--scrape-interval", "0s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--scrape-interval 0s: must be positive")
}
