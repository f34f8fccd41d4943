package canary_test

import (
	"fmt"
	"time"

	"github.com/labrats-work/flightline/pkg/canary"
)

func ExampleParseConfig() {
	// The runbook's Flagger Canary, as it is; the built-ins need the new version's selector.
	doc := []byte(`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: ai-agents-main, namespace: ai-agents-prod}
spec:
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 10
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 1m
`)
	cfg, err := canary.ParseConfig("canary.yaml", doc, canary.WithSelector(`job="agent"`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Threshold, cfg.StrategyText())
	fmt.Println(cfg.Metrics[0].Query)

	// Without a selector: Flagger's built-in query for spec.provider (istio by default).
	cfg, _ = canary.ParseConfig("canary.yaml", doc)
	fmt.Println(cfg.Metrics[0].Query)
	// Output:
	// 5 canary, stepWeight 10 up to maxWeight 50: 5 passing checks
	// sum(rate(http_requests_total{job="agent",code!~"5.."}[1m])) / sum(rate(http_requests_total{job="agent"}[1m])) * 100
	// sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="ai-agents-prod",destination_workload=~"ai-agents-main",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="ai-agents-prod",destination_workload=~"ai-agents-main"}[1m])) * 100
}

func ExampleEngine() {
	cfg, _ := canary.ParseConfig("canary.yaml", []byte(`apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1m
    iterations: 10
    threshold: 2
    selector: job="agent"
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
`))
	e := canary.NewEngine(cfg)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i, v := range []float64{99.9, 97.5, 99.5, 95} {
		t, _ := e.Observe(start.Add(time.Duration(i+1)*time.Minute), []canary.Sample{{Metric: "request-success-rate", Result: canary.Value(v)}})
		fmt.Println(t)
	}
	fmt.Println(e.Decision(), "-", e.Report().Reason)
	// Output:
	// tick 1 12:01:00 PASS: request-success-rate pass (99.9% within min 99%) [failed 0, in a row 0]
	// tick 2 12:02:00 FAIL: request-success-rate fail (97.5% < min 99%) [failed 1, in a row 1]
	// tick 3 12:03:00 PASS: request-success-rate pass (99.5% within min 99%) [failed 1, in a row 0]
	// tick 4 12:04:00 FAIL: request-success-rate fail (95% < min 99%) [failed 2, in a row 1]
	// rollback - 2 failed checks reached the threshold of 2
}

func ExampleReplay() {
	cfg, _ := canary.ParseConfig("canary.yaml", []byte(`apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
spec:
  analysis:
    iterations: 2
    threshold: 1
    metrics:
      - name: errors
        query: sum(rate(errors_total[1m])) or vector(0)
        thresholdRange: {max: 0.1}
`))
	e := canary.NewEngine(cfg)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	_, _ = e.Observe(t0, []canary.Sample{{Metric: "errors", Result: canary.Value(0.02)}})
	_, _ = e.Observe(t0.Add(time.Minute), []canary.Sample{{Metric: "errors", Result: canary.Value(0.5)}})
	again, _ := canary.Replay(e.Report())
	fmt.Println(e.Decision(), again.Decision, again.Reason)
	// Output: rollback rollback 1 failed checks reached the threshold of 1
}
