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

// fakeClock jumps forward by whatever is waited for: a run takes no real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
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
    iterations: 6
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
		case strings.Contains(q, "increase("):
			return 600, nil
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
	assert.Len(t, p.log, 1+6*3, "per tick: the shared requests guard once, then each metric's query")
	assert.Contains(t, lines[0], "request-success-rate pass (99.9% within min 99%); ai-failure-rate pass (0 /s within max 0.5 /s)")
}

func TestMonitorErrorBurst(t *testing.T) {
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		switch {
		case strings.Contains(q, "increase("):
			return 600, nil
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

func TestMonitorProviderDown(t *testing.T) {
	down := errors.New(`Post "http://127.0.0.1:9/api/v1/query": dial tcp: connection refused`)
	for _, tt := range []struct {
		policy string
		want   canary.Decision
	}{{"fail", canary.Rollback}, {"ignore", canary.Inconclusive}} {
		t.Run(tt.policy, func(t *testing.T) {
			clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
				if el > 90*time.Second {
					return 0, down
				}
				if strings.Contains(q, "increase(") {
					return 600, nil
				}
				if strings.Contains(q, "ai_ir") {
					return 0, nil
				}
				return 99.9, nil
			})
			r, err := canary.Monitor(context.Background(), monitorConfig(t, "    onError: "+tt.policy), p, canary.WithClock(clock))
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Decision, r.Reason)
			assert.Equal(t, canary.Pass, r.Ticks[0].Verdict)
			for _, tk := range r.Ticks[1:] {
				assert.NotEqual(t, canary.Pass, tk.Verdict, "never a silent pass while the provider is down")
				assert.Contains(t, tk.Checks[0].Reason, "connection refused")
			}
		})
	}
}

func TestMonitorNeverReady(t *testing.T) {
	clock, p := newScripted(func(time.Duration, string) (float64, error) {
		return 0, fmt.Errorf("query: %w (no series matched)", metrics.ErrNoData)
	})
	r, err := canary.Monitor(context.Background(), monitorConfig(t, "    readyQuery: build_info{version=\"1.5.0\"}\n    readyTimeout: 2m"), p, canary.WithClock(clock))
	require.ErrorIs(t, err, canary.ErrNotReady)
	assert.Contains(t, err.Error(), `not ready after 2m0s: readyQuery build_info{version="1.5.0"} selected no series`)
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.Empty(t, r.Ticks)
	assert.Equal(t, t0.Add(2*time.Minute), r.DecidedAt)
	assert.Len(t, p.log, 1+int(2*time.Minute/(5*time.Second)), "polled every 5s until the deadline")
	assert.Contains(t, p.log[0], "count(build_info")
}

func TestMonitorReadyLater(t *testing.T) {
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		if strings.HasPrefix(q, "count(") {
			if el < 20*time.Second {
				return 0, metrics.ErrNoData
			}
			return 2, nil
		}
		if strings.Contains(q, "increase(") {
			return 600, nil
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
		if strings.Contains(q, "increase(") {
			return 600, nil
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
