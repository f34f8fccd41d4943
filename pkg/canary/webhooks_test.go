package canary_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// hookServer is a local webhook receiver: each path answers from its script, given how many
// times it was called before; every request body is kept.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	calls    map[string][]canary.WebhookPayload
	raw      map[string][][]byte
	ctypes   map[string]string
	scripts  map[string]func(n int, p canary.WebhookPayload) (int, string)
	headers  map[string]http.Header
	requests int
}

func newHookServer(t *testing.T, scripts map[string]func(n int, p canary.WebhookPayload) (int, string)) *hookServer {
	t.Helper()
	s := &hookServer{calls: map[string][]canary.WebhookPayload{}, raw: map[string][][]byte{}, ctypes: map[string]string{}, scripts: scripts, headers: map[string]http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var p canary.WebhookPayload
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("bad payload: " + err.Error()))
			return
		}
		s.mu.Lock()
		n := len(s.calls[r.URL.Path])
		s.calls[r.URL.Path] = append(s.calls[r.URL.Path], p)
		s.raw[r.URL.Path] = append(s.raw[r.URL.Path], body)
		s.ctypes[r.URL.Path] = r.Header.Get("Content-Type")
		s.headers[r.URL.Path] = r.Header.Clone()
		s.requests++
		script := s.scripts[r.URL.Path]
		s.mu.Unlock()
		status, text := http.StatusNotFound, "no such hook"
		if script != nil {
			status, text = script(n, p)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(text))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) got(path string) []canary.WebhookPayload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]canary.WebhookPayload(nil), s.calls[path]...)
}

func always(status int, body string) func(int, canary.WebhookPayload) (int, string) {
	return func(int, canary.WebhookPayload) (int, string) { return status, body }
}

// loadtester answers as Flagger's loadtester does (pkg/loadtester/server.go): metadata is
// required; type cmd (the default) is queued and answered 202; bash runs and answers 200.
func loadtester(_ int, p canary.WebhookPayload) (int, string) {
	if len(p.Metadata) == 0 {
		return http.StatusBadRequest, "metadata not found in payload"
	}
	switch typ := p.Metadata["type"]; typ {
	case "", "cmd":
		if p.Metadata["cmd"] == "" {
			return http.StatusBadRequest, "cmd not found in metadata"
		}
		return http.StatusAccepted, ""
	case "bash":
		return http.StatusOK, ""
	default:
		return http.StatusBadRequest, "unknown task type " + typ
	}
}

// hookCanary is a blue/green Canary (iterations 2: 3 passing checks) with one metric and the
// given webhooks, against server s.
func hookCanary(t *testing.T, s *hookServer, analysis, webhooks string, opts ...canary.ParseOption) *canary.Config {
	t.Helper()
	doc := `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: agent}
  analysis:
    interval: 1m
    iterations: 2
    selector: job="agent"
` + analysis + `
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
    webhooks:
` + strings.ReplaceAll(webhooks, "URL", s.URL)
	opts = append([]canary.ParseOption{canary.WithVersion("1.5.0"), canary.WithDigest("sha256:" + strings.Repeat("ab", 32))}, opts...)
	cfg, err := canary.ParseConfig("canary.yaml", []byte(doc), opts...)
	require.NoError(t, err)
	cfg.ReadyQuery = "" // no readiness wait: the first tick is at the start
	return cfg
}

// runHooks runs the monitor on cfg with a healthy success rate (or rate, when given).
func runHooks(t *testing.T, cfg *canary.Config, rate ...float64) (*canary.Report, error) {
	t.Helper()
	v := 99.9
	if len(rate) > 0 {
		v = rate[0]
	}
	clock, p := newScripted(func(time.Duration, string) (float64, error) { return v, nil })
	caller := canary.NewWebhookCaller(canary.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock), canary.WithWebhookCaller(caller))
	if err == nil {
		rep, rerr := canary.Replay(r)
		require.NoError(t, rerr)
		assert.Equal(t, r.Decision, rep.Decision, "the report replays to the same decision")
		assert.Equal(t, r.Reason, rep.Reason)
		assert.Equal(t, r.FailedChecks, rep.FailedChecks)
	}
	return r, err
}

func hookKinds(r *canary.Report) []string {
	var out []string
	for _, tk := range r.Ticks {
		k := tk.Kind
		if k == "" {
			k = "check"
		}
		out = append(out, k+":"+string(tk.Verdict))
	}
	return out
}

// The payload of each hook type is Flagger's JSON, the body exactly as sent: golden files under
// testdata/webhooks, transcribed from Flagger's CanaryWebhookPayload (fluxcd/flagger
// pkg/apis/flagger/v1beta1/canary.go: name, namespace, phase, checksum, metadata omitted when
// empty) and its phases (Progressing for pre-rollout, rollout, rollback and confirm-promotion;
// Succeeded or Failed for post-rollout: pkg/controller/scheduler_hooks.go, scheduler.go).
func TestWebhookPayloadsGolden(t *testing.T) {
	s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
		"/rollback":  always(http.StatusForbidden, "Forbidden"),
		"/pre":       always(http.StatusOK, ""),
		"/load":      loadtester,
		"/promotion": always(http.StatusOK, "Approved"),
		"/notify":    always(http.StatusOK, ""),
	})
	cfg := hookCanary(t, s, "", `      - {name: rollback-gate, type: rollback, url: URL/rollback}
      - name: smoke
        type: pre-rollout
        url: URL/pre
        timeout: 30s
        metadata: {type: bash, cmd: "curl -sf http://agent-canary.agents/healthz"}
      - name: load-test
        url: URL/load
        timeout: 5s
        metadata: {cmd: "hey -z 1m -q 10 -c 2 http://agent-canary.agents:8080/"}
      - {name: promotion-gate, type: confirm-promotion, url: URL/promotion}
      - name: notify
        type: post-rollout
        url: URL/notify
        metadata: {channel: releases, token: "16688eb5e9f289f1991c"}
`)
	r, err := runHooks(t, cfg)
	require.NoError(t, err)
	require.Equal(t, canary.Success, r.Decision, r.Reason)
	assert.Equal(t, []string{"pre-rollout:pass", "check:pass", "check:pass", "check:pass"}, hookKinds(r))
	for _, path := range []string{"/rollback", "/pre", "/load", "/promotion", "/notify"} {
		got := s.got(path)
		require.NotEmpty(t, got, path)
		assert.Equal(t, "application/json", s.ctypes[path])
		s.mu.Lock()
		b := s.raw[path][0]
		s.mu.Unlock()
		gp := filepath.Join("testdata", "webhooks", strings.TrimPrefix(path, "/")+".golden.json")
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(gp), 0o755))
			var v any
			require.NoError(t, json.Unmarshal(b, &v))
			pretty, err := json.MarshalIndent(v, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(gp, append(pretty, '\n'), 0o644))
		}
		want, err := os.ReadFile(gp)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(b), path)
		assert.NotContains(t, string(b), `"metadata":{}`, "no metadata: the field is left out, as Flagger's omitempty does")
	}
	assert.Len(t, s.got("/rollback"), 4, "rollback hooks before every tick")
	assert.Len(t, s.got("/pre"), 1, "pre-rollout until it passes")
	assert.Len(t, s.got("/load"), 3, "the load test every check, as the loadtester expects")
	assert.Len(t, s.got("/promotion"), 1, "confirm-promotion at the promotion point")
	assert.Len(t, s.got("/notify"), 1, "post-rollout once")
	require.Len(t, r.PostRollout, 1)
	assert.True(t, r.PostRollout[0].OK)
	assert.Equal(t, canary.PhaseSucceeded, r.PostRollout[0].Phase)

	// The report never carries a hook's metadata (tokens) or its URL's credentials.
	var buf strings.Builder
	require.NoError(t, r.WriteJSON(&buf))
	assert.NotContains(t, buf.String(), "16688eb5e9f289f1991c")
}

// Each type's effect on the decision, as the README's mapping says.
func TestWebhookEffects(t *testing.T) {
	t.Run("pre-rollout failures are failed checks until it passes", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/pre": func(n int, _ canary.WebhookPayload) (int, string) {
				if n < 2 {
					return http.StatusInternalServerError, "helm test failed:\n::error::pod agent-test exited 1"
				}
				return http.StatusOK, ""
			},
		})
		cfg := hookCanary(t, s, "    threshold: 3", "      - {name: smoke, type: pre-rollout, url: URL/pre}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision, r.Reason)
		assert.Equal(t, []string{"pre-rollout:fail", "pre-rollout:fail", "pre-rollout:pass", "check:pass", "check:pass", "check:pass"}, hookKinds(r))
		assert.Equal(t, 2, r.Ticks[len(r.Ticks)-1].FailedTotal)
		assert.Equal(t, t0, r.Ticks[0].At, "the pre-rollout step runs when the new version serves")
		assert.Equal(t, t0.Add(3*time.Minute), r.Ticks[3].At, "the first check one interval after it passed")
		d := r.Ticks[0].Hooks[0].Detail
		assert.Contains(t, d, "helm test failed")
		assert.NotContains(t, d, "::error", "an answer cannot start a workflow command")
		assert.NotContains(t, d, "\n")

		cfg = hookCanary(t, s, "    threshold: 1", "      - {name: smoke, type: pre-rollout, url: URL/pre}\n")
		s.calls["/pre"] = nil
		r, err = runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Rollback, r.Decision)
		assert.Equal(t, []string{"pre-rollout:fail"}, hookKinds(r))
		require.Len(t, r.FailedChecks, 1)
		assert.Contains(t, r.FailedChecks[0], "webhook smoke (pre-rollout): failed 1 of 1 checks; last: pre-rollout \"smoke\" failed (HTTP 500)")
		assert.Empty(t, r.PostRollout, "no post-rollout hook configured")
	})

	t.Run("a failed rollout hook fails the check whatever the metrics", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/": loadtester,
			"/conformance": func(n int, _ canary.WebhookPayload) (int, string) {
				if n == 1 || n == 2 {
					return http.StatusBadGateway, "upstream down"
				}
				return http.StatusOK, ""
			},
		})
		cfg := hookCanary(t, s, "    threshold: 2", `      - {name: conformance, url: URL/conformance}
      - {name: load, url: URL/, metadata: {cmd: "hey -z 1m http://agent-canary.agents/"}}
`)
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Rollback, r.Decision)
		assert.Equal(t, []string{"check:pass", "check:fail", "check:fail"}, hookKinds(r))
		assert.Equal(t, canary.Pass, r.Ticks[1].Checks[0].Verdict, "the metric itself passed")
		assert.Len(t, s.got("/"), 1, "a rollout hook after a failed one is not called that check, as in Flagger")
		assert.Equal(t, []string{`webhook conformance (rollout): failed 2 of 3 checks; last: rollout "conformance" failed (HTTP 502): upstream down`}, r.FailedChecks)
		require.Len(t, s.got("/conformance"), 3)
	})

	t.Run("confirm-promotion holds success until it answers 2xx", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/gate": func(n int, _ canary.WebhookPayload) (int, string) {
				if n < 3 {
					return http.StatusForbidden, "Forbidden"
				}
				return http.StatusOK, "Approved"
			},
			"/rollback": always(http.StatusForbidden, "Forbidden"),
		})
		cfg := hookCanary(t, s, "", "      - {name: gate, type: confirm-promotion, url: URL/gate}\n      - {name: rb, type: rollback, url: URL/rollback}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision, r.Reason)
		// Blue/green, iterations 2 (3 checks): asked at check 2, refused; again at 3, refused
		// (Flagger steps an iteration back); 4 only counts it again; 5 refused; 6; 7 approves;
		// 8 is Flagger's extra check, and promotes.
		assert.Len(t, r.Ticks, 8)
		var asked []int
		for _, tk := range r.Ticks {
			for _, h := range tk.Hooks {
				if h.Type == canary.HookConfirmPromotion {
					asked = append(asked, tk.N)
				}
			}
		}
		assert.Equal(t, []int{2, 3, 5, 7}, asked)
		assert.True(t, r.WaitingPromotion)
		phases := []string{}
		for _, p := range s.got("/rollback") {
			phases = append(phases, p.Phase)
		}
		assert.Equal(t, []string{"Progressing", "Progressing", "WaitingPromotion", "WaitingPromotion", "WaitingPromotion", "WaitingPromotion", "WaitingPromotion", "WaitingPromotion"}, phases,
			"the rollback hooks see the phase Flagger would be in")
		for _, p := range s.got("/gate") {
			assert.Equal(t, "Progressing", p.Phase, "Flagger sends Progressing to confirm-promotion hooks")
		}
	})

	t.Run("confirm-promotion that never answers 2xx: inconclusive at maxDuration", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/gate": always(http.StatusForbidden, "Forbidden")})
		cfg := hookCanary(t, s, "    maxDuration: 6m", "      - {name: gate, type: confirm-promotion, url: URL/gate}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Inconclusive, r.Decision)
		assert.Contains(t, r.Reason, `maximum run time 6m0s reached while the promotion waited for confirm-promotion webhook "gate" (last: confirm-promotion "gate" failed (HTTP 403): Forbidden); nothing is reverted`)
		assert.Len(t, s.got("/gate"), 3, "at checks 2, 3 and 5; 6 reaches maxDuration")
	})

	t.Run("confirm-promotion is not asked after a failed check", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/gate": always(http.StatusForbidden, "no")})
		cfg := hookCanary(t, s, "    threshold: 2", "      - {name: gate, type: confirm-promotion, url: URL/gate}\n")
		r, err := runHooks(t, cfg, 50) // every check fails
		require.NoError(t, err)
		assert.Equal(t, canary.Rollback, r.Decision)
		assert.Empty(t, s.got("/gate"))
	})

	t.Run("while the promotion waits, a failed check still counts", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/gate": always(http.StatusForbidden, "Forbidden")})
		cfg := hookCanary(t, s, "    threshold: 1", "      - {name: gate, type: confirm-promotion, url: URL/gate}\n")
		clock, p := newScripted(func(el time.Duration, _ string) (float64, error) {
			if el >= 5*time.Minute {
				return 50, nil
			}
			return 99.9, nil
		})
		r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock))
		require.NoError(t, err)
		assert.Equal(t, canary.Rollback, r.Decision)
		assert.Equal(t, []string{"check:pass", "check:pass", "check:pass", "check:pass", "check:fail"}, hookKinds(r))
		assert.Len(t, s.got("/gate"), 2, "asked at checks 2 and 3 (4 steps an iteration back), not after the failed one")
	})

	t.Run("a rollback hook that does not answer does nothing", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/rollback": func(n int, _ canary.WebhookPayload) (int, string) {
				time.Sleep(100 * time.Millisecond)
				return http.StatusOK, "too late"
			},
		})
		cfg := hookCanary(t, s, "", "      - {name: rb, type: rollback, url: URL/rollback, timeout: 20ms}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision)
		assert.Equal(t, `rollback "rb" no answer, no rollback: POST `+s.URL+`/rollback: no answer within the timeout of 20ms`, r.Ticks[0].Hooks[0].String())
	})

	t.Run("a rollback hook's 2xx rolls back at once", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/rollback": func(n int, _ canary.WebhookPayload) (int, string) {
				if n < 2 {
					return http.StatusForbidden, "Forbidden"
				}
				return http.StatusOK, "Approved"
			},
			"/notify": always(http.StatusOK, ""),
		})
		cfg := hookCanary(t, s, "    threshold: 5", "      - {name: rollback-gate, type: rollback, url: URL/rollback}\n      - {name: notify, type: post-rollout, url: URL/notify}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Rollback, r.Decision)
		assert.Equal(t, `rollback webhook "rollback-gate" answered HTTP 200`, r.Reason)
		assert.Equal(t, []string{"check:pass", "check:pass", "rollback:fail"}, hookKinds(r))
		assert.Zero(t, r.Ticks[2].FailedTotal, "a manual rollback counts no failed check, as in Flagger")
		assert.Equal(t, []string{"webhook rollback-gate: answered HTTP 200 (a manual rollback)"}, r.FailedChecks)
		require.Len(t, s.got("/notify"), 1)
		assert.Equal(t, canary.PhaseFailed, s.got("/notify")[0].Phase)
	})

	t.Run("post-rollout failure is reported, the decision stands", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
			"/a": always(http.StatusServiceUnavailable, "down for maintenance"),
			"/b": always(http.StatusOK, ""),
		})
		cfg := hookCanary(t, s, "", "      - {name: a, type: post-rollout, url: URL/a, retries: 1}\n      - {name: b, type: post-rollout, url: URL/b}\n")
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision)
		require.Len(t, r.PostRollout, 1, "Flagger stops at the first failed post-rollout hook")
		assert.Equal(t, canary.HookCall{Name: "a", Type: "post-rollout", Phase: "Succeeded", Status: 503, Attempts: 2, Detail: "down for maintenance"}, r.PostRollout[0])
		assert.Empty(t, s.got("/b"))
		assert.Len(t, s.got("/a"), 2)
	})

	t.Run("a dry run calls no post-rollout hook", func(t *testing.T) {
		s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/n": always(http.StatusOK, "")})
		cfg := hookCanary(t, s, "", "      - {name: n, type: post-rollout, url: URL/n}\n", canary.WithDryRun(true))
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision)
		assert.Empty(t, s.got("/n"))
	})

	t.Run("types that do not apply after Flux rolled out are named and never called", func(t *testing.T) {
		s := newHookServer(t, nil)
		cfg := hookCanary(t, s, "", `      - {name: start, type: confirm-rollout, url: URL/a}
      - {name: step, type: confirm-traffic-increase, url: URL/b, muteAlert: true}
`)
		got := strings.Join(notes(cfg), "\n")
		for _, want := range []string{
			`spec.analysis.webhooks[0]: not applicable — webhook "start" (confirm-rollout) is not called: it gates the start of a rollout`,
			`spec.analysis.webhooks[1]: not applicable — webhook "step" (confirm-traffic-increase) is not called: Flightline shifts no traffic`,
			`spec.analysis.webhooks[1].muteAlert: not applicable — Flightline sends no alerts`,
		} {
			assert.Contains(t, got, want)
		}
		r, err := runHooks(t, cfg)
		require.NoError(t, err)
		assert.Equal(t, canary.Success, r.Decision)
		assert.Zero(t, s.requests)
	})
}

// Event hooks hear what Flagger would send as Kubernetes events: the start, every check, the
// decision, with metadata eventMessage, eventType and timestamp (Flagger's CallEventWebhook in
// fluxcd/flagger pkg/controller/webhook.go; the hook's own metadata fills other keys). A failing
// event hook changes nothing.
func TestWebhookEvents(t *testing.T) {
	s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){
		"/events": func(n int, _ canary.WebhookPayload) (int, string) {
			if n == 2 {
				return http.StatusInternalServerError, "slack down"
			}
			return http.StatusAccepted, ""
		},
	})
	cfg := hookCanary(t, s, "    threshold: 2", `      - name: slack
        type: event
        url: URL/events
        metadata: {channel: releases, eventType: ignored}
`)
	clock, p := newScripted(func(el time.Duration, _ string) (float64, error) {
		if el == 2*time.Minute {
			return 50, nil
		}
		return 99.9, nil
	})
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision)
	got := s.got("/events")
	require.Len(t, got, 1+4+1, "the start, each of the 4 checks, the decision")
	assert.Equal(t, map[string]string{"eventMessage": "Starting canary analysis for agent.agents", "eventType": "Normal", "timestamp": strconv.FormatInt(t0.UnixMilli(), 10), "channel": "releases"}, got[0].Metadata)
	assert.Equal(t, "Warning", got[2].Metadata["eventType"], "the failed check")
	assert.Contains(t, got[2].Metadata["eventMessage"], "tick 2 12:02:00 FAIL: request-success-rate fail (50% < min 99%)")
	assert.Equal(t, strconv.FormatInt(t0.Add(2*time.Minute).UnixMilli(), 10), got[2].Metadata["timestamp"])
	last := got[len(got)-1]
	assert.Equal(t, "Succeeded", last.Phase)
	assert.Equal(t, "Normal", last.Metadata["eventType"])
	assert.Equal(t, "Canary analysis success: "+r.Reason, last.Metadata["eventMessage"])
	require.Len(t, r.Events, 6)
	assert.False(t, r.Events[2].OK)
	assert.Equal(t, "slack down", r.Events[2].Detail)
	rep, err := canary.Replay(r)
	require.NoError(t, err)
	assert.Equal(t, r.Events, rep.Events)
}

// When the confirm-promotion hooks are asked and when their approval promotes, per strategy, as
// Flagger's scheduler does it (fluxcd/flagger pkg/controller/scheduler.go runCanary, runAB,
// runBlueGreen; scheduler_hooks.go runConfirmPromotionHooks steps an iteration back after a
// refusal while already waiting).
func TestConfirmPromotionPerStrategy(t *testing.T) {
	tests := []struct {
		name     string
		analysis string
		answers  []bool // the gate's answers, in order
		asked    []int  // the checks at which it is asked
		success  int    // the check that decides success
	}{
		{name: "progressive, approved at once", analysis: "    stepWeight: 25\n    maxWeight: 50\n", answers: []bool{true}, asked: []int{2}, success: 2},
		{name: "progressive, every check while waiting", analysis: "    stepWeight: 25\n    maxWeight: 50\n", answers: []bool{false, false, false, true}, asked: []int{2, 3, 4, 5}, success: 5},
		{name: "A/B, approved at once", analysis: "    iterations: 3\n    match: [{headers: {x-canary: {exact: insider}}}]\n", answers: []bool{true}, asked: []int{3}, success: 3},
		{name: "A/B, every other check once waiting", analysis: "    iterations: 3\n    match: [{headers: {x-canary: {exact: insider}}}]\n", answers: []bool{false, false, false, true}, asked: []int{3, 4, 6, 8}, success: 8},
		{name: "blue/green, asked before the extra check", analysis: "    iterations: 3\n", answers: []bool{true}, asked: []int{3}, success: 4},
		{name: "blue/green, every other check once waiting", analysis: "    iterations: 3\n", answers: []bool{false, false, true}, asked: []int{3, 4, 6}, success: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := engineConfig(t, tt.analysis+"    maxDuration: 1h\n")
			cfg.Webhooks = []canary.Webhook{{Name: "gate", Type: canary.HookConfirmPromotion, Called: true}}
			e := canary.NewEngine(cfg)
			var asked []int
			for n := 1; e.Decision() == canary.Running && n < 30; n++ {
				at := t0.Add(time.Duration(n) * time.Minute)
				_, err := e.Observe(at, []canary.Sample{{Metric: "request-success-rate", Result: canary.Value(99.9)}})
				require.NoError(t, err)
				if e.ConfirmDue() {
					ok := tt.answers[len(asked)]
					asked = append(asked, n)
					_, err = e.Confirm(at, []canary.HookCall{{Name: "gate", Type: canary.HookConfirmPromotion, OK: ok, Attempts: 1, Status: map[bool]int{true: 200, false: 403}[ok]}})
					require.NoError(t, err)
				}
			}
			assert.Equal(t, tt.asked, asked)
			assert.Equal(t, canary.Success, e.Decision())
			assert.Len(t, e.Report().Ticks, tt.success)
			rep, err := canary.Replay(e.Report())
			require.NoError(t, err)
			assert.Equal(t, e.Report().Reason, rep.Reason)
			assert.Equal(t, tt.success, len(rep.Ticks))
		})
	}
}

// Timeouts and retries as Flagger's client (go-retryablehttp) applies them.
func TestWebhookCallRetries(t *testing.T) {
	tests := []struct {
		name     string
		answers  []int
		retries  int
		ok       bool
		attempts int
		detail   string
	}{
		{name: "200", answers: []int{200}, ok: true, attempts: 1},
		{name: "202 (the loadtester's)", answers: []int{202}, ok: true, attempts: 1},
		{name: "203 is a failure, as Flagger reads it", answers: []int{203}, attempts: 1, detail: "answer 203"},
		{name: "204 too", answers: []int{204}, attempts: 1},
		{name: "5xx retried until it passes", answers: []int{500, 502, 200}, retries: 2, ok: true, attempts: 3},
		{name: "5xx beyond the retries", answers: []int{500, 500, 500}, retries: 1, attempts: 2, detail: "answer 500"},
		{name: "no retries by default", answers: []int{503, 200}, attempts: 1},
		{name: "429 retried", answers: []int{429, 200}, retries: 1, ok: true, attempts: 2},
		{name: "403 not retried", answers: []int{403, 200}, retries: 3, attempts: 1, detail: "answer 403"},
		{name: "501 not retried", answers: []int{501, 200}, retries: 3, attempts: 1},
		{name: "404 not retried", answers: []int{404, 200}, retries: 3, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				status := tt.answers[min(n, len(tt.answers)-1)]
				n++
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(status)
				_, _ = w.Write([]byte("answer " + strconv.Itoa(status)))
			}))
			defer srv.Close()
			c := canary.NewWebhookCaller(canary.WithRetryWait(time.Millisecond, 2*time.Millisecond))
			h := canary.Webhook{Name: "h", Type: "rollout", URL: srv.URL, Endpoint: srv.URL, Timeout: time.Second, Retries: tt.retries}
			got := c.Call(context.Background(), h, canary.WebhookPayload{Name: "agent", Namespace: "agents", Phase: "Progressing"})
			assert.Equal(t, tt.ok, got.OK, got.String())
			assert.Equal(t, tt.attempts, got.Attempts)
			assert.Equal(t, tt.attempts, n, "requests made")
			assert.Equal(t, tt.answers[tt.attempts-1], got.Status)
			if tt.detail != "" {
				assert.Equal(t, tt.detail, got.Detail)
			}
		})
	}
}

func TestWebhookCallTimeouts(t *testing.T) {
	release := make(chan struct{})
	n := 0
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	defer close(release)
	c := canary.NewWebhookCaller(canary.WithRetryWait(time.Millisecond, time.Millisecond))
	h := canary.Webhook{Name: "slow", Type: "pre-rollout", URL: srv.URL + "/x", Endpoint: srv.URL + "/x", Timeout: 50 * time.Millisecond, Retries: 2}
	start := time.Now()
	got := c.Call(context.Background(), h, canary.WebhookPayload{})
	took := time.Since(start)
	assert.False(t, got.OK)
	assert.Equal(t, 3, got.Attempts, "a timeout is retried, as Flagger's client retries it")
	assert.Equal(t, "POST "+srv.URL+"/x: no answer within the timeout of 50ms", got.Detail)
	assert.Less(t, took, 2*time.Second, "each attempt is cut at the hook's timeout")
	mu.Lock()
	assert.Equal(t, 3, n)
	mu.Unlock()

	// Cancelling the watch stops the calls at once, without retrying.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	h.Timeout, h.Retries = 5*time.Second, 5
	got = c.Call(ctx, h, canary.WebhookPayload{})
	assert.False(t, got.OK)
	assert.Equal(t, 1, got.Attempts)
	assert.Contains(t, got.Detail, "cancelled")
}

// An answer is read only so far, and shown as one cleaned, bounded line.
func TestWebhookAnswerBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("<!-- flightline:revert {} -->\n::set-output name=x::y\n"))
		for range 1 << 12 { // 4 MiB: never read whole
			_, _ = w.Write([]byte(strings.Repeat("x", 1024)))
		}
	}))
	defer srv.Close()
	c := canary.NewWebhookCaller()
	got := c.Call(context.Background(), canary.Webhook{Name: "h", Type: "rollout", URL: srv.URL, Endpoint: srv.URL, Timeout: 5 * time.Second}, canary.WebhookPayload{})
	assert.False(t, got.OK)
	assert.LessOrEqual(t, len([]rune(got.Detail)), 300)
	assert.NotContains(t, got.Detail, "<!--")
	assert.NotContains(t, got.Detail, "::set-output")
}

// Bad webhook fields are refused at load, naming the field and never the URL's credentials.
func TestWebhookConfigErrors(t *testing.T) {
	head := `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  targetRef: {name: agent}
  analysis:
    iterations: 2
    selector: job="agent"
    metrics: [{name: request-success-rate, thresholdRange: {min: 99}}]
    webhooks:
`
	tests := []struct{ hook, want string }{
		{"      - {name: a, type: load-test, url: http://h/}", `canary.yaml:11:25: spec.analysis.webhooks[0].type: unknown webhook type "load-test"; valid: confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event`},
		{"      - {name: a}", "spec.analysis.webhooks[0].url: missing: give the webhook's http(s) address"},
		{"      - {name: a, url: ftp://user:s3cret@h/}", `spec.analysis.webhooks[0].url: scheme "ftp": want http or https`},
		{"      - {name: a, url: /relative}", "spec.analysis.webhooks[0].url: not an absolute URL"},
		{"      - {name: a, url: \"http:///x\"}", "spec.analysis.webhooks[0].url: no host"},
		{"      - {name: a, url: \"http://user:s3cret@h/%zz\"}", "spec.analysis.webhooks[0].url: not a URL"},
		{"      - {url: http://h/}", "spec.analysis.webhooks[0].name: missing"},
		{"      - {name: a, url: http://h/}\n      - {name: a, url: http://g/}", `spec.analysis.webhooks[1].name: duplicate webhook name "a"`},
		{"      - {name: a, url: http://h/, timeout: soon}", `spec.analysis.webhooks[0].timeout: invalid duration "soon"`},
		{"      - {name: a, url: http://h/, retries: -1}", `spec.analysis.webhooks[0].retries: invalid count "-1"`},
		{"      - {name: a, url: http://h/, metadata: [cmd]}", "spec.analysis.webhooks[0].metadata: want a mapping"},
		{"      - {name: a, url: http://h/, headers: {a: b}}", "spec.analysis.webhooks[0].headers: unknown field; valid fields: disableTLS, metadata, muteAlert, name, retries, timeout, type, url"},
	}
	for _, tt := range tests {
		_, err := canary.ParseConfig("canary.yaml", []byte(head+tt.hook+"\n"))
		require.Error(t, err, tt.hook)
		assert.Contains(t, err.Error(), tt.want)
		assert.NotContains(t, err.Error(), "s3cret")
	}
}

// A hook this runner cannot reach stops the watch before it starts: cannot watch, nothing
// judged, nothing reverted, and the message says where webhooks work.
func TestWebhookUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	s := newHookServer(t, nil)
	cfg := hookCanary(t, s, "", "      - {name: load-test, url: \"http://tester:s3cret@"+addr+"/run?token=abc\"}\n")
	r, err := runHooks(t, cfg)
	require.ErrorIs(t, err, canary.ErrCannotWatch)
	assert.Equal(t, canary.Inconclusive, r.Decision)
	assert.Empty(t, r.Ticks)
	msg := err.Error()
	assert.Contains(t, msg, `webhook "load-test" (rollout) at http://`+addr+`/run?… cannot be reached from this runner`)
	assert.Contains(t, msg, "self-hosted runners inside the cluster's network")
	for _, leak := range []string{"s3cret", "tester:", "token=abc"} {
		assert.NotContains(t, msg, leak)
		assert.NotContains(t, r.Reason, leak)
	}

	// An unknown host: the DNS error is named.
	c := canary.NewWebhookCaller(canary.WithHTTPClient(&http.Client{Transport: &http.Transport{}}), // no proxy from the environment
		canary.WithDialer(func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("dial tcp: lookup flagger-loadtester.test: no such host")
		}))
	err = c.Reachable(context.Background(), canary.Webhook{Name: "lt", Type: "rollout", URL: "http://flagger-loadtester.test/", Endpoint: "http://flagger-loadtester.test/", Timeout: time.Second})
	require.Error(t, err)
	assert.Equal(t, `webhook "lt" (rollout) at http://flagger-loadtester.test/ cannot be reached from this runner: dial tcp: lookup flagger-loadtester.test: no such host`, err.Error())
}

// Once the watch runs, a hook that stops answering counts as Flagger counts it: a failed check
// for a rollout hook, with an error that names the hook and not its credentials.
func TestWebhookStopsAnswering(t *testing.T) {
	s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/load": loadtester})
	cfg := hookCanary(t, s, "    threshold: 2", "      - {name: load, url: \"URL/load\", metadata: {cmd: hey}}\n")
	u := strings.Replace(cfg.Webhooks[0].URL, "http://", "http://u:s3cret@", 1)
	cfg.Webhooks[0].URL = u
	clock, p := newScripted(func(el time.Duration, _ string) (float64, error) {
		if el >= time.Minute {
			s.CloseClientConnections()
			s.Listener.Close()
		}
		return 99.9, nil
	})
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock), canary.WithWebhookCaller(canary.NewWebhookCaller(canary.WithRetryWait(time.Millisecond, time.Millisecond))))
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, r.Decision)
	assert.Equal(t, []string{"check:pass", "check:fail", "check:fail"}, hookKinds(r))
	d := r.Ticks[2].Hooks[0].Detail
	assert.Contains(t, d, "POST "+s.URL+"/load: ")
	assert.NotContains(t, d, "s3cret")
	assert.Equal(t, 1, r.Ticks[2].Hooks[0].Attempts)
}

func TestWebhookDescribe(t *testing.T) {
	s := newHookServer(t, nil)
	cfg := hookCanary(t, s, "", "      - {name: load, url: URL/, timeout: 5s, retries: 2, metadata: {cmd: hey}}\n      - {name: gate, type: confirm-rollout, url: URL/gate}\n")
	d := canary.Describe(cfg)
	assert.Contains(t, d, `webhook "load" (rollout, `+s.URL+`/, timeout 5s, retries 2): called every interval before the metrics`)
	assert.Contains(t, d, `webhook "gate" (confirm-rollout, `+s.URL+`/gate): not called: it gates the start of a rollout`)
}

func TestWebhookChecksum(t *testing.T) {
	cfg := &canary.Config{Version: "1.5.0", Digest: "sha256:ab"}
	a := cfg.Checksum()
	assert.Regexp(t, `^[bcdfghjklmnpqrstvwxz2456789]{6,10}$`, a)
	cfg.Version = "1.5.1"
	assert.NotEqual(t, a, cfg.Checksum(), "another revision, another checksum")
	assert.Empty(t, (&canary.Config{}).Checksum())
}

// A service whose only traffic is the load test: while the readiness gate waits for the new
// version's series, the rollout hooks are called every interval (recorded, not counted), so the
// traffic the gate waits for can start.
func TestWebhookLoadTestWhileWaitingForReadiness(t *testing.T) {
	s := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/": loadtester})
	cfg := hookCanary(t, s, "    threshold: 1", `      - {name: load, url: URL/, metadata: {cmd: "hey -z 1m http://agent.agents/"}}
`)
	cfg.ReadyQuery = `http_requests_total{job="agent",version="1.5.0"}`
	firstLoad := time.Duration(-1)
	clock, p := newScripted(func(el time.Duration, q string) (float64, error) {
		if !strings.HasPrefix(q, "count(") {
			return 99.9, nil
		}
		if firstLoad < 0 && len(s.got("/")) > 0 {
			firstLoad = el
		}
		if firstLoad >= 0 && el >= firstLoad+90*time.Second {
			return 1, nil // the load test's requests reached the new version
		}
		return 0, metrics.ErrNoData
	})
	r, err := canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock), canary.WithReadyPoll(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision, r.Reason)
	assert.Equal(t, t0.Add(95*time.Second), r.ReadyAt, "the first poll found nothing, the load test started, ready 90s later")
	require.Len(t, r.ReadyHooks, 2, "at the first poll without traffic and one interval later")
	assert.True(t, r.ReadyHooks[0].OK)
	assert.Len(t, s.got("/"), 2+3, "while waiting, then before each of the 3 checks")

	// With traffic from the start, nothing is called before the checks.
	s2 := newHookServer(t, map[string]func(int, canary.WebhookPayload) (int, string){"/": loadtester})
	cfg = hookCanary(t, s2, "", "      - {name: load, url: URL/, metadata: {cmd: hey}}\n")
	cfg.ReadyQuery = `http_requests_total{job="agent",version="1.5.0"}`
	clock, p = newScripted(func(time.Duration, string) (float64, error) { return 99.9, nil })
	r, err = canary.Monitor(context.Background(), cfg, p, canary.WithClock(clock))
	require.NoError(t, err)
	assert.Empty(t, r.ReadyHooks)
	assert.Len(t, s2.got("/"), 3)
}

// A 200 whose answer is cut off is a failure, as Flagger reads it (its body read fails).
func TestWebhookAnswerCutOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}
	}))
	defer srv.Close()
	got := canary.NewWebhookCaller().Call(context.Background(), canary.Webhook{Name: "h", Type: "rollout", URL: srv.URL, Endpoint: srv.URL, Timeout: 5 * time.Second, Retries: 2}, canary.WebhookPayload{})
	assert.False(t, got.OK)
	assert.Equal(t, 200, got.Status)
	assert.Equal(t, 1, got.Attempts)
	assert.Contains(t, got.Detail, "HTTP 200, reading the answer: unexpected EOF")
}

// One webhook call to a local loadtester-like server: payload, POST, bounded read.
func BenchmarkWebhookCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := canary.NewWebhookCaller(canary.WithHTTPClient(srv.Client()))
	h := canary.Webhook{Name: "load", Type: canary.HookRollout, URL: srv.URL, Endpoint: srv.URL, Timeout: 5 * time.Second}
	p := canary.WebhookPayload{Name: "agent", Namespace: "agents", Phase: canary.PhaseProgressing, Checksum: "65859d8f96",
		Metadata: map[string]string{"type": "cmd", "cmd": "hey -z 1m -q 10 -c 2 http://agent-canary.agents:8080/"}}
	b.ReportAllocs()
	for b.Loop() {
		if got := c.Call(context.Background(), h, p); !got.OK {
			b.Fatal(got)
		}
	}
}

// disableTLS skips verifying the hook's certificate; without it an unknown authority is a
// failure that is not retried (go-retryablehttp's policy).
func TestWebhookDisableTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	c := canary.NewWebhookCaller(canary.WithRetryWait(time.Millisecond, time.Millisecond))
	h := canary.Webhook{Name: "h", Type: "rollout", URL: srv.URL, Endpoint: srv.URL, Timeout: 5 * time.Second, Retries: 3}
	got := c.Call(context.Background(), h, canary.WebhookPayload{})
	assert.False(t, got.OK)
	assert.Equal(t, 1, got.Attempts, "a certificate from an unknown authority is not retried")
	assert.Contains(t, got.Detail, "certificate")
	h.DisableTLS = true
	got = c.Call(context.Background(), h, canary.WebhookPayload{})
	assert.True(t, got.OK, got.String())
}

// Behind a proxy, the proxy is what must answer before the watch.
func TestWebhookReachableThroughProxy(t *testing.T) {
	var dialed []string
	proxy, err := url.Parse("http://user:pw@proxy.internal:3128")
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	c := canary.NewWebhookCaller(canary.WithHTTPClient(client), canary.WithDialer(func(_ context.Context, _, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		return nil, errors.New("connection refused")
	}))
	err = c.Reachable(context.Background(), canary.Webhook{Name: "lt", Type: "rollout", URL: "http://flagger-loadtester.test/", Endpoint: "http://flagger-loadtester.test/", Timeout: time.Second})
	require.Error(t, err)
	assert.Equal(t, []string{"proxy.internal:3128"}, dialed)
	assert.Equal(t, `webhook "lt" (rollout) at http://flagger-loadtester.test/ cannot be reached from this runner through its proxy http://proxy.internal:3128: connection refused`, err.Error())
}
