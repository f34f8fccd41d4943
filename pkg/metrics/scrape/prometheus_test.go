package scrape

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// TestSameAnswersAsPrometheus scrapes one live agent with both a real Prometheus (Debian's
// 2.42, 1 s scrape) and this provider (1 s), and asks both the canary's built-in checks at the
// same instant. The two scrape at different phases and Prometheus 2 closes range windows on the
// left where Prometheus 3's engine leaves them open, so the answers agree within a tolerance,
// not to the bit.
func TestSameAnswersAsPrometheus(t *testing.T) {
	agent := promtest.NewAgent(t, "1.5.0")
	prom := promtest.Start(t, agent.Addr)
	agent.SetErrorRate(0.1)
	agent.SetLatency(30 * time.Millisecond)

	ctx := context.Background()
	ours, err := New(ctx, []string{"http://" + agent.Addr + "/metrics"}, WithInterval(time.Second), WithJob("agent"))
	require.NoError(t, err)
	defer ours.Close()
	theirs, err := metrics.NewPrometheus(prom.URL)
	require.NoError(t, err)

	// Prometheus starts scraping some seconds after it is ready (its discovery sends targets at
	// most every 5 s): wait until both hold 7 scrapes of the faulty agent.
	deadline := time.Now().Add(40 * time.Second)
	for _, p := range []metrics.Provider{theirs, ours} {
		for {
			s, err := p.Query(ctx, `count_over_time(up{job="agent"}[7s])`, time.Now().Add(-1500*time.Millisecond))
			if err == nil && s.Value >= 7 {
				break
			}
			require.True(t, time.Now().Before(deadline), "no 7 scrapes within 40 s (last: %v, %v)", s.Value, err)
			time.Sleep(250 * time.Millisecond)
		}
	}
	b := builtinQueries(t)
	tests := []struct {
		name      string
		query     string
		tolerance float64
	}{
		{"success rate (%)", b["request-success-rate"].Query, 3},
		{"p90 duration (ms)", b["request-duration"].Query, 5},
		{"ai failure rate (/s)", b["ai-failure-rate"].Query, 1.5},
		{"requests in the window", b["request-success-rate"].RequestsQuery, 30},
		{"absent counter or vector(0)", `sum(rate(nope_total{job="agent"}[5s])) or vector(0)`, 0},
		{"readiness", `count(build_info{job="agent",version="1.5.0"})`, 0},
		{"up", `up{job="agent"}`, 0},
	}
	at := time.Now().Add(-1500 * time.Millisecond) // both have scraped past this instant
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := theirs.Query(ctx, tc.query, at)
			require.NoError(t, err, "prometheus: %s", tc.query)
			got, err := ours.Query(ctx, tc.query, at)
			require.NoError(t, err, "scrape provider: %s", tc.query)
			assert.InDelta(t, want.Value, got.Value, tc.tolerance, fmt.Sprintf("%s: prometheus %g, scrape provider %g", tc.query, want.Value, got.Value))
			t.Logf("%-24s prometheus %10.4f  scrape provider %10.4f", tc.name, want.Value, got.Value)
		})
	}
}
