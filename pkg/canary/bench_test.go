package canary_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

// BenchmarkFaultToRollback measures, against a real Prometheus (1 s scrape) and the in-test
// agent, the time from injecting a 20 % error rate to the rollback decision, with interval 2 s,
// 4 s query windows and the runbook's threshold 5. The fault lands at a random phase of the tick schedule.
// Reported: s-to-rollback (measured), s-min (what the counting allows for that phase: the first
// tick due after the fault plus (threshold-1) intervals, not counting the up to one scrape
// interval the fault needs to reach Prometheus), extra-ticks (ticks beyond that minimum: one
// when the fault lands less than a scrape before a tick).
func BenchmarkFaultToRollback(b *testing.B) {
	l := startLive(b)
	const doc = `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 2s
    iterations: 40
    threshold: 5
    selector: job="agent"
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
	cfg, err := canary.ParseConfig("bench.yaml", []byte(doc))
	require.NoError(b, err)
	rng := rand.New(rand.NewPCG(1, 2))
	var total, minimum, extra float64
	for i := 0; i < b.N; i++ {
		l.agent.SetErrorRate(0)
		time.Sleep(6 * time.Second) // let the 4 s windows forget the previous fault
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		done := make(chan *canary.Report, 1)
		go func() {
			r, err := canary.Monitor(ctx, cfg, l.p)
			if err != nil {
				b.Error(err)
			}
			done <- r
		}()
		time.Sleep(5*time.Second + time.Duration(rng.Int64N(int64(cfg.Interval))))
		fault := time.Now()
		l.agent.SetErrorRate(0.2)
		r := <-done
		cancel()
		if r.Decision != canary.Rollback {
			b.Fatalf("run %d: decision %s (%s)", i, r.Decision, r.Reason)
		}
		// The first tick scheduled after the fault (ticks are due at readyAt + n × interval; the
		// recorded times can be a little late on a loaded machine).
		n := int(fault.Sub(r.ReadyAt)/cfg.Interval) + 1
		first := r.ReadyAt.Add(time.Duration(n) * cfg.Interval)
		decided := r.Ticks[len(r.Ticks)-1]
		took := r.DecidedAt.Sub(fault)
		least := first.Sub(fault) + time.Duration(cfg.Threshold-1)*cfg.Interval
		total += took.Seconds()
		minimum += least.Seconds()
		extra += float64(decided.N - n - (cfg.Threshold - 1))
		fmt.Fprintf(os.Stderr, "run %d: fault→rollback %.2fs, minimum for this phase %.2fs\n", i, took.Seconds(), least.Seconds())
	}
	b.ReportMetric(total/float64(b.N), "s-to-rollback")
	b.ReportMetric(minimum/float64(b.N), "s-min")
	b.ReportMetric(extra/float64(b.N), "extra-ticks")
}

// BenchmarkHealthyNoisyRun runs the runbook's analysis (threshold 5 over 10 one-minute checks:
// success rate >= 99 %, p99 <= 1500 ms) on synthetic healthy-but-noisy traffic: 300-900
// requests a minute at a 0.2 % error rate (binomial), a p99 that is lognormal around 500 ms with
// rare spikes, and 2 % of minutes idle. Each op is one 10-check run. Reported: false-rollbacks
// (count over all runs), failed-tick-% and inconclusive-runs-%.
func BenchmarkHealthyNoisyRun(b *testing.B) {
	data, err := os.ReadFile("testdata/flagger-canary.yaml")
	require.NoError(b, err)
	cfg, err := canary.ParseConfig("flagger-canary.yaml", data, canary.WithSelector(`job="agent"`))
	require.NoError(b, err)
	rng := rand.New(rand.NewPCG(42, 7))
	var rollbacks, inconclusive, ticks, failedTicks int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := canary.NewEngine(cfg)
		at := t0
		for e.Decision() == canary.Running {
			at = at.Add(cfg.Interval)
			reqs := 300 + rng.IntN(600)
			if rng.Float64() < 0.02 {
				reqs = rng.IntN(10) // an idle minute
			}
			errs := 0
			for range reqs {
				if rng.Float64() < 0.002 {
					errs++
				}
			}
			requests := canary.Value(float64(reqs))
			sr := canary.NoData("no traffic")
			if reqs > 0 {
				sr = canary.Value(100 * float64(reqs-errs) / float64(reqs))
			}
			p99 := 500 * math.Exp(rng.NormFloat64()*0.25)
			if rng.Float64() < 0.01 {
				p99 *= 4 // a GC pause or a slow model call
			}
			tk, err := e.Observe(at, []canary.Sample{
				{Metric: "request-success-rate", Result: sr, Requests: &requests},
				{Metric: "request-duration", Result: canary.Value(p99), Requests: &requests},
			})
			if err != nil {
				b.Fatal(err)
			}
			ticks++
			if tk.Verdict == canary.Fail {
				failedTicks++
			}
		}
		switch e.Decision() {
		case canary.Rollback:
			rollbacks++
		case canary.Inconclusive:
			inconclusive++
		}
	}
	b.ReportMetric(float64(rollbacks), "false-rollbacks")
	b.ReportMetric(100*float64(failedTicks)/float64(ticks), "failed-tick-%")
	b.ReportMetric(100*float64(inconclusive)/float64(b.N), "inconclusive-runs-%")
}
