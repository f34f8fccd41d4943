package canary_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// engineConfig is one success-rate check (min 99) with a minRequests guard of 10, plus extra
// analysis fields.
func engineConfig(t *testing.T, analysis string) *canary.Config {
	t.Helper()
	doc := `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1m
    selector: job="agent"
` + analysis + `
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
`
	cfg, err := canary.ParseConfig("test.yaml", []byte(doc))
	require.NoError(t, err)
	return cfg
}

// step is one tick of a synthetic series for the single success-rate metric.
type step struct {
	result   canary.Observation
	requests canary.Observation
}

var (
	ok      = step{canary.Value(99.9), canary.Value(100)}
	bad     = step{canary.Value(90), canary.Value(100)}
	idle    = step{canary.NoData("no series"), canary.Value(0)}
	nodata  = step{canary.NoData("no series"), canary.Value(100)}
	nan     = step{canary.Value(math.NaN()), canary.Value(100)}
	errored = step{canary.Failed(errors.New("connection refused")), canary.Failed(errors.New("connection refused"))}
	few     = step{canary.Value(50), canary.Value(3)}
)

func series(steps ...any) []step {
	var out []step
	for _, s := range steps {
		switch v := s.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		}
	}
	return out
}

func repeat(s step, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func run(t *testing.T, cfg *canary.Config, steps []step) *canary.Report {
	t.Helper()
	e := canary.NewEngine(cfg)
	for i, s := range steps {
		if e.Decision() != canary.Running {
			break
		}
		req := s.requests
		_, err := e.Observe(t0.Add(time.Duration(i+1)*cfg.Interval), []canary.Sample{{Metric: "request-success-rate", Result: s.result, Requests: &req}})
		require.NoError(t, err)
	}
	return e.Report()
}

func TestEngine(t *testing.T) {
	tests := []struct {
		name      string
		analysis  string
		steps     []step
		want      canary.Decision
		wantTicks int // tick at which the decision was taken
		wantWould int // tick of "would have rolled back" (0: none)
		verdicts  string
	}{
		{name: "healthy", analysis: "    iterations: 10", steps: repeat(ok, 10), want: canary.Success, wantTicks: 10, verdicts: "PPPPPPPPPP"},
		{name: "threshold 5 rolls back on the 5th failed tick, total not consecutive",
			analysis: "    iterations: 20\n    threshold: 5", steps: series(bad, ok, bad, ok, bad, ok, bad, ok, bad, ok),
			want: canary.Rollback, wantTicks: 9, wantWould: 9, verdicts: "FPFPFPFPF"},
		{name: "4 failures under threshold 5 still succeed", analysis: "    iterations: 10\n    threshold: 5",
			steps: series(bad, ok, bad, ok, bad, ok, bad, ok, ok, ok), want: canary.Success, wantTicks: 10, verdicts: "FPFPFPFPPP"},
		{name: "flapping never reaches the consecutive limit but reaches the total",
			analysis: "    iterations: 20\n    threshold: 6\n    maxConsecutiveFailures: 2", steps: series(repeat(bad, 1), ok, bad, ok, bad, ok, bad, ok, bad, ok, bad),
			want: canary.Rollback, wantTicks: 11, wantWould: 11, verdicts: "FPFPFPFPFPF"},
		{name: "consecutive limit before the total", analysis: "    iterations: 20\n    threshold: 5\n    maxConsecutiveFailures: 3",
			steps: series(bad, ok, bad, bad, bad), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FPFFF"},
		{name: "an inconclusive tick neither breaks nor extends a streak", analysis: "    iterations: 20\n    threshold: 5\n    maxConsecutiveFailures: 3",
			steps: series(bad, idle, bad, idle, bad), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FIFIF"},
		{name: "idle service is inconclusive, never a pass", analysis: "    iterations: 10", steps: repeat(idle, 10),
			want: canary.Inconclusive, wantTicks: 10, verdicts: "IIIIIIIIII"},
		{name: "below minRequests is inconclusive even when the value fails", analysis: "    iterations: 5", steps: repeat(few, 5),
			want: canary.Inconclusive, wantTicks: 5, verdicts: "IIIII"},
		{name: "mostly idle is inconclusive", analysis: "    iterations: 10", steps: series(ok, ok, ok, ok, repeat(idle, 6)),
			want: canary.Inconclusive, wantTicks: 10, verdicts: "PPPPIIIIII"},
		{name: "no data fails by default", analysis: "    iterations: 10", steps: repeat(nodata, 10),
			want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FFFFF"},
		{name: "NaN is no data", analysis: "    iterations: 10", steps: repeat(nan, 10),
			want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FFFFF"},
		{name: "no data with onNoData pass", analysis: "    iterations: 4\n    threshold: 2\n    onNoData: pass", steps: repeat(nodata, 4),
			want: canary.Success, wantTicks: 4, verdicts: "PPPP"},
		{name: "no data with onNoData ignore", analysis: "    iterations: 4\n    threshold: 2\n    onNoData: ignore", steps: repeat(nodata, 4),
			want: canary.Inconclusive, wantTicks: 4, verdicts: "IIII"},
		{name: "errors fail by default", analysis: "    iterations: 10", steps: series(ok, ok, repeat(errored, 8)),
			want: canary.Rollback, wantTicks: 7, wantWould: 7, verdicts: "PPFFFFF"},
		{name: "ignored errors never pass", analysis: "    iterations: 6\n    onError: ignore", steps: series(ok, ok, repeat(errored, 4)),
			want: canary.Inconclusive, wantTicks: 6, verdicts: "PPIIII"},
		{name: "infinite latency-like value fails a min", analysis: "    iterations: 5", steps: repeat(step{canary.Value(math.Inf(-1)), canary.Value(100)}, 5),
			want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FFFFF"},
		{name: "dry run goes on and says when it would have rolled back", analysis: "    iterations: 8\n    dryRun: true",
			steps: series(repeat(bad, 5), ok, ok, ok), want: canary.Rollback, wantTicks: 8, wantWould: 5, verdicts: "FFFFFPPP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := engineConfig(t, tt.analysis)
			r := run(t, cfg, tt.steps)
			assert.Equal(t, tt.want, r.Decision, r.Reason)
			require.Len(t, r.Ticks, tt.wantTicks)
			assert.Equal(t, r.Ticks[tt.wantTicks-1].At, r.DecidedAt)
			var got string
			for _, tk := range r.Ticks {
				got += map[canary.Verdict]string{canary.Pass: "P", canary.Fail: "F", canary.Indecisive: "I"}[tk.Verdict]
			}
			assert.Equal(t, tt.verdicts, got)
			if tt.wantWould > 0 {
				require.NotNil(t, r.WouldRollbackAt)
				assert.Equal(t, r.Ticks[tt.wantWould-1].At, *r.WouldRollbackAt)
				assert.NotEmpty(t, r.FailedChecks)
			} else {
				assert.Nil(t, r.WouldRollbackAt)
			}
			if cfg.DryRun {
				assert.Contains(t, r.Reason, "would have rolled back at "+r.WouldRollbackAt.Format(time.RFC3339))
			}

			// The JSON report replays to the same answer.
			var buf bytes.Buffer
			require.NoError(t, r.WriteJSON(&buf))
			read, err := canary.ReadReport(&buf)
			require.NoError(t, err)
			again, err := canary.Replay(read)
			require.NoError(t, err)
			assert.Equal(t, r.Decision, again.Decision)
			assert.Equal(t, r.Reason, again.Reason)
			assert.Equal(t, r.FailedChecks, again.FailedChecks)
			assert.Equal(t, len(r.Ticks), len(again.Ticks))
			for i := range r.Ticks {
				assert.Equal(t, r.Ticks[i].Verdict, again.Ticks[i].Verdict)
				assert.Equal(t, r.Ticks[i].FailedTotal, again.Ticks[i].FailedTotal)
			}
		})
	}
}

func TestEngineChecks(t *testing.T) {
	cfg := engineConfig(t, "    iterations: 3\n    threshold: 3")
	r := run(t, cfg, series(bad, idle, ok))
	c := r.Ticks[0].Checks[0]
	assert.Equal(t, canary.Fail, c.Verdict)
	assert.Equal(t, "90% < min 99%", c.Reason)
	assert.Equal(t, 99.0, *c.Min)
	assert.Contains(t, r.Ticks[1].Checks[0].Reason, "0 requests in the window, below minRequests 10")
	assert.Contains(t, r.Ticks[0].String(), "tick 1 12:01:00 FAIL: request-success-rate fail (90% < min 99%) [failed 1, in a row 1]")
}

func TestEngineBadObservations(t *testing.T) {
	cfg := engineConfig(t, "    iterations: 5\n    threshold: 1")
	v := canary.Value(100)
	e := canary.NewEngine(cfg)
	_, err := e.Observe(t0, nil)
	assert.ErrorContains(t, err, `no observation for metric "request-success-rate"`)
	_, err = e.Observe(t0, []canary.Sample{{Metric: "request-success-rate", Result: v, Requests: &v}, {Metric: "nope", Result: v}})
	assert.ErrorContains(t, err, `unknown metric "nope"; metrics: request-success-rate`)
	_, err = e.Observe(t0, []canary.Sample{{Metric: "request-success-rate", Result: canary.Value(100), Requests: &v}})
	require.NoError(t, err)
	_, err = e.Observe(t0.Add(-time.Second), []canary.Sample{{Metric: "request-success-rate", Result: canary.Value(1), Requests: &v}})
	assert.ErrorContains(t, err, "tick 2 at 2026-11-23T11:59:59Z is before tick 1")
	_, err = e.Observe(t0, []canary.Sample{{Metric: "request-success-rate", Result: canary.Value(1), Requests: &v}})
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, e.Decision())
	_, err = e.Observe(t0, []canary.Sample{{Metric: "request-success-rate", Result: v, Requests: &v}})
	assert.ErrorIs(t, err, canary.ErrFinished)
}

func TestEngineAbortReplays(t *testing.T) {
	cfg := engineConfig(t, "    iterations: 5")
	e := canary.NewEngine(cfg)
	e.Abort(t0, "not ready")
	assert.Equal(t, canary.Inconclusive, e.Decision())
	again, err := canary.Replay(e.Report())
	require.NoError(t, err)
	assert.Equal(t, canary.Inconclusive, again.Decision)
	assert.Equal(t, "not ready", again.Reason)
}

func TestFloatJSON(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1), 0, 99.25} {
		b, err := canary.Float(v).MarshalJSON()
		require.NoError(t, err)
		var f canary.Float
		require.NoError(t, f.UnmarshalJSON(b))
		assert.Equal(t, v, float64(f), fmt.Sprint(v))
	}
}

func FuzzReadReport(f *testing.F) {
	cfg, err := canary.ParseConfig("f.yaml", []byte("apiVersion: flightline.dev/v1alpha1\nkind: CanaryMonitor\nspec:\n  analysis:\n    iterations: 3\n    threshold: 2\n    metrics:\n      - name: x\n        query: up\n        thresholdRange: {min: 1}\n"))
	require.NoError(f, err)
	e := canary.NewEngine(cfg)
	_, _ = e.Observe(t0, []canary.Sample{{Metric: "x", Result: canary.Value(math.Inf(1))}})
	_, _ = e.Observe(t0.Add(time.Minute), []canary.Sample{{Metric: "x", Result: canary.NoData("none")}})
	var buf bytes.Buffer
	require.NoError(f, e.Report().WriteJSON(&buf))
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := canary.ReadReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Replaying any readable report either works or says why; it never panics.
		_, _ = canary.Replay(r)
	})
}
