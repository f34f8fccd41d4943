package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chat(t *testing.T, url, body string) (int, ChatResponse) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var cr ChatResponse
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &cr)
	return resp.StatusCode, cr
}

const hello = `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"summarise the incident"}]}`

func TestChat_DeterministicOpenAIShape(t *testing.T) {
	srv := httptest.NewServer(New("1.5.0", Faults{}).Handler())
	defer srv.Close()
	code, a := chat(t, srv.URL, hello)
	require.Equal(t, http.StatusOK, code)
	_, b := chat(t, srv.URL, hello)
	assert.Equal(t, a, b, "same prompt, same answer")
	assert.Equal(t, "chat.completion", a.Object)
	require.Len(t, a.Choices, 1)
	assert.Equal(t, "assistant", a.Choices[0].Message.Role)
	assert.Contains(t, a.Choices[0].Message.Content, "(agent 1.5.0) You asked 3 words")
}

func TestChat_BadRequests(t *testing.T) {
	srv := httptest.NewServer(New("1.5.0", Faults{}).Handler())
	defer srv.Close()
	for _, body := range []string{`{`, `{"messages":[]}`, `{"messages":[{"role":"system","content":"x"}]}`} {
		code, _ := chat(t, srv.URL, body)
		assert.Equal(t, http.StatusBadRequest, code, body)
	}
}

func TestMetrics_AllFamiliesFromStartUp(t *testing.T) {
	a := New("1.4.0", Faults{})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`http_requests_total{code="500",route="/v1/chat"} 0`,
		`http_requests_total{code="200",route="/v1/chat"} 0`,
		`http_request_duration_seconds_bucket{route="/v1/chat",le="1.5"} 0`,
		"ai_ir_failures_total 0",
		`build_info{goversion="go`,
		`version="1.4.0"} 1`,
	} {
		assert.Contains(t, text, want)
	}
}

func TestFaults_DeterministicRates(t *testing.T) {
	a := New("1.5.0", Faults{ErrorRate: 0.25, AIFailureRate: 0.5})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	var codes []int
	for i := 0; i < 8; i++ {
		code, _ := chat(t, srv.URL, hello)
		codes = append(codes, code)
	}
	assert.Equal(t, []int{200, 200, 200, 500, 200, 200, 200, 500}, codes)
	assert.Equal(t, 2.0, testutil.ToFloat64(a.requests.WithLabelValues("500", chatRoute)))
	assert.Equal(t, 6.0, testutil.ToFloat64(a.requests.WithLabelValues("200", chatRoute)))
	assert.Equal(t, 2.0, testutil.ToFloat64(a.failures), "AI failures hit requests 2,4,6,8; 4 and 8 were answered 500, so only answered ones count")
}

func TestAdminFaults_FlipAtRuntime(t *testing.T) {
	a := New("1.5.0", Faults{})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/admin/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := put(`{"errorRate":1,"latency":"20ms"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"errorRate":1,"latency":"20ms","aiFailureRate":0}`, body)
	start := time.Now()
	c, _ := chat(t, srv.URL, hello)
	assert.Equal(t, http.StatusInternalServerError, c)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "latency is injected before the answer")

	for _, bad := range []string{`{"errorRate":2}`, `{"latency":"soon"}`, `{"nope":1}`, `{`} {
		code, body := put(bad)
		assert.Equal(t, http.StatusBadRequest, code, bad)
		assert.Contains(t, body, "message", bad)
	}
	code, body = put(`{"errorRate":0}`)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"errorRate":0,"latency":"20ms","aiFailureRate":0}`, body, "only the fields given change")
}

func TestFaultsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	f, err := faultsFromEnv(env(map[string]string{"AGENT_ERROR_RATE": "0.2", "AGENT_LATENCY": "1s", "AGENT_AI_FAILURE_RATE": "0.1"}))
	require.NoError(t, err)
	assert.Equal(t, Faults{ErrorRate: 0.2, Latency: time.Second, AIFailureRate: 0.1}, f)
	_, err = faultsFromEnv(env(map[string]string{"AGENT_ERROR_RATE": "lots"}))
	assert.ErrorContains(t, err, `AGENT_ERROR_RATE="lots"`)
	_, err = faultsFromEnv(env(map[string]string{"AGENT_AI_FAILURE_RATE": "1.5"}))
	assert.ErrorContains(t, err, "aiFailureRate 1.5: want a fraction between 0 and 1")
	_, err = faultsFromEnv(env(map[string]string{"AGENT_LATENCY": "5"}))
	assert.ErrorContains(t, err, `AGENT_LATENCY="5"`)
}

func TestServe_ListensAndShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, addr, Faults{}, &logs) }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h map[string]string
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h["status"] == "ok" && h["version"] == "dev"
	}, 5*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "nothing listens after shutdown")
	assert.Contains(t, logs.String(), "agent dev listening on http://"+addr)
}
