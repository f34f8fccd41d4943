package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/promote"
)

// The canary's up-front check of the revert: a mistyped policy says it is not in the platform
// file and lists the candidates, before any watch starts.
func TestCanaryMonitor_MistypedPolicy(t *testing.T) {
	pe, pdir := localPlatform(t)
	pe.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	code, _, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", "http://127.0.0.1:9", "--selector", `job="a"`,
		"--platform-dir", pdir, "--policy", forgetest.Policy+"x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `ai-agents-image-automation.yaml on main: not found: ImagePolicy "`+forgetest.Policy+`x" is not in the file; it has: `+forgetest.Policy+` (line`)
	assert.NotContains(t, stderr, "no merged promotion", "the mistyped policy is named, not taken for a policy without promotions")
}

// A MetricTemplate with its own address is queried there (with the credentials when it names
// a secretRef, and without verifying TLS when it says insecureSkipVerify); the analysis'
// other metrics go to prometheus-url.
func TestCanaryMonitor_TemplateOwnAddress(t *testing.T) {
	type seen struct {
		mu      sync.Mutex
		queries []string
		auth    []string
	}
	serve := func(s *seen) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			s.mu.Lock()
			s.queries = append(s.queries, r.Form.Get("query"))
			s.auth = append(s.auth, r.Header.Get("Authorization"))
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			v := "100"
			if r.Form.Get("query") == "vector(1)" {
				v = "1"
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}}`, v)
		}
	}
	var main, own seen
	mainSrv := httptest.NewServer(serve(&main))
	t.Cleanup(mainSrv.Close)
	ownSrv := httptest.NewTLSServer(serve(&own)) // a self-signed certificate
	t.Cleanup(ownSrv.Close)
	cfg := writeFile(t, "canary.yaml", `apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: saturation, namespace: agents}
spec:
  provider:
    type: prometheus
    address: `+ownSrv.URL+`
    insecureSkipVerify: true
    secretRef: {name: other-prom}
  query: max(saturation{app="{{ target }}"})
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: agent}
  metricsServer: http://prometheus.monitoring:9090
  analysis:
    interval: 1s
    iterations: 1
    selector: job="agent"
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: saturation
        templateRef: {name: saturation}
        thresholdRange: {min: 99}
`)
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", mainSrv.URL, "--prometheus-token", "tok-12345",
		"--rollback=false", "--report", filepath.Join(t.TempDir(), "r.json"))
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "success", outs["decision"])
	assert.Contains(t, own.queries, `max(saturation{app="agent"})`)
	assert.NotContains(t, main.queries, `max(saturation{app="agent"})`)
	assert.Contains(t, own.auth, "Bearer tok-12345", "secretRef: the credential inputs stand for the secret")
	for _, q := range own.queries {
		assert.NotContains(t, q, "http_requests_total", "the built-in goes to prometheus-url")
	}
	assert.Contains(t, stderr, "agents/saturation is queried at its own address "+ownSrv.URL)
	assert.Contains(t, stderr, "TLS certificates of agents/saturation's Prometheus are not verified")
}
