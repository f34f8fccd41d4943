package canary_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/labrats-work/flightline/pkg/canary"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden renders a parsed config as YAML (through its JSON form, which is what reports carry).
func golden(t *testing.T, cfg *canary.Config) []byte {
	t.Helper()
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(j, &v))
	out, err := yaml.Marshal(v)
	require.NoError(t, err)
	return out
}

func TestParseConfigGolden(t *testing.T) {
	tests := []struct {
		file string
		opts []canary.ParseOption
	}{
		// The runbook's Canary, unchanged; the selector comes from the command line.
		{file: "flagger-canary.yaml", opts: []canary.ParseOption{canary.WithSelector(`job="agent"`), canary.WithPrometheusURL("http://127.0.0.1:9090")}},
		{file: "canary-monitor.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			cfg, err := canary.ParseConfig(path, data, tt.opts...)
			require.NoError(t, err)
			got := golden(t, cfg)
			gp := strings.TrimSuffix(path, ".yaml") + ".golden.yaml"
			if *update {
				require.NoError(t, os.WriteFile(gp, got, 0o644))
			}
			want, err := os.ReadFile(gp)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

func TestParseConfigRunbook(t *testing.T) {
	data, err := os.ReadFile("testdata/flagger-canary.yaml")
	require.NoError(t, err)
	cfg, err := canary.ParseConfig("flagger-canary.yaml", data, canary.WithSelector(`job="agent"`))
	require.NoError(t, err)
	assert.Equal(t, "Canary", cfg.Kind)
	assert.Equal(t, 5, cfg.Threshold)
	assert.Equal(t, canary.Progressive, cfg.Strategy)
	assert.Equal(t, 5, cfg.PassesNeeded, "stepWeight 10 to maxWeight 50: checks at 10, 20, 30, 40 and 50 %")
	assert.Equal(t, 20*time.Minute, cfg.MaxDuration, "twice Flagger's longest run (5 passes + 4 failures) plus one interval")
	require.Len(t, cfg.Metrics, 2)
	sr, d := cfg.Metrics[0], cfg.Metrics[1]
	assert.Equal(t, `sum(rate(http_requests_total{job="agent",code!~"5.."}[1m])) / sum(rate(http_requests_total{job="agent"}[1m])) * 100`, sr.Query)
	assert.Equal(t, 99.0, *sr.Min)
	assert.Nil(t, sr.Max)
	assert.Equal(t, `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="agent"}[1m]))) * 1000`, d.Query)
	assert.Equal(t, 1500.0, *d.Max)
	assert.True(t, d.WholeMilliseconds)
	for _, m := range cfg.Metrics {
		assert.Equal(t, canary.NoDataFail, m.OnNoData)
		assert.Equal(t, canary.ErrorFail, m.OnError)
		assert.Zero(t, m.MinRequests, "the minRequests guard is off unless set")
		assert.Empty(t, m.RequestsQuery)
	}
	assert.Empty(t, cfg.Notes, "the runbook's Canary uses nothing Flightline leaves out")

	// The selector may also come from vars.
	cfg, err = canary.ParseConfig("flagger-canary.yaml", data, canary.WithVars(map[string]string{"selector": `app="x"`}))
	require.NoError(t, err)
	assert.Equal(t, `app="x"`, cfg.Selector)
}

func TestParseConfigTemplates(t *testing.T) {
	data, err := os.ReadFile("testdata/canary-monitor.yaml")
	require.NoError(t, err)
	cfg, err := canary.ParseConfig("canary-monitor.yaml", data)
	require.NoError(t, err)
	assert.Equal(t, canary.BlueGreen, cfg.Strategy)
	assert.Equal(t, 20, cfg.Iterations)
	assert.Equal(t, 21, cfg.PassesNeeded, "blue/green: iterations + 1")
	assert.Equal(t, 0.5, cfg.MinPassedRatio)
	assert.Equal(t, "http://prometheus.monitoring:9090", cfg.Provider.Address, "from the MetricTemplate")
	assert.Equal(t, "t0ken", cfg.Provider.BearerToken)
	assert.Contains(t, notes(cfg), "spec.analysis.provider.bearerToken: deprecated — a credential in a committed file: give it through the prometheus-token input (a secret) instead")
	errs := cfg.Metrics[3]
	assert.Equal(t, `sum(rate(http_requests_total{namespace="ai-agents-prod",app="agent",code=~"5.."}[1m]))
/
sum(rate(http_requests_total{namespace="ai-agents-prod",app="agent",route="/v1/ask"}[1m]))
`, errs.Query)
	assert.Equal(t, canary.NoDataFail, errs.OnNoData)
	assert.Zero(t, errs.MinRequests)
	assert.Equal(t, canary.NoDataIgnore, cfg.Metrics[0].OnNoData)
	assert.Equal(t, 20.0, cfg.Metrics[0].MinRequests)
	assert.Contains(t, cfg.Metrics[1].Query, "histogram_quantile(0.95,")
	assert.Equal(t, `sum(rate(ai_ir_failures_total{job="agent", version="1.5.0"}[1m])) or vector(0)`, cfg.Metrics[2].Query)
	assert.Zero(t, cfg.Metrics[2].MinRequests)

	// Secrets never reach the report.
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.NotContains(t, string(j), "t0ken")

	// Command-line overrides win.
	cfg, err = canary.ParseConfig("canary-monitor.yaml", data, canary.WithPrometheusURL("http://127.0.0.1:1"), canary.WithDryRun(false), canary.WithSelector(`job="b"`))
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1", cfg.Provider.Address)
	assert.False(t, cfg.DryRun)
	assert.Contains(t, cfg.Metrics[0].Query, `{job="b",code!~"5.."}`)
}

func TestParseConfigErrors(t *testing.T) {
	const head = "apiVersion: flightline.dev/v1alpha1\nkind: CanaryMonitor\nmetadata: {name: a}\nspec:\n  analysis:\n    selector: job=\"a\"\n    iterations: 3\n"
	const sr = "    metrics:\n      - name: request-success-rate\n        thresholdRange: {min: 99}\n"
	tests := []struct {
		name string
		doc  string
		opts []canary.ParseOption
		want string
	}{
		{name: "a provider without built-in queries, and no selector", doc: strings.Replace(mustRead(t, "testdata/flagger-canary.yaml"), "spec:\n", "spec:\n  provider: cilium\n", 1),
			want: `x.yaml:18:15: spec.analysis.metrics[0].name: built-in "request-success-rate" for spec.provider "cilium": not a provider Flagger has built-in queries for (valid: apisix, appmesh, contour, gatewayapi, gloo, istio, knative, kubernetes, kuma, linkerd, nginx, osm, skipper, traefik, and appmesh:…, gloo:…, gatewayapi:… as Flagger reads them; Flagger reads any other name as istio, say istio if that is meant): give the selector input`},
		{name: "ai-failure-rate without selector", doc: strings.Replace(head, "    selector: job=\"a\"\n", "", 1) + "    metrics:\n      - name: ai-failure-rate\n        thresholdRange: {max: 1}\n", opts: []canary.ParseOption{canary.WithVars(nil)},
			want: "spec.analysis.selector: required by the built-in metric \"ai-failure-rate\""},
		{name: "invalid yaml", doc: "a: [", want: "x.yaml: invalid YAML"},
		{name: "no analysis", doc: "apiVersion: v1\nkind: ConfigMap\n", want: "no analysis document found; valid kinds: flagger.app/v1beta1 Canary, flightline.dev/v1alpha1 CanaryMonitor"},
		{name: "wrong apiVersion", doc: "apiVersion: flagger.app/v1alpha9\nkind: Canary\n", want: `x.yaml:1:13: apiVersion: "flagger.app/v1alpha9" with kind Canary is not supported`},
		{name: "two analyses", doc: head + sr + "---\n" + head + sr, want: "x.yaml:13:7: kind: a second CanaryMonitor document"},
		{name: "no spec.analysis", doc: "apiVersion: flightline.dev/v1alpha1\nkind: CanaryMonitor\nspec: {}\n", want: "spec.analysis: missing"},
		{name: "unknown analysis field", doc: head + "    treshold: 5\n" + sr, want: "x.yaml:8:5: spec.analysis.treshold: unknown field; valid fields: alerts, canaryReadyThreshold,"},
		{name: "unknown metric field", doc: head + sr + "        onnodata: pass\n", want: "x.yaml:11:9: spec.analysis.metrics[0].onnodata: unknown field; valid fields: interval, minRequests, name, onError, onNoData, quantile, query, requestsQuery, templateRef, templateVariables, threshold, thresholdRange"},
		{name: "unknown no-data policy", doc: head + sr + "        onNoData: skip\n", want: `x.yaml:11:19: spec.analysis.metrics[0].onNoData: unknown policy "skip"; valid: fail, pass, ignore`},
		{name: "pass on error refused", doc: head + "    onError: pass\n" + sr, want: `spec.analysis.onError: unknown policy "pass"; valid: fail, ignore (there is no pass on error)`},
		{name: "bad duration", doc: head + "    interval: 1x\n" + sr, want: `x.yaml:8:15: spec.analysis.interval: invalid duration "1x": want a positive Go duration`},
		{name: "interval below a second", doc: head + "    interval: 100ms\n" + sr, want: "x.yaml:8:15: spec.analysis.interval: 100ms is below 1s"},
		{name: "negative duration", doc: head + "    interval: -1m\n" + sr, want: `spec.analysis.interval: invalid duration "-1m"`},
		{name: "duration over 6h", doc: head + "    readyTimeout: 7h\n" + sr, want: "spec.analysis.readyTimeout: 7h0m0s is over GitHub's 6h job limit"},
		{name: "run over 6h", doc: strings.Replace(head, "    iterations: 3\n", "", 1) + "    interval: 10m\n    iterations: 40\n" + sr, want: "is shorter than the 41 passing checks every 10m0s that reach the promotion point"},
		{name: "maxDuration over 6h with the ready wait", doc: head + "    interval: 1m\n    maxDuration: 5h30m\n    readyQuery: up\n    readyTimeout: 1h\n" + sr, want: "readyTimeout (1h0m0s) + maxDuration (5h30m0s) is over GitHub's 6h job limit"},
		{name: "duration removed", doc: head + "    duration: 5m\n" + sr, want: "spec.analysis.duration: removed: the run length now follows Flagger"},
		{name: "maxDuration too short", doc: head + "    maxDuration: 3m\n" + sr, want: "spec.analysis.maxDuration: 3m0s is shorter than the 4 passing checks every 1m0s that reach the promotion point (4m0s)"},
		{name: "no strategy", doc: strings.Replace(head, "    iterations: 3\n", "", 1) + sr, want: "neither iterations nor stepWeight/stepWeights is set: Flagger never advances such a canary"},
		{name: "maxWeight over 100", doc: strings.Replace(head, "    iterations: 3\n", "", 1) + "    stepWeight: 10\n    maxWeight: 150\n" + sr, want: "maxWeight 150 is over 100"},
		{name: "minPassedRatio out of range", doc: head + "    minPassedRatio: 2\n" + sr, want: "spec.analysis.minPassedRatio: 2 is not a share between 0 and 1"},
		{name: "threshold not a number", doc: head + "    threshold: five\n" + sr, want: `spec.analysis.threshold: invalid count "five"`},
		{name: "no metrics", doc: head, want: "spec.analysis.metrics: at least one metric is required (an analysis without metrics or webhooks checks nothing); built-ins: ai-failure-rate, request-duration, request-success-rate"},
		{name: "unknown built-in", doc: head + "    metrics:\n      - name: request-succes-rate\n        thresholdRange: {min: 99}\n",
			want: `x.yaml:9:15: spec.analysis.metrics[0].name: "request-succes-rate" is not a built-in metric and has no query or templateRef; built-ins: ai-failure-rate, request-duration, request-success-rate`},
		{name: "min above max", doc: head + "    metrics:\n      - name: request-success-rate\n        thresholdRange: {min: 99, max: 1}\n", want: "min 99 is above max 1"},
		{name: "bad threshold number", doc: head + "    metrics:\n      - name: request-success-rate\n        thresholdRange: {min: high}\n", want: `spec.analysis.metrics[0].thresholdRange.min: invalid number "high"`},
		{name: "duplicate metric", doc: head + sr + "      - name: request-success-rate\n        thresholdRange: {min: 98}\n", want: `spec.analysis.metrics[1].name: duplicate metric name "request-success-rate"`},
		{name: "template not found", doc: head + "    metrics:\n      - name: x\n        templateRef: {name: nope}\n        thresholdRange: {max: 1}\n", want: `spec.analysis.metrics[0].templateRef: no MetricTemplate nope in x.yaml or the templates input; templates found: [] (give the file or directory that holds it with the templates input)`},
		{name: "query and templateRef", doc: head + "    metrics:\n      - name: x\n        query: up\n        templateRef: {name: nope}\n        thresholdRange: {max: 1}\n", want: "give query or templateRef, not both"},
		{name: "unknown template function", doc: head + "    metrics:\n      - name: x\n        query: up{ns=\"{{ namespaces }}\"}\n        thresholdRange: {max: 1}\n", want: `x.yaml:10:16: spec.analysis.metrics[0].query: unsupported template construct {{ namespaces }} in spec.analysis.metrics[0].query: "namespaces" is not a template function; valid: digest, ingress, interval, name, namespace, route, selector, service, target, variables, version`},
		{name: "undefined variable", doc: head + "    metrics:\n      - name: x\n        query: up{a=\"{{ variables.route }}\"}\n        thresholdRange: {max: 1}\n", want: "{{ variables.route }} is not defined: set it in the metric's templateVariables or in spec.analysis.vars"},
		{name: "go template field", doc: head + "    metrics:\n      - name: x\n        query: up{a=\"{{ .Namespace }}\"}\n        thresholdRange: {max: 1}\n", want: "unsupported template construct {{ .Namespace }} in spec.analysis.metrics[0].query: Flagger's templates call functions"},
		{name: "quantile out of range", doc: head + "    metrics:\n      - name: request-duration\n        quantile: 99\n        thresholdRange: {max: 1}\n", want: "spec.analysis.metrics[0].quantile: 99 is not between 0 and 1"},
		{name: "unsupported provider", doc: head + "    provider: {type: datadog}\n" + sr, want: `spec.analysis.provider.type: unsupported provider "datadog"; valid: prometheus`},
		{name: "two kinds of auth", doc: head + "    provider: {bearerToken: a, username: b}\n" + sr, want: "give bearerToken or username/password, not both"},
		{name: "custom minRequests without requests query", doc: "apiVersion: flightline.dev/v1alpha1\nkind: CanaryMonitor\nspec:\n  analysis:\n    iterations: 2\n    metrics:\n      - name: x\n        query: up\n        minRequests: 5\n        thresholdRange: {max: 1}\n", want: "spec.analysis.metrics[0].requestsQuery: minRequests needs a requestsQuery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := canary.ParseConfig("x.yaml", []byte(tt.doc), tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func notes(cfg *canary.Config) []string {
	out := make([]string, len(cfg.Notes))
	for i, n := range cfg.Notes {
		out[i] = n.String()
	}
	return out
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"testdata/flagger-canary.yaml", "testdata/canary-monitor.yaml"} {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := canary.ParseConfig("fuzz.yaml", data, canary.WithSelector(`job="a"`))
		if err != nil {
			return
		}
		// Whatever parses is runnable: positive interval, something to check (or a skip), a
		// promotion point within the run, a run within the job limit.
		if cfg.Interval <= 0 || (len(cfg.Metrics) == 0 && len(cfg.Webhooks) == 0 && !cfg.SkipAnalysis) || cfg.Threshold < 1 || cfg.PassesNeeded < 1 ||
			cfg.MinRunLength() > cfg.MaxDuration || cfg.MaxDuration > canary.MaxRunLength {
			t.Fatalf("accepted an unusable config: %+v", cfg)
		}
	})
}
