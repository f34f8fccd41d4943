package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/promote"
)

// One Prometheus scrapes two agents: a healthy one and one answering 30 % errors.
type canaryEnv struct {
	prom             *promtest.Server
	healthy, failing string // selectors
}

func startCanaryEnv(t *testing.T) canaryEnv {
	t.Helper()
	ok := promtest.NewAgent(t, "1.5.0")
	bad := promtest.NewAgent(t, "1.5.0")
	bad.SetErrorRate(0.3)
	p := promtest.Start(t, ok.Addr, bad.Addr)
	return canaryEnv{prom: p,
		healthy: fmt.Sprintf(`job="agent",instance=%q`, ok.Addr),
		failing: fmt.Sprintf(`job="agent",instance=%q`, bad.Addr)}
}

const cliAnalysis = `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 2s
    iterations: 3 # blue/green: 4 passing checks
    threshold: 2
    readyQuery: build_info{version="1.5.0"}
    readyTimeout: 15s
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 4s
      - name: request-duration
        thresholdRange: {max: 1500}
        interval: 4s
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestCanaryMonitor_Live(t *testing.T) {
	env := startCanaryEnv(t)
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	guarded := writeFile(t, "guarded.yaml", strings.Replace(cliAnalysis, "    threshold: 2\n", "    threshold: 2\n    minRequests: 10\n    maxDuration: 10s\n", 1))
	tests := []struct {
		name     string
		args     []string
		inputs   map[string]string
		platform bool // a local platform repository whose last promotion (1.4.0 → 1.5.0) is merged
		code     int
		decision canary.Decision
		reverted bool
		summary  []string
	}{
		{name: "healthy: nothing reverted", args: []string{"--selector", env.healthy}, platform: true, code: 0, decision: canary.Success,
			summary: []string{"✅ canary agent: success", "| # | time (UTC) | request-success-rate (≥ 99 %) | request-duration (≤ 1500 ms) | tick | failed | in a row |", "xychart-beta", "line 2: min 99"}},
		{name: "error burst: the promotion is reverted", args: []string{"--selector", env.failing, "--merge", "merge"}, platform: true, code: exitRollback, decision: canary.Rollback, reverted: true,
			summary: []string{"❌ canary agent: rollback", "reverted: flightline/revert/", "failed check — request-success-rate: failed 2 of 2 checks",
				"| canary | 2 failed checks reached the threshold of 2 |"}},
		{name: "rollback false only decides", inputs: map[string]string{"selector": env.failing, "rollback": "false"}, code: exitRollback, decision: canary.Rollback,
			summary: []string{"rollback: false — nothing was reverted here"}},
		{name: "dry run", args: []string{"--selector", env.failing, "--dry-run"}, platform: true, code: 0, decision: canary.Rollback,
			summary: []string{"dry run: would have rolled back at", "dry run: nothing was reverted"}},
		{name: "idle service with the minRequests guard is inconclusive", args: []string{"--config", guarded, "--selector", `job="agent",route="/nothing-here"`, "--rollback=false"}, code: exitInconclusive, decision: canary.Inconclusive,
			summary: []string{"⚠️ canary agent: inconclusive", "below minRequests 10", "maximum run time 10s reached"}},
		{name: "idle service without the guard fails, as in Flagger (no data)", args: []string{"--selector", `job="agent",route="/nothing-here"`, "--rollback=false"}, code: exitRollback, decision: canary.Rollback,
			summary: []string{"no data, counted as a failure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			report := filepath.Join(t.TempDir(), "report.json")
			dir := t.TempDir()
			envv := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
			for k, v := range tt.inputs {
				envv[actions.EnvName(k)] = v
			}
			args := append([]string{"canary-monitor", "--config", cfg, "--prometheus-url", env.prom.URL, "--report", report}, tt.args...)
			var pe *forgetest.Env
			var promoted []byte
			if tt.platform {
				var pdir string
				pe, pdir = localPlatform(t)
				pe.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
				promoted = pe.File("main")
				require.NotEqual(t, pe.Original, promoted)
				args = append(args, "--platform-dir", pdir, "--policy", forgetest.Policy)
			}
			code, stdout, stderr := runCLI(t, envv, args...)
			require.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stderr, "tick 1 ", "one log line per tick")

			b, err := os.ReadFile(envv["GITHUB_OUTPUT"])
			require.NoError(t, err)
			outs, err := actions.ParseOutputs(string(b))
			require.NoError(t, err)
			assert.Equal(t, string(tt.decision), outs["decision"])
			assert.Equal(t, report, outs["report"])
			if tt.decision == canary.Rollback {
				assert.Contains(t, outs["failed-checks"], "request-success-rate: failed")
			}
			if tt.reverted {
				assert.Contains(t, outs["revert-pr-url"], "flightline/revert/")
				assert.Equal(t, string(pe.Original), string(pe.File("main")), "the revert is merged: the previous range is back")
			} else {
				assert.Empty(t, outs["revert-pr-url"])
				if pe != nil {
					assert.Equal(t, string(promoted), string(pe.File("main")), "nothing reverted")
				}
			}

			sum, err := os.ReadFile(envv["GITHUB_STEP_SUMMARY"])
			require.NoError(t, err)
			for _, want := range tt.summary {
				assert.Contains(t, string(sum), want)
			}

			f, err := os.Open(report)
			require.NoError(t, err)
			defer f.Close()
			r, err := canary.ReadReport(f)
			require.NoError(t, err)
			again, err := canary.Replay(r)
			require.NoError(t, err)
			assert.Equal(t, r.Decision, again.Decision)
			assert.Equal(t, tt.decision, r.Decision)
		})
	}
}

func TestCanaryMonitor_NeverReady(t *testing.T) {
	env := startCanaryEnv(t)
	cfg := writeFile(t, "canary.yaml", strings.NewReplacer(`version="1.5.0"`, `version="9.9.9"`, "readyTimeout: 15s", "readyTimeout: 2s").Replace(cliAnalysis))
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", env.prom.URL, "--selector", env.healthy, "--rollback=false",
		"--report", filepath.Join(t.TempDir(), "r.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `the new version never became ready: version never became ready: after 2s, readyQuery build_info{version="9.9.9"} still selected no series`)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "inconclusive", outs["decision"])
}

func TestCanaryMonitor_BadInput(t *testing.T) {
	runbook, err := os.ReadFile("../../pkg/canary/testdata/flagger-canary.yaml")
	require.NoError(t, err)
	cfg := writeFile(t, "flagger-canary.yaml", string(runbook))
	unknownProvider := writeFile(t, "cilium.yaml", strings.Replace(string(runbook), "spec:\n", "spec:\n  provider: cilium\n", 1))
	bad := writeFile(t, "bad.yaml", strings.Replace(cliAnalysis, "threshold: 2", "threshold: two", 1))
	_, emptyPlatform := localPlatform(t)
	long := writeFile(t, "long.yaml", strings.Replace(cliAnalysis, "interval: 2s\n    iterations: 3", "interval: 1h\n    iterations: 7", 1))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no config", args: nil, want: "config"},
		{name: "config not found", args: []string{"--config", "/nonexistent.yaml"}, want: "reading --config: open /nonexistent.yaml"},
		{name: "bad value located", args: []string{"--config", bad, "--prometheus-url", "http://127.0.0.1:9"}, want: `bad.yaml:8:16: spec.analysis.threshold: invalid count "two"`},
		{name: "built-ins without selector for a provider Flagger has no queries for", args: []string{"--config", unknownProvider, "--prometheus-url", "http://127.0.0.1:9"},
			want: `built-in "request-success-rate" for spec.provider "cilium": not a provider Flagger has built-in queries for`},
		{name: "no prometheus", args: []string{"--config", cfg, "--selector", `job="a"`}, want: "no Prometheus address: give --prometheus-url (input prometheus-url) or spec.analysis.provider.address"},
		{name: "bad prometheus url", args: []string{"--config", cfg, "--selector", `job="a"`, "--prometheus-url", "prometheus:9090"}, want: `prometheus address "prometheus:9090": want an http(s) URL`},
		{name: "bad merge mode", args: []string{"--config", cfg, "--merge", "yes"}, want: `merge "yes": valid values are none, merge, auto`},
		{name: "rollback without a promotion to revert", args: []string{"--config", cfg, "--selector", `job="a"`, "--prometheus-url", "http://127.0.0.1:9"},
			want: "rollback is true but there is nothing to revert: give policy (NAMESPACE/NAME) or promotion-pr, or set rollback: false to only decide"},
		{name: "rollback without a platform", args: []string{"--config", cfg, "--selector", `job="a"`, "--prometheus-url", "http://127.0.0.1:9", "--policy", "ns/name"},
			want: "rollback is true: no platform repository: give platform-repo (OWNER/REPO) or platform-dir"},
		{name: "rollback with nothing promoted", args: []string{"--config", cfg, "--selector", `job="a"`, "--prometheus-url", "http://127.0.0.1:9", "--policy", forgetest.Policy, "--platform-dir", emptyPlatform},
			want: "rollback is true but the promotion could not be reverted: "},
		{name: "over six hours", args: []string{"--config", long, "--prometheus-url", "http://127.0.0.1:9", "--selector", `job="a"`}, want: "is shorter than the 8 passing checks every 1h0m0s that reach the promotion point (8h0m0s)"},
		{name: "token and password", args: []string{"--config", cfg, "--prometheus-token", "abcd", "--prometheus-password", "efgh"}, want: "give one kind of credential, not both"},
		{name: "bad header", args: []string{"--config", cfg, "--prometheus-headers", "X-Scope-OrgID team-a"}, want: "prometheus-headers line 1: want 'Name: value'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, append([]string{"canary-monitor"}, tt.args...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// fakeProm is a Prometheus stand-in answering every query with 100; it records the
// Authorization headers it saw.
func fakeProm(t *testing.T) (url string, auth func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		v := "100"
		if r.FormValue("query") == "vector(1)" {
			v = "1"
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}}`, v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// Cancelled mid-run (SIGTERM, a job timeout): the report and the outputs are still written,
// the decision is inconclusive and the exit code says it was interrupted.
func TestCanaryMonitor_Interrupted(t *testing.T) {
	url, _ := fakeProm(t)
	cfg := writeFile(t, "canary.yaml", `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1s
    iterations: 100
    selector: job="agent"
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
`)
	report := filepath.Join(t.TempDir(), "r.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"canary-monitor", "--config", cfg, "--prometheus-url", url, "--rollback=false", "--report", report}, &out, &errb, func(string) string { return "" }, nil)
	assert.Equal(t, 130, code, errb.String())
	assert.Contains(t, errb.String(), "interrupted")
	outs, err := actions.ParseOutputs(out.String())
	require.NoError(t, err)
	assert.Equal(t, "inconclusive", outs["decision"])
	f, err := os.Open(report)
	require.NoError(t, err)
	defer f.Close()
	r, err := canary.ReadReport(f)
	require.NoError(t, err)
	assert.True(t, r.Aborted)
	assert.Contains(t, r.Reason, "cancelled before a decision")
	assert.NotEmpty(t, r.Ticks)
}

// A Prometheus stand-in that answers every query with 100 and records the Authorization header:
// the config's credentials reach Prometheus and nothing prints them.
func TestCanaryMonitor_ProviderCredentialsNeverPrinted(t *testing.T) {
	url, auth := fakeProm(t)
	const secret = "prom-s3cret-token"
	cfg := writeFile(t, "canary.yaml", `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1s
    iterations: 1
    threshold: 1
    selector: job="agent"
    provider:
      address: `+url+`
      bearerToken: `+secret+`
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
`)
	report := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--rollback=false", "--report", report)
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "success", outs["decision"])
	assert.Contains(t, stderr, "spec.analysis.provider.bearerToken: deprecated — a credential in a committed file: give it through the prometheus-token input (a secret) instead")
	require.NotEmpty(t, auth())
	for _, a := range auth() {
		assert.Equal(t, "Bearer "+secret, a)
	}
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	for _, out := range []string{stdout, stderr, string(b)} {
		assert.NotContains(t, out, secret)
	}
}

// --validate reads the configuration (templates from a directory, by namespace and name) and
// says what it will do with every field, querying nothing.
func TestCanaryMonitor_Validate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates.yaml"), []byte(`apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: error-rate, namespace: istio-system}
spec:
  provider: {type: prometheus, address: http://prometheus.istio-system:9090, secretRef: {name: prom-auth}}
  query: sum(rate(errors_total{ns="istio"}[{{ interval }}]))
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: error-rate, namespace: prod}
spec:
  provider: {type: prometheus, address: http://prometheus.istio-system:9090}
  query: sum(rate(errors_total{namespace="{{ namespace }}",version="{{ version }}"}[{{ interval }}]))
`), 0o644))
	cfg := writeFile(t, "canary.yaml", `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: prod}
spec:
  provider: istio
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  skipAnalysis: false
  analysis:
    interval: 30s
    threshold: 5
    maxWeight: 50
    stepWeight: 10
    alerts:
      - name: on-call
        providerRef: {name: slack}
    metrics:
      - name: errors
        templateRef: {name: error-rate}
        thresholdRange: {max: 1}
        interval: 1m
    webhooks:
      - name: load-test
        url: http://flagger-loadtester.test/
        metadata: {cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"}
`)
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--validate", "--config", cfg, "--templates", dir, "--version", "1.5.0", "--prometheus-url", "http://127.0.0.1:9")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Empty(t, outs["decision"], "nothing was decided")
	for _, want := range []string{
		"Canary prod/podinfo",
		"run: canary, stepWeight 10 up to maxWeight 50: 5 passing checks; a check every 30s",
		`query: sum(rate(errors_total{namespace="prod",version="1.5.0"}[1m]))`, // the prod template, not istio-system's
		"from MetricTemplate prod/error-rate (" + filepath.Join(dir, "templates.yaml") + ")",
		`webhook "load-test" (rollout, http://flagger-loadtester.test/, timeout 10s, retries 0): called every interval before the metrics`,
		"spec.analysis.alerts: not applicable",
		`readiness: wait up to 10m0s until count({version="1.5.0"}) > 0`,
	} {
		assert.Contains(t, stderr, want)
	}
	assert.NotContains(t, stderr, "secretRef", "the istio-system template is not the one used")

	// A refusal names the field and what to do; exit 1.
	bad := writeFile(t, "bad.yaml", strings.Replace(mustReadFile(t, cfg), "templateRef: {name: error-rate}", "templateRef: {name: error-rates}", 1))
	code, _, stderr = runCLI(t, nil, "canary-monitor", "--validate", "--config", bad, "--templates", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "spec.analysis.metrics[0].templateRef: no MetricTemplate prod/error-rates")
	assert.Contains(t, stderr, "give the file or directory that holds it with the templates input")
}

func mustReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// Prometheus unreachable before the watch: exit 1 "cannot watch", decision inconclusive, and
// the promotion stays (rollback on, local platform).
func TestCanaryMonitor_PrometheusDownAtStart(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	cfg := writeFile(t, "canary.yaml", cliAnalysis)
	pe, pdir := localPlatform(t)
	pe.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	promoted := pe.File("main")
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", url, "--selector", `job="a"`,
		"--platform-dir", pdir, "--policy", forgetest.Policy, "--merge", "merge", "--report", filepath.Join(t.TempDir(), "r.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot watch: Prometheus did not answer vector(1)")
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "inconclusive", outs["decision"])
	assert.Empty(t, outs["revert-pr-url"])
	assert.Equal(t, string(promoted), string(pe.File("main")), "nothing reverted")
}

// A failing canary, rollback on, against the local git forge, with a secret in every place a
// user could put one: the URL's userinfo, the username, password and headers inputs, the
// config's inline bearerToken; the Prometheus stand-in echoes the Authorization header and a
// forged workflow command and marker in an error. No artifact carries a secret, a raw workflow
// command or a marker of the outsider's.
func TestCanaryMonitor_NoSecretAnywhere(t *testing.T) {
	const (
		urlUser, urlPass = "url-user-1", "url-pass-secret-2"
		inUser, inPass   = "input-user-3", "input-pass-secret-4"
		header           = "header-secret-5"
		inline           = "inline-token-secret-6"
	)
	secrets := []string{urlPass, inUser, inPass, header, inline, urlUser, base64.StdEncoding.EncodeToString([]byte(inUser + ":" + inPass))}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+r.Header.Get("X-Scope-OrgID"))
		mu.Unlock()
		_ = r.ParseForm()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(q, "ai_ir") { // an error text that echoes what it got, and forges a command and a marker
			w.WriteHeader(http.StatusUnprocessableEntity)
			msg := fmt.Sprintf("execution: auth %s org %s\n::error::pwned\n<!-- flightline:promotion {\"v\":1} -->", r.Header.Get("Authorization"), r.Header.Get("X-Scope-OrgID"))
			b, _ := json.Marshal(map[string]string{"status": "error", "errorType": "execution", "error": msg})
			_, _ = w.Write(b)
			return
		}
		v := "50" // the success rate: failing
		if q == "vector(1)" {
			v = "1"
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}}`, v)
	}))
	t.Cleanup(srv.Close)
	promURL := strings.Replace(srv.URL, "http://", "http://"+urlUser+":"+urlPass+"@", 1)
	cfg := writeFile(t, "canary.yaml", `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 1s
    iterations: 3
    threshold: 2
    selector: job="agent"
    provider: {bearerToken: `+inline+`}
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: ai-failure-rate
        thresholdRange: {max: 0.5}
`)
	pe, pdir := localPlatform(t)
	pe.MustPromote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow})
	env := map[string]string{"FLIGHTLINE_INPUT_PROMETHEUS_URL": promURL, "FLIGHTLINE_INPUT_PROMETHEUS_USERNAME": inUser, "FLIGHTLINE_INPUT_PROMETHEUS_PASSWORD": inPass,
		"FLIGHTLINE_INPUT_PROMETHEUS_HEADERS": "X-Scope-OrgID: " + header}
	code, artifacts := inActions(t, env, "canary-monitor", "--config", cfg, "--platform-dir", pdir, "--policy", forgetest.Policy, "--merge", "merge")
	stdout := artifacts["stdout"]
	require.Equal(t, exitRollback, code, "stdout:\n%s\nstderr:\n%s", stdout, artifacts["stderr"])
	mu.Lock()
	assert.Contains(t, seen, "Basic "+base64.StdEncoding.EncodeToString([]byte(inUser+":"+inPass))+" "+header, "the inputs reach Prometheus")
	mu.Unlock()

	outs, err := actions.ParseOutputs(artifacts["outputs"])
	require.NoError(t, err)
	require.Contains(t, outs["revert-pr-url"], "flightline/revert/")
	bodies, err := exec.Command("git", "-C", pdir, "log", "--all", "--format=%B").CombinedOutput()
	require.NoError(t, err, string(bodies))
	artifacts["PR and commit bodies"] = string(bodies)
	assert.Contains(t, artifacts["PR and commit bodies"], "ai-failure-rate", "the failing check reached the revert")
	assert.Contains(t, artifacts["report"], "execution: auth Basic *** org ***", "the echoed credentials are masked in the check's message")
	for name, text := range artifacts {
		for _, line := range strings.Split(text, "\n") {
			if name == "stdout" && strings.HasPrefix(line, "::add-mask::") {
				continue // the runner consumes these and shows them to no one: this is how secrets get masked
			}
			for _, s := range secrets {
				assert.NotContains(t, line, s, "%s carries a secret", name)
			}
			assert.NotContains(t, line, "::error::pwned", "%s: the forged workflow command survived", name)
			assert.NotContains(t, line, "pwned\n", name)
			if name != "stdout" {
				assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "::"), "%s: a line starts a workflow command: %q", name, line)
			}
		}
	}
	// In Actions, stdout carries flightline's own workflow commands only.
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "::") {
			assert.Regexp(t, `^::(add-mask|warning|error)[ :]`, line)
			assert.NotContains(t, line, "pwned")
		}
	}
	assert.NotContains(t, artifacts["PR and commit bodies"], `<!-- flightline:promotion {"v":1} -->`)
}

// A Flagger Canary with webhooks through the command: the hooks are called at the points the
// README's mapping gives them, their answers are in the log and the summary, and a hook URL's
// credentials reach the hook and nothing else.
func TestCanaryMonitor_Webhooks(t *testing.T) {
	promURL, _ := fakeProm(t)
	const secret = "hook-s3cret"
	var mu sync.Mutex
	calls := map[string][]string{}
	var auth []string
	rollbackNow := false
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p canary.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		calls[r.URL.Path] = append(calls[r.URL.Path], p.Phase)
		auth = append(auth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/rollback/check":
			if !rollbackNow {
				w.WriteHeader(http.StatusForbidden)
			}
		case "/":
			if p.Metadata["cmd"] == "" { // as Flagger's loadtester
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		case "/events":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/notify":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("telegram bot down; token " + secret))
		}
	}))
	defer hooks.Close()
	base := strings.Replace(hooks.URL, "http://", "http://flagger:"+secret+"@", 1)
	doc := `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: agent}
  analysis:
    interval: 1s
    iterations: 1
    threshold: 1
    selector: job="agent"
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
    webhooks:
      - {name: smoke, type: pre-rollout, url: "BASE/smoke", timeout: 5s}
      - {name: load-test, url: "BASE/", timeout: 5s, metadata: {type: cmd, cmd: "hey -z 1m -q 10 -c 2 http://agent-canary.agents/"}}
      - {name: gate, type: confirm-promotion, url: "BASE/gate/approve"}
      - {name: rollback, type: rollback, url: "BASE/rollback/check"}
      - {name: notify, type: post-rollout, url: "BASE/notify"}
      - {name: start, type: confirm-rollout, url: "BASE/gate/halt"}
      - {name: events, type: event, url: "BASE/events"}
`
	cfg := writeFile(t, "canary.yaml", strings.ReplaceAll(doc, "BASE", base))
	report := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", promURL, "--version", "1.5.0", "--rollback=false", "--report", report)
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "success", outs["decision"])
	mu.Lock()
	assert.Equal(t, []string{"Progressing"}, calls["/smoke"])
	assert.Len(t, calls["/"], 2, "the load test before each of the 2 checks")
	assert.Equal(t, []string{"Progressing"}, calls["/gate/approve"])
	assert.Len(t, calls["/rollback/check"], 3, "before the pre-rollout step and each check")
	assert.Equal(t, []string{"Succeeded"}, calls["/notify"])
	assert.Empty(t, calls["/gate/halt"], "confirm-rollout is not called")
	assert.Equal(t, []string{"Progressing", "Progressing", "Progressing", "Progressing", "Succeeded"}, calls["/events"], "the start, 3 ticks, the decision")
	for _, a := range auth {
		assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("flagger:"+secret)), a, "the URL's credentials reach the hook")
	}
	mu.Unlock()
	assert.Contains(t, stderr, `pre-rollout step, no metric checks; webhooks: rollback "rollback" no rollback (HTTP 403); pre-rollout "smoke" ok (HTTP 200)`)
	assert.Contains(t, stderr, `rollout "load-test" ok (HTTP 202)`)
	assert.Contains(t, stderr, `post-rollout webhook — post-rollout "notify" failed (HTTP 500): telegram bot down; token ***`)
	assert.Contains(t, stderr, `event webhooks — 5 of 5 calls failed; last: event "events" failed (HTTP 503)`)
	assert.Contains(t, stderr, `spec.analysis.webhooks[5]: not applicable — webhook "start" (confirm-rollout) is not called`)
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	for _, out := range []string{stdout, stderr, string(b)} {
		assert.NotContains(t, out, secret)
	}

	// A rollback hook that answers 2xx: decision rollback, exit 2.
	mu.Lock()
	rollbackNow, calls = true, map[string][]string{}
	mu.Unlock()
	code, stdout, stderr = runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", promURL, "--rollback=false", "--report", report)
	assert.Equal(t, 2, code, stderr)
	outs, err = actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "rollback", outs["decision"])
	assert.Equal(t, "webhook rollback: answered HTTP 200 (a manual rollback)", outs["failed-checks"])
	mu.Lock()
	assert.Equal(t, []string{"Failed"}, calls["/notify"])
	assert.Empty(t, calls["/smoke"], "the rollback hook answered first")
	mu.Unlock()

	// A hook this runner cannot reach: exit 1 before the watch, saying where webhooks work.
	hooks.Close()
	code, _, stderr = runCLI(t, nil, "canary-monitor", "--config", cfg, "--prometheus-url", promURL, "--rollback=false", "--report", report)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot be reached from this runner")
	assert.Contains(t, stderr, "self-hosted runners inside the cluster's network")
	assert.NotContains(t, stderr, secret)
}
