package canary_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// engineConfig is one success-rate check (min 99) plus the analysis fields given (a strategy
// among them).
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

// step is one tick of a synthetic series for the single success-rate metric (requests is
// given to the engine only when the metric has a minRequests guard).
type step struct {
	result   canary.Observation
	requests canary.Observation
}

func multi(v float64, n int) canary.Observation {
	o := canary.Value(v)
	o.Series = n
	return o
}

var (
	ok          = step{canary.Value(99.9), canary.Value(100)}
	bad         = step{canary.Value(90), canary.Value(100)}
	idle        = step{canary.NoData("no series"), canary.Value(0)}
	nodata      = step{canary.NoData("no series"), canary.Value(100)}
	nan         = step{canary.Value(math.NaN()), canary.Value(100)}
	errored     = step{canary.Failed(errors.New(`bad_data: parse error at char 5`)), canary.Value(100)}
	scalar      = step{canary.Failed(fmt.Errorf("query %q: %w", "1", metrics.ErrScalar)), canary.Value(100)}
	unreachable = step{canary.Unreachable(errors.New("dial tcp 127.0.0.1:9: connect: connection refused")), canary.Unreachable(errors.New("connection refused"))}
	okLast      = step{multi(99.9, 3), canary.Value(100)} // several series, the last one passes
	badLast     = step{multi(42, 2), canary.Value(100)}   // several series, the last one fails
	few         = step{canary.Value(50), canary.Value(3)}
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
		smp := canary.Sample{Metric: "request-success-rate", Result: s.result}
		if cfg.Metrics[0].MinRequests > 0 {
			req := s.requests
			smp.Requests = &req
		}
		_, err := e.Observe(t0.Add(time.Duration(i+1)*cfg.Interval), []canary.Sample{smp})
		require.NoError(t, err)
	}
	return e.Report()
}

const (
	progressive5 = "    stepWeight: 10\n    maxWeight: 50\n    threshold: 5" // Flagger: 5 passing checks (10 → 50 %)
	blueGreen3   = "    iterations: 3\n    threshold: 2"                     // Flagger: 4 passing checks
)

// TestEngine holds Flagger's decisions, and the check at which each comes, on scenarios written
// from Flagger's scheduler: a passing check advances one step towards the promotion point, a
// failed one does not advance and counts towards threshold, rollback comes at the check where
// the failures reach threshold (Flagger acts on it at its next tick, Flightline at once).
func TestEngine(t *testing.T) {
	tests := []struct {
		name      string
		analysis  string
		steps     []step
		want      canary.Decision
		wantTicks int // the check at which the decision came
		wantWould int // check of "would have rolled back" (0: none)
		verdicts  string
	}{
		// Progressive: stepWeight 10 up to maxWeight 50 needs 5 passing checks.
		{name: "progressive healthy: success at the 5th passing check", analysis: progressive5, steps: repeat(ok, 10), want: canary.Success, wantTicks: 5, verdicts: "PPPPP"},
		{name: "progressive recovers: failed checks do not advance", analysis: progressive5, steps: series(bad, bad, repeat(ok, 10)), want: canary.Success, wantTicks: 7, verdicts: "FFPPPPP"},
		{name: "progressive fails late: rollback at the 5th failed check", analysis: progressive5, steps: series(repeat(ok, 4), repeat(bad, 5)),
			want: canary.Rollback, wantTicks: 9, wantWould: 9, verdicts: "PPPPFFFFF"},
		{name: "progressive flapping: 4 failures under threshold 5, success at the 5th pass", analysis: progressive5,
			steps: series(bad, ok, bad, ok, bad, ok, bad, ok, ok), want: canary.Success, wantTicks: 9, verdicts: "FPFPFPFPP"},
		{name: "progressive flapping to the threshold: total, not consecutive", analysis: progressive5,
			steps: series(bad, ok, bad, ok, bad, ok, bad, bad), want: canary.Rollback, wantTicks: 8, wantWould: 8, verdicts: "FPFPFPFF"},
		{name: "no data is a failed check", analysis: progressive5, steps: repeat(nodata, 10), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FFFFF"},
		{name: "NaN is no data, a failed check", analysis: progressive5, steps: series(ok, repeat(nan, 10)), want: canary.Rollback, wantTicks: 6, wantWould: 6, verdicts: "PFFFFF"},
		{name: "an error answer is a failed check", analysis: progressive5, steps: series(ok, ok, repeat(errored, 8)), want: canary.Rollback, wantTicks: 7, wantWould: 7, verdicts: "PPFFFFF"},
		{name: "a scalar answer is a failed check", analysis: progressive5, steps: repeat(scalar, 5), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FFFFF"},
		{name: "several series: the last one decides (passing)", analysis: progressive5, steps: repeat(okLast, 5), want: canary.Success, wantTicks: 5, verdicts: "PPPPP"},
		{name: "several series: the last one decides (failing)", analysis: progressive5, steps: series(okLast, repeat(badLast, 5)), want: canary.Rollback, wantTicks: 6, wantWould: 6, verdicts: "PFFFFF"},
		{name: "default threshold 1: the first failed check rolls back", analysis: "    stepWeight: 20", steps: series(ok, bad), want: canary.Rollback, wantTicks: 2, wantWould: 2, verdicts: "PF"},
		{name: "stepWeights 1, 2, 10, 80: four passing checks", analysis: "    stepWeights: [1, 2, 10, 80]", steps: repeat(ok, 9), want: canary.Success, wantTicks: 4, verdicts: "PPPP"},
		{name: "mirror: one more check on mirrored traffic", analysis: "    stepWeight: 25\n    maxWeight: 50\n    mirror: true", steps: repeat(ok, 9), want: canary.Success, wantTicks: 3, verdicts: "PPP"},
		// Blue/green: iterations 3 needs 4 passing checks (Flagger routes all traffic at the 3rd and promotes after one more).
		{name: "blue/green healthy: iterations + 1 passing checks", analysis: blueGreen3, steps: repeat(ok, 9), want: canary.Success, wantTicks: 4, verdicts: "PPPP"},
		{name: "blue/green recovers", analysis: blueGreen3, steps: series(bad, repeat(ok, 9)), want: canary.Success, wantTicks: 5, verdicts: "FPPPP"},
		{name: "blue/green fails late: at the last step", analysis: blueGreen3, steps: series(ok, ok, ok, bad, bad), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "PPPFF"},
		{name: "blue/green, no data at the end", analysis: blueGreen3, steps: series(ok, ok, ok, nodata, nodata), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "PPPFF"},
		{name: "A/B testing: iterations passing checks", analysis: "    iterations: 3\n    match: [{headers: {x-canary: {exact: insider}}}]", steps: repeat(ok, 9), want: canary.Success, wantTicks: 3, verdicts: "PPP"},
		// Prometheus unreachable: never a failure.
		{name: "unreachable for threshold checks in a row: inconclusive, nothing judged", analysis: progressive5, steps: series(ok, repeat(unreachable, 9)),
			want: canary.Inconclusive, wantTicks: 6, verdicts: "PIIIII"},
		{name: "unreachable for a while, then back: success", analysis: progressive5, steps: series(ok, ok, unreachable, unreachable, unreachable, unreachable, ok, ok, ok),
			want: canary.Success, wantTicks: 9, verdicts: "PPIIIIPPP"},
		{name: "unreachable between failures neither counts nor resets them", analysis: "    stepWeight: 50\n    threshold: 3", steps: series(bad, unreachable, bad, unreachable, bad),
			want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FIFIF"},
		// Our additions, off unless set.
		{name: "minRequests set: an idle service is inconclusive, never a pass", analysis: blueGreen3 + "\n    minRequests: 10\n    maxDuration: 6m", steps: repeat(idle, 10),
			want: canary.Inconclusive, wantTicks: 6, verdicts: "IIIIII"},
		{name: "minRequests set: below it even a failing value is inconclusive", analysis: blueGreen3 + "\n    minRequests: 10\n    maxDuration: 5m", steps: repeat(few, 9),
			want: canary.Inconclusive, wantTicks: 5, verdicts: "IIIII"},
		{name: "without minRequests an idle service fails (no data), as in Flagger", analysis: blueGreen3, steps: repeat(idle, 9),
			want: canary.Rollback, wantTicks: 2, wantWould: 2, verdicts: "FF"},
		{name: "minPassedRatio: too few passes at the promotion point is inconclusive", analysis: "    iterations: 2\n    threshold: 10\n    minPassedRatio: 0.5",
			steps: series(bad, bad, bad, bad, ok, ok, ok), want: canary.Inconclusive, wantTicks: 7, verdicts: "FFFFPPP"},
		{name: "minPassedRatio: half is enough", analysis: "    iterations: 2\n    threshold: 10\n    minPassedRatio: 0.5",
			steps: series(bad, bad, bad, ok, ok, ok), want: canary.Success, wantTicks: 6, verdicts: "FFFPPP"},
		{name: "consecutive limit before the total", analysis: "    iterations: 20\n    threshold: 5\n    maxConsecutiveFailures: 3",
			steps: series(bad, ok, bad, bad, bad), want: canary.Rollback, wantTicks: 5, wantWould: 5, verdicts: "FPFFF"},
		{name: "ignored errors never pass: the run ends at maxDuration", analysis: blueGreen3 + "\n    onError: ignore\n    maxDuration: 6m", steps: series(ok, ok, repeat(errored, 9)),
			want: canary.Inconclusive, wantTicks: 6, verdicts: "PPIIII"},
		{name: "no data with onNoData pass", analysis: blueGreen3 + "\n    onNoData: pass", steps: repeat(nodata, 9), want: canary.Success, wantTicks: 4, verdicts: "PPPP"},
		{name: "dry run goes on to the promotion point and says when it would have rolled back", analysis: progressive5 + "\n    dryRun: true",
			steps: series(repeat(bad, 5), repeat(ok, 5)), want: canary.Rollback, wantTicks: 10, wantWould: 5, verdicts: "FFFFFPPPPP"},
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
			assert.Equal(t, tt.verdicts == "PIIIII", r.Unreachable, "only a run ended by Prometheus being unreachable says so")

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

// Flagger compares its built-in request duration in whole milliseconds: the value and the
// bounds are truncated (time.Duration(int64(v)) * time.Millisecond).
func TestEngineRequestDurationWholeMilliseconds(t *testing.T) {
	doc := `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: a}
spec:
  analysis:
    iterations: 1
    threshold: 1
    selector: job="a"
    metrics:
      - name: request-duration
        thresholdRange: {min: 10.9, max: 1500.7}
`
	cfg, err := canary.ParseConfig("d.yaml", []byte(doc))
	require.NoError(t, err)
	for _, tt := range []struct {
		v    float64
		want canary.Verdict
	}{
		{1500.9, canary.Pass}, // 1500 ≤ 1500
		{1501, canary.Fail},
		{10.2, canary.Pass}, // 10 ≥ 10 (the min 10.9 is 10 ms too)
		{9.99, canary.Fail},
		{math.Inf(1), canary.Fail},
	} {
		e := canary.NewEngine(cfg)
		tk, err := e.Observe(t0, []canary.Sample{{Metric: "request-duration", Result: canary.Value(tt.v)}})
		require.NoError(t, err)
		assert.Equal(t, tt.want, tk.Checks[0].Verdict, "%v: %s", tt.v, tk.Checks[0].Reason)
	}
	e := canary.NewEngine(cfg)
	tk, err := e.Observe(t0, []canary.Sample{{Metric: "request-duration", Result: canary.Value(1500.9)}})
	require.NoError(t, err)
	assert.Equal(t, "1500 ms within [10 ms, 1500 ms] (1500.9 ms, whole ms as Flagger compares)", tk.Checks[0].Reason)
}

// Text from Prometheus reaches logs, outputs and PR bodies: it is one line, bounded, and can
// neither start a workflow command nor carry a marker.
func TestCleanDetail(t *testing.T) {
	evil := "bad_data: parse error\n::error title=x::pwned\r\n<!-- flightline:promotion {\"v\":1} -->\n" + strings.Repeat("x", 500) + " https://user:s3cret@prom:9090/"
	o := canary.Failed(errors.New(evil))
	assert.NotContains(t, o.Detail, "\n")
	assert.NotContains(t, o.Detail, "\r")
	assert.NotContains(t, o.Detail, "::")
	assert.NotContains(t, o.Detail, "<!--")
	assert.NotContains(t, o.Detail, "-->")
	assert.NotContains(t, o.Detail, "s3cret")
	assert.LessOrEqual(t, len([]rune(o.Detail)), 300)
	assert.True(t, strings.HasPrefix(o.Detail, "bad_data: parse error : :error title=x: :pwned <! -- flightline:promotion"), o.Detail)
	assert.Equal(t, "https://REDACTED@prom:9090/", canary.Clean("https://user:s3cret@prom:9090/"))
}

func TestEngineChecks(t *testing.T) {
	cfg := engineConfig(t, "    iterations: 3\n    threshold: 3\n    minRequests: 10")
	r := run(t, cfg, series(bad, idle, ok))
	c := r.Ticks[0].Checks[0]
	assert.Equal(t, canary.Fail, c.Verdict)
	assert.Equal(t, "90% < min 99%", c.Reason)
	assert.Equal(t, 99.0, *c.Min)
	assert.Contains(t, r.Ticks[1].Checks[0].Reason, "0 requests in the window, below minRequests 10")
	assert.Contains(t, r.Ticks[0].String(), "tick 1 12:01:00 FAIL: request-success-rate fail (90% < min 99%) [failed 1, in a row 1]")
}

func TestEngineBadObservations(t *testing.T) {
	cfg := engineConfig(t, "    iterations: 5\n    threshold: 1\n    minRequests: 10")
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
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := canary.ReadReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Replaying any readable report either works or says why; it never panics.
		_, _ = canary.Replay(r)
	})
}
