package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// Against a real Prometheus scraping the in-test agent: one sample, several series named, no
// data, NaN, range queries.
func TestPrometheusLive(t *testing.T) {
	a := promtest.NewAgent(t, "1.5.0")
	s := promtest.Start(t, a.Addr)
	p, err := metrics.NewPrometheus(s.URL, metrics.WithTimeout(5*time.Second))
	require.NoError(t, err)
	ctx := context.Background()

	require.Eventually(t, func() bool {
		v, err := p.Query(ctx, `sum(increase(http_requests_total{job="agent"}[5s]))`, time.Time{})
		return err == nil && v.Value > 0
	}, 20*time.Second, 200*time.Millisecond, "the agent's traffic reaches Prometheus")

	// Several series: the last one of the answer, as Flagger reads it.
	smp, err := p.Query(ctx, `sort_desc(http_requests_total{job="agent"})`, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 2, smp.Series)
	assert.Equal(t, "500", smp.Labels["code"], "the last series of sort_desc is the smallest: the 500s")

	_, err = p.Query(ctx, `scalar(sum(up))`, time.Time{})
	assert.ErrorIs(t, err, metrics.ErrScalar)

	_, err = p.Query(ctx, `http_requests_total{job="nope"}`, time.Time{})
	assert.ErrorIs(t, err, metrics.ErrNoData)

	// No 500s yet: 0/0 is NaN, which is no data, not zero.
	_, err = p.Query(ctx, `sum(rate(http_requests_total{code="500"}[5s])) / sum(rate(http_requests_total{code="500"}[5s]))`, time.Time{})
	assert.ErrorIs(t, err, metrics.ErrNoData)
	assert.Contains(t, err.Error(), "NaN")

	_, err = p.Query(ctx, `sum(rate(http_requests_total[5s]`, time.Time{})
	require.Error(t, err)
	assert.False(t, errors.Is(err, metrics.ErrNoData), "a bad query is an error, never no data")

	end := time.Now()
	series, err := p.QueryRange(ctx, `sum(build_info{job="agent"})`, metrics.Range{Start: end.Add(-5 * time.Second), End: end, Step: time.Second})
	require.NoError(t, err)
	require.Len(t, series, 1)
	assert.NotEmpty(t, series[0].Points)
	assert.Equal(t, 1.0, series[0].Points[len(series[0].Points)-1].Value)
}
