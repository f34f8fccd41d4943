package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/actions"
)

// headerProm is a Prometheus stand-in that records, per query, the headers it got, answers
// 100, and answers queries holding "echo" with an error that repeats the headers it got.
func headerProm(t *testing.T) (url string, seen func(query string) http.Header) {
	var mu sync.Mutex
	got := map[string]http.Header{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		mu.Lock()
		got[q] = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(q, "echo") && !strings.HasPrefix(q, "count(") {
			w.WriteHeader(http.StatusUnprocessableEntity)
			msg := fmt.Sprintf("execution: org %s extra %s", r.Header.Get("X-Scope-OrgID"), r.Header.Get("X-Extra"))
			b, _ := json.Marshal(map[string]string{"status": "error", "errorType": "execution", "error": msg})
			_, _ = w.Write(b)
			return
		}
		v := "100"
		if q == "vector(1)" {
			v = "1"
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}}`, v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func(query string) http.Header {
		mu.Lock()
		defer mu.Unlock()
		for q, h := range got {
			if strings.Contains(q, query) && !strings.HasPrefix(q, "count(") {
				return h
			}
		}
		return nil
	}
}

// A MetricTemplate's spec.provider.headers go with that template's queries: at the analysis'
// address merged with the prometheus-headers input (the template's value wins for a name both
// give), at the template's own address alone (no secretRef: no inputs there). Their values
// appear nowhere: not in the log, the summary, the outputs or the report, not even when
// Prometheus echoes them in an error.
func TestCanaryMonitor_TemplateHeaders(t *testing.T) {
	const (
		tmplOrg, tmplExtra = "tmpl-org-1111", "tmpl-extra-2222"
		inputOrg, inputOnl = "input-org-3333", "input-only-4444"
		remote             = "remote-hdr-5555"
	)
	mainURL, mainSeen := headerProm(t)
	remoteURL, remoteSeen := headerProm(t)
	cfg := writeFile(t, "canary.yaml", `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent, namespace: agents}
spec:
  analysis:
    interval: 1s
    iterations: 1
    threshold: 1
    selector: job="agent"
    provider: {address: `+mainURL+`}
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: tenant
        templateRef: {name: tenant}
        thresholdRange: {min: 99}
      - name: remote
        templateRef: {name: remote}
        thresholdRange: {min: 99}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: tenant, namespace: agents}
spec:
  provider:
    type: prometheus
    headers:
      X-Scope-OrgID: `+tmplOrg+`
      X-Extra: [`+tmplExtra+`]
  query: tenant_echo_ratio{job="agent"}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: remote, namespace: agents}
spec:
  provider:
    type: prometheus
    address: `+remoteURL+`
    headers: {X-Remote: `+remote+`}
  query: remote_ratio{job="agent"}
`)
	env := map[string]string{"FLIGHTLINE_INPUT_PROMETHEUS_HEADERS": "X-Scope-OrgID: " + inputOrg + "\nX-Input: " + inputOnl}
	code, artifacts := inActions(t, env, "canary-monitor", "--config", cfg, "--rollback=false")
	stdout := artifacts["stdout"]
	require.Equal(t, exitRollback, code, "the echoing template fails its check\nstdout:\n%s\nstderr:\n%s", stdout, artifacts["stderr"])

	builtin := mainSeen("http_requests_total")
	require.NotNil(t, builtin)
	assert.Equal(t, inputOrg, builtin.Get("X-Scope-OrgID"), "the analysis' queries: the input's headers")
	assert.Empty(t, builtin.Get("X-Extra"), "a template's headers stay with its queries")
	tenant := mainSeen("tenant_echo_ratio")
	require.NotNil(t, tenant)
	assert.Equal(t, []string{tmplOrg}, tenant.Values("X-Scope-OrgID"), "the template's value wins over the input's")
	assert.Equal(t, tmplExtra, tenant.Get("X-Extra"))
	assert.Equal(t, inputOnl, tenant.Get("X-Input"), "merged with the input's other headers")
	rem := remoteSeen("remote_ratio")
	require.NotNil(t, rem)
	assert.Equal(t, remote, rem.Get("X-Remote"))
	assert.Empty(t, rem.Get("X-Scope-OrgID"), "a template's own address gets no inputs without a secretRef")
	assert.Empty(t, rem.Get("X-Input"))

	outs, err := actions.ParseOutputs(artifacts["outputs"])
	require.NoError(t, err)
	assert.Contains(t, outs["failed-checks"], "tenant")
	assert.Contains(t, artifacts["report"], "execution: org *** extra ***", "the echoed values are masked in the check's message")
	assert.Contains(t, artifacts["stderr"], "sent with agents/tenant's queries: X-Extra, X-Scope-Orgid (values not shown)")
	for name, text := range artifacts {
		for _, line := range strings.Split(text, "\n") {
			if name == "stdout" && strings.HasPrefix(line, "::add-mask::") {
				continue // how the runner learns the secrets; it shows them to no one
			}
			for _, s := range []string{tmplOrg, tmplExtra, inputOrg, inputOnl, remote} {
				assert.NotContains(t, line, s, "%s carries a header value", name)
			}
		}
	}
	assert.Contains(t, stdout, "::add-mask::"+tmplOrg, "the template's header values are masked")
	assert.Contains(t, stdout, "::add-mask::"+remote)
}

// inActions runs the command as GitHub Actions would (outputs, step summary and --report in a
// temporary directory; env added) and returns its exit code and what it left: stdout, stderr,
// outputs, summary, report.
func inActions(t *testing.T, env map[string]string, args ...string) (int, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"outputs": filepath.Join(dir, "out"), "summary": filepath.Join(dir, "summary"), "report": filepath.Join(dir, "report.json")}
	all := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": files["outputs"], "GITHUB_STEP_SUMMARY": files["summary"]}
	for k, v := range env {
		all[k] = v
	}
	code, stdout, stderr := runCLI(t, all, append(args, "--report", files["report"])...)
	artifacts := map[string]string{"stdout": stdout, "stderr": stderr}
	for name, p := range files {
		artifacts[name] = mustReadFile(t, p)
	}
	return code, artifacts
}
