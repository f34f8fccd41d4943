package canary_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// fakeClock jumps forward by whatever is waited for: a run takes no real time. late adds
// extra time to the next waits, once each (a runner that was busy).
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	late []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	if len(c.late) > 0 {
		c.now = c.now.Add(c.late[0])
		c.late = c.late[1:]
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// scripted answers queries from a function of the fake clock's elapsed time.
type scripted struct {
	clock *fakeClock
	start time.Time
	fn    func(elapsed time.Duration, query string) (float64, error)
	log   []string
}

func (s *scripted) Query(_ context.Context, q string, _ time.Time) (metrics.Sample, error) {
	el := s.clock.Now().Sub(s.start)
	s.log = append(s.log, fmt.Sprintf("%s %s", el, q))
	if q == "vector(1)" && s.fn != nil { // the probe before the watch: Prometheus answers
		if _, err := s.fn(el, q); err != nil {
			return metrics.Sample{}, err
		}
		return metrics.Sample{Value: 1}, nil
	}
	v, err := s.fn(el, q)
	return metrics.Sample{Value: v}, err
}

func (s *scripted) QueryRange(context.Context, string, metrics.Range) ([]metrics.Series, error) {
	return nil, errors.New("not used")
}

func monitorConfig(t *testing.T, extra string) *canary.Config {
	t.Helper()
	cfg, err := canary.ParseConfig("m.yaml", []byte(`apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1m
    iterations: 5 # blue/green: 6 passing checks
    threshold: 3
    selector: job="agent"
`+extra+`
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: ai-failure-rate
        thresholdRange: {max: 0.5}
`))
	require.NoError(t, err)
	return cfg
}

func newScripted(fn func(time.Duration, string) (float64, error)) (*fakeClock, *scripted) {
	c := &fakeClock{now: t0}
	return c, &scripted{clock: c, start: t0, fn: fn}
}

func TestMonitorHealthy(t *testing.T) {
	clock, p := newScripted(func(_ time.Duration, q string) (float64, error) {
		switch {
		case strings.HasPrefix(q, "count(build_info"):
			return 1, nil
		case strings.Contains(q, "ai_ir_failures_total"):
			return 0, nil
		}
		return 99.9, nil
	})
	var lines []string
	r, err := canary.Monitor(context.Background(), monitorConfig(t, "    readyQuery: build_info{version=\"1.5.0\"}"), p,
		canary.WithClock(clock), canary.WithTickFunc(func(tk canary.Tick) { lines = append(lines, tk.String()) }))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision)
	assert.Equal(t, t0, r.ReadyAt)
	require.Len(t, r.Ticks, 6)
	for i, tk := range r.Ticks {
		assert.Equal(t, t0.Add(time.Duration(i+1)*time.Minute), tk.At, "ticks every interval after ready")
	}
	require.Len(t, lines, 6)
	assert.Len(t, p.log, 4+1+6*2, "the probe (vector(1), each query, readyQuery), one readiness poll, then each metric's query per check")
	assert.Equal(t, "0s vector(1)", p.log[0])
	assert.Contains(t, lines[0], "request-success-rate pass (99.9% within min 99%); ai-failure-rate pass (0 /s within max 0.5 /s)")
}

func TestMonitorErrorBurst(t *testing.T) {
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		switch {
		case strings.Contains(q, "ai_ir_failures_total"):
			return 0, nil
		case el > 150*time.Second: // the fault starts after the 2nd tick
			return 80, nil
		}
		return 99.9, nil
	})
	r, err := canary.Monitor(context.Background(), monitorConfig(t, ""), p, canary.WithClock(clock))
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, r.Decision)
	require.Len(t, r.Ticks, 5, "ticks 3, 4, 5 fail: the 3rd failure rolls back")
	assert.Equal(t, t0.Add(5*time.Minute), r.DecidedAt)
	assert.Equal(t, []string{"request-success-rate: failed 3 of 5 checks; last: 80% < min 99%"}, r.FailedChecks)
}

// What Prometheus answers counts as Flagger counts it (onError), but no answer at all never
// fails a check: threshold unreachable checks in a row end the watch, inconclusive.
func TestMonitorProviderDown(t *testing.T) {
	down := fmt.Errorf("querying http://127.0.0.1:9: %w: dial tcp: connection refused", metrics.ErrUnreachable)
	answer := errors.New("execution: many-to-many matching not allowed")
	for _, tt := range []struct {
		name   string
		err    error
		policy string
		want   canary.Decision
		ticks  int
	}{
		{"unreachable, onError fail", down, "fail", canary.Inconclusive, 4},
		{"unreachable, onError ignore", down, "ignore", canary.Inconclusive, 4},
		{"error answer, onError fail", answer, "fail", canary.Rollback, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
				if el > 90*time.Second && q != "vector(1)" {
					return 0, tt.err
				}
				if strings.Contains(q, "ai_ir") {
					return 0, nil
				}
				return 99.9, nil
			})
			r, err := canary.Monitor(context.Background(), monitorConfig(t, "    onError: "+tt.policy), p, canary.WithClock(clock))
			assert.Equal(t, tt.want, r.Decision, r.Reason)
			require.Len(t, r.Ticks, tt.ticks)
			assert.Equal(t, canary.Pass, r.Ticks[0].Verdict)
			for _, tk := range r.Ticks[1:] {
				assert.NotEqual(t, canary.Pass, tk.Verdict, "never a silent pass while the provider is down")
				assert.Contains(t, tk.Checks[0].Reason, tt.err.Error()[:20])
			}
			if tt.err == down {
				require.ErrorIs(t, err, canary.ErrUnreachable)
				assert.True(t, r.Unreachable)
				assert.Nil(t, r.WouldRollbackAt, "nothing to revert")
				assert.Contains(t, r.Reason, "Prometheus could not be reached for 3 checks in a row (threshold 3): nothing was judged and nothing is reverted")
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// Before the watch: Prometheus must answer and every query must parse, or nothing starts.
func TestMonitorCannotWatch(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(time.Duration, string) (float64, error)
		want string
	}{
		{"unreachable at the start", func(time.Duration, string) (float64, error) {
			return 0, fmt.Errorf("%w: dial tcp 127.0.0.1:9: connect: connection refused", metrics.ErrUnreachable)
		}, "cannot watch: Prometheus did not answer vector(1)"},
		{"a query that does not parse", func(_ time.Duration, q string) (float64, error) {
			if strings.Contains(q, "ai_ir") {
				return 0, fmt.Errorf("%w: bad_data: 1:5: parse error: unexpected end of input", metrics.ErrBadQuery)
			}
			return 99.9, nil
		}, "cannot watch: the query of metric ai-failure-rate does not parse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock, p := newScripted(tt.fn)
			r, err := canary.Monitor(context.Background(), monitorConfig(t, ""), p, canary.WithClock(clock))
			require.ErrorIs(t, err, canary.ErrCannotWatch)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, canary.Inconclusive, r.Decision)
			assert.Empty(t, r.Ticks)
			assert.Nil(t, r.WouldRollbackAt)
		})
	}
}

// A check that runs late is evaluated when it runs; the next keeps its spacing from it, so
// late checks never fire back to back.
func TestMonitorHonestClock(t *testing.T) {
	clock, p := newScripted(func(_ time.Duration, q string) (float64, error) {
		if strings.Contains(q, "ai_ir") {
			return 0, nil
		}
		return 99.9, nil
	})
	clock.late = []time.Duration{0, 3*time.Minute + 30*time.Second} // the 2nd check runs 3m30s late
	r, err := canary.Monitor(context.Background(), monitorConfig(t, ""), p, canary.WithClock(clock))
	require.NoError(t, err)
	require.Len(t, r.Ticks, 6)
	at := func(i int) time.Duration { return r.Ticks[i].At.Sub(t0) }
	assert.Equal(t, time.Minute, at(0))
	assert.Equal(t, 5*time.Minute+30*time.Second, at(1), "late: evaluated when it ran")
	for i := 2; i < 6; i++ {
		assert.Equal(t, time.Minute, r.Ticks[i].At.Sub(r.Ticks[i-1].At), "check %d keeps its spacing: no burst", i+1)
	}
}

func TestMonitorSkipAnalysis(t *testing.T) {
	clock, p := newScripted(func(time.Duration, string) (float64, error) { return 0, errors.New("never asked") })
	cfg := monitorConfig(t, "")
	cfg.SkipAnalysis = true
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision)
	assert.Contains(t, r.Reason, "spec.skipAnalysis is true")
	assert.Empty(t, p.log)
}

func TestMonitorNeverReady(t *testing.T) {
	clock, p := newScripted(func(_ time.Duration, q string) (float64, error) {
		if q == "vector(1)" {
			return 1, nil
		}
		return 0, fmt.Errorf("query: %w (no series matched)", metrics.ErrNoData)
	})
	r, err := canary.Monitor(context.Background(), monitorConfig(t, "    readyQuery: build_info{version=\"1.5.0\"}\n    readyTimeout: 2m"), p, canary.WithClock(clock))
	require.ErrorIs(t, err, canary.ErrNotReady)
	assert.Contains(t, err.Error(), `version never became ready: after 2m0s, readyQuery build_info{version="1.5.0"} still selected no series (no series matched)`)
	assert.NotContains(t, err.Error(), "Prometheus", "Prometheus answered: the version is not blamed on it")
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.Empty(t, r.Ticks)
	assert.Equal(t, t0.Add(2*time.Minute), r.DecidedAt)
	assert.Len(t, p.log, 4+1+int(2*time.Minute/(5*time.Second)), "the probe, then polled every 5s until the deadline")
	assert.Contains(t, p.log[4], "count(build_info")
}

func TestMonitorReadyLater(t *testing.T) {
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		if strings.HasPrefix(q, "count(") {
			if el < 20*time.Second {
				return 0, metrics.ErrNoData
			}
			return 2, nil
		}
		return 0, nil
	})
	cfg := monitorConfig(t, "    readyQuery: up")
	cfg.Metrics = cfg.Metrics[1:] // ai-failure-rate only
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(20*time.Second), r.ReadyAt)
	assert.Equal(t, t0.Add(80*time.Second), r.Ticks[0].At)
}

func TestMonitorCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		if el >= 2*time.Minute {
			cancel()
		}
		if strings.Contains(q, "ai_ir") {
			return 0, nil
		}
		return 99.9, nil
	})
	r, err := canary.Monitor(ctx, monitorConfig(t, ""), p, canary.WithClock(clock))
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.True(t, r.Aborted)
	assert.Len(t, r.Ticks, 1)
}
