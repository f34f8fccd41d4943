package canary_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

func headersCanary(headers string) string {
	return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: agent}
  analysis:
    interval: 1m
    iterations: 3
    metrics:
      - name: error-rate
        templateRef: {name: error-rate}
        thresholdRange: {max: 1}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: error-rate, namespace: agents}
spec:
  provider:
    type: prometheus
    address: http://prometheus.monitoring:9090
    headers:
` + headers + `  query: sum(rate(http_requests_total{code=~"5.."}[{{ interval }}]))
`
}

// A MetricTemplate's provider headers are read (a value or a list, as Flagger's http.Header),
// named in the notes, and never written anywhere: not in the notes, the description, the JSON
// report; a credential among them is flagged as one.
func TestTemplateHeaders(t *testing.T) {
	const (
		org   = "tenant-7731"
		tok   = "Bearer tok-secret-99"
		multi = "b-2222-value"
	)
	cfg, err := canary.ParseConfig("c.yaml", []byte(headersCanary(
		"      X-Scope-OrgID: "+org+"\n      X-Multi: [a-1111-value, "+multi+"]\n      Authorization: "+tok+"\n")))
	require.NoError(t, err)
	require.Len(t, cfg.Metrics, 1)
	assert.Equal(t, http.Header{"X-Scope-Orgid": {org}, "X-Multi": {"a-1111-value", multi}, "Authorization": {tok}}, cfg.Metrics[0].Headers)
	all := strings.Join(notes(cfg), "\n")
	assert.Contains(t, all, "MetricTemplate agents/error-rate spec.provider.headers: mapped — sent with agents/error-rate's queries: Authorization, X-Multi, X-Scope-Orgid (values not shown)")
	assert.Contains(t, all, "the template's value wins for a header both give")
	assert.Contains(t, all, "spec.provider.headers: deprecated — Authorization: a credential in a committed file")
	assert.NotContains(t, all, "not yet")
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, out := range []string{all, canary.Describe(cfg), string(j)} {
		for _, v := range []string{org, "tok-secret-99", multi, "a-1111-value"} {
			assert.NotContains(t, out, v)
		}
	}

	// Without a credential among them, no warning.
	cfg, err = canary.ParseConfig("c.yaml", []byte(headersCanary("      X-Scope-OrgID: "+org+"\n")))
	require.NoError(t, err)
	assert.NotContains(t, strings.Join(notes(cfg), "\n"), "deprecated")
}

func TestTemplateHeadersErrors(t *testing.T) {
	for _, tt := range []struct{ name, headers, want string }{
		{"not a mapping", "      - X-Scope-OrgID\n", "c.yaml:22:7: MetricTemplate agents/error-rate spec.provider.headers: want a mapping of header names to values"},
		{"a nested value", "      X-Scope-OrgID: {value: s3cr3t-nested}\n", "c.yaml:22:22: MetricTemplate agents/error-rate spec.provider.headers.X-Scope-OrgID: want a one-line string or a list of them (the value is not shown)"},
		{"a bad name", "      \"X Scope\": s3cr3t-nested\n", `c.yaml:22:7: MetricTemplate agents/error-rate spec.provider.headers: "X Scope" is not a valid HTTP header name`},
		{"a value on two lines", "      X-Token: \"s3cr3t\\nnested\"\n", "spec.provider.headers.X-Token: want a one-line string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := canary.ParseConfig("c.yaml", []byte(headersCanary(tt.headers)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}
