package promtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
)

// instant asks Prometheus's HTTP API directly (no client library) for a scalar-like answer.
func instant(t *testing.T, base, q string) (n int, value string) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	if len(body.Data.Result) == 0 {
		return 0, ""
	}
	return len(body.Data.Result), fmt.Sprint(body.Data.Result[0].Value[1])
}

func TestPrometheusScrapesAgent(t *testing.T) {
	a := promtest.NewAgent(t, "1.5.0")
	p := promtest.Start(t, a.Addr)
	a.SetErrorRate(0.5)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		n, v := instant(t, p.URL, `sum(increase(http_requests_total{job="agent",code="500"}[5s]))`)
		if n == 1 && v != "0" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no 500s scraped within 20s")
		case <-time.After(200 * time.Millisecond):
		}
	}
	n, _ := instant(t, p.URL, `build_info{job="agent",version="1.5.0"}`)
	assert.Equal(t, 1, n)
	n, _ = instant(t, p.URL, `ai_ir_failures_total{job="agent"}`)
	assert.Equal(t, 1, n)

	p.Stop()
	_, err := http.Get(p.URL + "/-/ready")
	assert.Error(t, err, "stopped Prometheus must not answer")
}
