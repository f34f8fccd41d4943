package canary_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// These tests run the monitor against a real Prometheus (1 s scrape) scraping an in-test agent.
// Interval 2 s, query windows 4 s (4 × the scrape interval).
const liveAnalysis = `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 2s
    iterations: 5 # blue/green: 6 passing checks
    threshold: 3
    selector: job="agent"
    readyQuery: build_info{job="agent",version="1.5.0"}
    readyTimeout: 20s
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 4s
      - name: request-duration
        thresholdRange: {max: 1500}
        interval: 4s
      - name: ai-failure-rate
        thresholdRange: {max: 0.5}
        interval: 4s
`

type live struct {
	agent *promtest.Agent
	prom  *promtest.Server
	p     metrics.Provider
}

func startLive(t testing.TB) *live {
	t.Helper()
	a := promtest.NewAgent(t, "1.5.0")
	s := promtest.Start(t, a.Addr)
	p, err := metrics.NewPrometheus(s.URL, metrics.WithTimeout(2*time.Second))
	require.NoError(t, err)
	return &live{agent: a, prom: s, p: p}
}

func liveConfig(t *testing.T, edit func(string) string) *canary.Config {
	t.Helper()
	doc := liveAnalysis
	if edit != nil {
		doc = edit(doc)
	}
	cfg, err := canary.ParseConfig("live.yaml", []byte(doc))
	require.NoError(t, err)
	return cfg
}

func monitorLive(t *testing.T, l *live, cfg *canary.Config, opts ...canary.MonitorOption) (*canary.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts = append(opts, canary.WithTickFunc(func(tk canary.Tick) { t.Log(tk.String()) }))
	return canary.Monitor(ctx, cfg, l.p, opts...)
}

func TestMonitorPrometheusHealthy(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	r, err := monitorLive(t, l, liveConfig(t, nil))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision, r.Reason)
	assert.Len(t, r.Ticks, 6)
	for _, tk := range r.Ticks {
		assert.Equal(t, canary.Pass, tk.Verdict, tk.String())
	}
	assert.Nil(t, r.WouldRollbackAt)
}

func TestMonitorPrometheusErrorBurst(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	var once sync.Once
	r, err := monitorLive(t, l, liveConfig(t, nil), canary.WithTickFunc(func(tk canary.Tick) {
		once.Do(func() { l.agent.SetErrorRate(0.2) }) // the fault starts right after the first tick
	}))
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, r.Decision, r.Reason)
	assert.Equal(t, canary.Pass, r.Ticks[0].Verdict)
	require.Len(t, r.Ticks, 4, "ticks 2, 3 and 4 fail; the 3rd failure rolls back")
	assert.Contains(t, strings.Join(r.FailedChecks, "\n"), "request-success-rate: failed 3 of 4 checks")
	assert.Contains(t, strings.Join(r.FailedChecks, "\n"), "ai-failure-rate: failed 3 of 4 checks")
	assert.NotContains(t, strings.Join(r.FailedChecks, "\n"), "request-duration")
}

// Prometheus taken away for threshold checks in a row: every one of them is inconclusive, the
// watch ends inconclusive with ErrUnreachable, and nothing is (or would be) reverted.
func TestMonitorPrometheusStoppedMidRun(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	stopAfter := 2
	r, err := monitorLive(t, l, liveConfig(t, nil), canary.WithTickFunc(func(tk canary.Tick) {
		if tk.N == stopAfter {
			l.prom.Stop()
		}
	}))
	require.ErrorIs(t, err, canary.ErrUnreachable)
	assert.Equal(t, canary.Inconclusive, r.Decision, r.Reason)
	assert.True(t, r.Unreachable)
	assert.Nil(t, r.WouldRollbackAt, "an unreachable Prometheus never reverts")
	assert.Empty(t, r.FailedChecks)
	require.Len(t, r.Ticks, stopAfter+3)
	for _, tk := range r.Ticks[stopAfter:] {
		assert.Equal(t, canary.Indecisive, tk.Verdict, "neither a pass nor a failure without Prometheus")
		for _, c := range tk.Checks {
			assert.Equal(t, canary.GotUnreachable, c.Result.Outcome)
			assert.Contains(t, c.Reason, "Prometheus unreachable")
			assert.Contains(t, c.Reason, "connect")
		}
	}
}

// Prometheus down for two checks (under threshold 3), then back: the run carries on and
// succeeds; the outage counted neither as passes nor as failures.
func TestMonitorPrometheusDownForAWhile(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	cfg := liveConfig(t, func(s string) string { return strings.ReplaceAll(s, "interval: 4s", "interval: 15s") })
	r, err := monitorLive(t, l, cfg, canary.WithTickFunc(func(tk canary.Tick) {
		switch tk.N {
		case 2:
			l.prom.Stop()
		case 4:
			require.NoError(t, l.prom.Restart())
		}
	}))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision, r.Reason)
	var verdicts string
	for _, tk := range r.Ticks {
		verdicts += map[canary.Verdict]string{canary.Pass: "P", canary.Fail: "F", canary.Indecisive: "I"}[tk.Verdict]
	}
	assert.Equal(t, "PPIIPPPP", verdicts, "two unreachable checks, then the 6 passes Flagger needs")
	assert.Nil(t, r.WouldRollbackAt)
}

// Prometheus down before the watch: "cannot watch", no check, nothing judged.
func TestMonitorPrometheusDownAtStart(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	l.prom.Stop()
	r, err := monitorLive(t, l, liveConfig(t, nil))
	require.ErrorIs(t, err, canary.ErrCannotWatch)
	assert.Contains(t, err.Error(), "cannot watch: Prometheus did not answer vector(1)")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.Empty(t, r.Ticks)
	assert.Nil(t, r.WouldRollbackAt)
}

// A query that does not parse is found before the watch, by Prometheus itself.
func TestMonitorPrometheusBadQueryAtStart(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	cfg := liveConfig(t, nil)
	cfg.Metrics[2].Query = `sum(rate(ai_ir_failures_total[1m]`
	r, err := monitorLive(t, l, cfg)
	require.ErrorIs(t, err, canary.ErrCannotWatch)
	assert.Contains(t, err.Error(), "the query of metric ai-failure-rate does not parse")
	assert.Empty(t, r.Ticks)
}

func TestMonitorPrometheusNeverReady(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	cfg := liveConfig(t, func(s string) string {
		return strings.NewReplacer(`version="1.5.0"`, `version="9.9.9"`, "readyTimeout: 20s", "readyTimeout: 3s").Replace(s)
	})
	start := time.Now()
	r, err := monitorLive(t, l, cfg)
	require.ErrorIs(t, err, canary.ErrNotReady)
	assert.Contains(t, err.Error(), `version never became ready: after 3s, readyQuery build_info{job="agent",version="9.9.9"} still selected no series (no series matched)`)
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.Empty(t, r.Ticks)
	assert.Less(t, time.Since(start), 15*time.Second)
}

// compressedClock runs a schedule written in minutes in seconds: waits are divided by factor and
// Now advances factor times faster than real time. Queries still read Prometheus's present.
type compressedClock struct {
	start  time.Time
	factor time.Duration
}

func (c compressedClock) Now() time.Time {
	return c.start.Add(time.Since(c.start) * c.factor)
}

func (c compressedClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() { time.Sleep(d / c.factor); ch <- c.Now() }()
	return ch
}

// The runbook's Canary, byte for byte, with only the selector (and the Prometheus address)
// given as the command line would: its 1m interval runs 30× faster on the clock, its queries
// (1m windows) and thresholds are unchanged.
func TestMonitorPrometheusRunbookCanary(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	l.agent.SetErrorRate(0.3)
	data, err := os.ReadFile("testdata/flagger-canary.yaml")
	require.NoError(t, err)
	cfg, err := canary.ParseConfig("flagger-canary.yaml", data, canary.WithSelector(`job="agent"`), canary.WithPrometheusURL(l.prom.URL))
	require.NoError(t, err)
	r, err := monitorLive(t, l, cfg, canary.WithClock(compressedClock{start: time.Now(), factor: 30}))
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, r.Decision, r.Reason)
	assert.Contains(t, r.Reason, "5 failed checks reached the threshold of 5")
	// Prometheus has just started: the first ticks may see no data yet (a failed check, as in
	// Flagger); then every tick fails and the 5th failure decides.
	failed := 0
	for _, tk := range r.Ticks {
		assert.NotEqual(t, canary.Pass, tk.Verdict, tk.String())
		if tk.Verdict == canary.Fail {
			failed++
		}
	}
	assert.Equal(t, 5, failed)
	assert.Equal(t, canary.Fail, r.Ticks[len(r.Ticks)-1].Verdict)
}
