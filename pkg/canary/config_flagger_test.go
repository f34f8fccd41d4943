package canary_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

// Canary manifests shaped like the ones in Flagger's tutorials and e2e tests (our own files, in
// testdata/flagger): each loads with Flagger's strategy and count of passing checks, and every
// field Flightline does not act on as Flagger would is named.
func TestParseConfigFlaggerShapes(t *testing.T) {
	tpl, err := canary.LoadTemplates([]string{"testdata/flagger/templates"})
	require.NoError(t, err)
	tests := []struct {
		file      string
		strategy  canary.Strategy
		passes    int
		threshold int
		notes     []string // substrings of the notes, each must appear
		check     func(t *testing.T, cfg *canary.Config)
	}{
		{file: "mesh-progressive.yaml", strategy: canary.Progressive, passes: 3, threshold: 4, notes: []string{
			"spec.autoscalerRef: not applicable",
			"spec.progressDeadlineSeconds: not applicable",
			"spec.analysis.metrics[0]: differs — built-in request-success-rate is measured on the app's own http_* series (the selector), not on istio's metrics as Flagger would",
		}},
		{file: "bluegreen-kubernetes.yaml", strategy: canary.BlueGreen, passes: 7, threshold: 3},
		{file: "kubernetes-progressive.yaml", strategy: canary.BlueGreen, passes: 11, threshold: 2, notes: []string{
			"spec.analysis.iterations: mapped — spec.provider kubernetes cannot shift traffic: Flagger runs blue/green with iterations 10",
			"spec.analysis.match: mapped — ignored with spec.provider kubernetes",
		}},
		{file: "ab-testing.yaml", strategy: canary.ABTesting, passes: 5, threshold: 3, notes: []string{"spec.analysis.match: not applicable"}},
		{file: "step-weights.yaml", strategy: canary.Progressive, passes: 4, threshold: 2},
		{file: "deprecated-threshold.yaml", strategy: canary.Progressive, passes: 3, threshold: 10, notes: []string{
			"spec.canaryAnalysis: deprecated — read as spec.analysis",
			"spec.canaryAnalysis.metrics[0].threshold: deprecated — read as Flagger reads it (a minimum); write thresholdRange {min: 98}",
			"spec.canaryAnalysis.metrics[1].threshold: deprecated — read as Flagger reads it (a maximum); write thresholdRange {max: 800}",
			"spec.canaryAnalysis.metrics[2].threshold: deprecated — read as Flagger reads it (a maximum); write thresholdRange {max: 2.5}",
		}, check: func(t *testing.T, cfg *canary.Config) {
			assert.Equal(t, 98.0, *cfg.Metrics[0].Min)
			assert.Nil(t, cfg.Metrics[0].Max)
			assert.Equal(t, 800.0, *cfg.Metrics[1].Max)
			assert.Equal(t, 2.5, *cfg.Metrics[2].Max)
		}},
		{file: "webhooks-only.yaml", strategy: canary.BlueGreen, passes: 4, threshold: 2, check: func(t *testing.T, cfg *canary.Config) {
			assert.Empty(t, cfg.Metrics)
			assert.Empty(t, cfg.Notes, "Flagger decides on the webhooks alone, and so does Flightline")
			require.Len(t, cfg.Webhooks, 1)
			assert.Equal(t, canary.Webhook{Name: "conformance", Type: "pre-rollout", URL: "http://tester.agents/", Endpoint: "http://tester.agents/",
				Timeout: 3 * time.Minute, Metadata: map[string]string{"type": "helm", "cmd": "test agent --cleanup"}, Called: true}, cfg.Webhooks[0])
			e := canary.NewEngine(cfg)
			pre, err := e.PreRollout(t0, []canary.HookCall{{Name: "conformance", Type: "pre-rollout", OK: true, Status: 200, Attempts: 1}})
			require.NoError(t, err)
			assert.Equal(t, canary.Pass, pre.Verdict)
			assert.Zero(t, pre.Passed, "the pre-rollout step does not advance")
			for i := range cfg.PassesNeeded {
				tk, err := e.Observe(t0.Add(cfg.Interval*time.Duration(i+1)), nil)
				require.NoError(t, err)
				assert.Equal(t, canary.Pass, tk.Verdict)
			}
			assert.Equal(t, canary.Success, e.Decision())
		}},
		{file: "templates-elsewhere.yaml", strategy: canary.BlueGreen, passes: 5, threshold: 3, notes: []string{
			`MetricTemplate monitoring/queue-depth spec.provider.secretRef: mapped — secret "prom-basic-auth" is not read (Flightline has no cluster access): the prometheus-username / prometheus-password or prometheus-token inputs stand for it`,
		}, check: func(t *testing.T, cfg *canary.Config) {
			assert.Equal(t, `sum(rate(http_requests_total{namespace="agents",app="agent",code=~"5.."}[2m]))
/ sum(rate(http_requests_total{namespace="agents",app="agent"}[2m])) * 100
`, cfg.Metrics[0].Query, "the agents template, not monitoring's of the same name")
			assert.Equal(t, "agents/error-share ("+filepath.Join("testdata/flagger/templates", "agents.yaml")+")", cfg.Metrics[0].Template)
			assert.Equal(t, `max(queue_depth{queue="inference",app="agent"})`, cfg.Metrics[1].Query)
		}},
		{file: "skip-analysis.yaml", strategy: canary.Progressive, passes: 2, threshold: 1, check: func(t *testing.T, cfg *canary.Config) {
			assert.True(t, cfg.SkipAnalysis)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/flagger", tt.file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			cfg, err := canary.ParseConfig(path, data, canary.WithSelector(`app="agent"`), canary.WithTemplates(tpl...))
			require.NoError(t, err)
			assert.Equal(t, tt.strategy, cfg.Strategy)
			assert.Equal(t, tt.passes, cfg.PassesNeeded, cfg.StrategyText())
			assert.Equal(t, tt.threshold, cfg.Threshold)
			got := strings.Join(notes(cfg), "\n")
			for _, n := range tt.notes {
				assert.Contains(t, got, n)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
			assert.NotEmpty(t, canary.Describe(cfg))
		})
	}
}

// Each refusal names the field and says what to do.
func TestParseConfigFlaggerRefusals(t *testing.T) {
	for _, tt := range []struct {
		file string
		opts []canary.ParseOption
		want string
	}{
		{file: "datadog-template.yaml", want: `MetricTemplate agents/dd-errors spec.provider.type: unsupported provider "datadog"; valid: prometheus (Flightline queries Prometheus only)`},
		{file: "templates-elsewhere.yaml", want: "spec.analysis.metrics[0].templateRef: no MetricTemplate agents/error-share in testdata/flagger/templates-elsewhere.yaml or the templates input; templates found: [] (give the file or directory that holds it with the templates input)"},
		{file: "mesh-progressive.yaml", opts: []canary.ParseOption{canary.WithTemplates()}, want: ""},
		{file: "ab-testing.yaml", want: ""},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/flagger", tt.file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			_, err = canary.ParseConfig(path, data, tt.opts...)
			if tt.want == "" {
				require.NoError(t, err, "without a selector, Flagger's built-in queries for spec.provider")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseConfigTemplateConstructs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	tplFile := write("t.yaml", `apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: fancy, namespace: agents}
spec:
  provider: {type: prometheus}
  query: sum(rate(x{app="{{ target }}"}[{{ interval }}])) + {{ sprigAdd 1 2 }}
`)
	canaryDoc := []byte(`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  analysis:
    iterations: 1
    metrics:
      - name: fancy
        templateRef: {name: fancy}
        thresholdRange: {max: 1}
`)
	src, err := canary.LoadTemplates([]string{tplFile})
	require.NoError(t, err)
	_, err = canary.ParseConfig("c.yaml", canaryDoc, canary.WithTemplates(src...))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unsupported template construct {{ sprigAdd 1 2 }} in MetricTemplate agents/fancy in `+tplFile+`: "sprigAdd" is not a template function`)
	assert.NotContains(t, err.Error(), "sum(rate(", "the construct is named, not the whole query")

	// {{ version }} without a version is refused: an empty label matcher would select the wrong series.
	_, err = canary.ParseConfig("c.yaml", []byte(strings.Replace(string(canaryDoc), "templateRef: {name: fancy}", `query: up{version="{{ version }}"}`, 1)))
	require.ErrorContains(t, err, "{{ version }} is used but no version was given: set the version input (--version)")
	cfg, err := canary.ParseConfig("c.yaml", []byte(strings.Replace(string(canaryDoc), "templateRef: {name: fancy}", `query: up{version="{{ version }}",image=~".*{{ digest }}"}`, 1)),
		canary.WithVersion("1.5.0"), canary.WithDigest("sha256:abc"))
	require.NoError(t, err)
	assert.Equal(t, `up{version="1.5.0",image=~".*sha256:abc"}`, cfg.Metrics[0].Query)
	assert.Equal(t, `{version="1.5.0"}`, cfg.ReadyQuery, "a version gives a readiness gate by default")

	// The same name defined twice in one namespace is refused, naming both files.
	again := write("again.yaml", strings.Replace(mustRead(t, tplFile), "{{ sprigAdd 1 2 }}", "1", 1))
	src, err = canary.LoadTemplates([]string{tplFile, again})
	require.NoError(t, err)
	_, err = canary.ParseConfig("c.yaml", canaryDoc, canary.WithTemplates(src...))
	require.ErrorContains(t, err, "MetricTemplate agents/fancy is defined twice: here and in "+tplFile)
}

// examples/deploy/canary.yaml, the runbook's gate that the README's release workflow uses,
// watches the promoted version only: its selector and its readiness gate carry the version.
func TestExampleDeployCanary(t *testing.T) {
	const path = "../../examples/deploy/canary.yaml"
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = canary.ParseConfig(path, data)
	require.ErrorContains(t, err, "{{ version }} is used but no version was given: set the version input")
	cfg, err := canary.ParseConfig(path, data, canary.WithVersion("1.5.0"))
	require.NoError(t, err)
	assert.Equal(t, 5, cfg.Threshold)
	assert.Equal(t, canary.BlueGreen, cfg.Strategy)
	assert.Equal(t, 10, cfg.PassesNeeded)
	assert.Equal(t, `namespace="ai-agents-prod",app="ai-agents-main",version="1.5.0"`, cfg.Selector)
	assert.Equal(t, `{namespace="ai-agents-prod",app="ai-agents-main",version="1.5.0"}`, cfg.ReadyQuery)
	for _, m := range cfg.Metrics {
		assert.Contains(t, m.Query, `version="1.5.0"`, m.Name)
	}
	assert.Empty(t, cfg.Notes, "every field is acted on")
}
