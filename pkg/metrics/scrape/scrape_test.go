package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// exposition is a controlled /metrics endpoint: the test sets the text it serves.
type exposition struct {
	mu     sync.Mutex
	body   string
	status int
	srv    *httptest.Server
}

func newExposition(t *testing.T) *exposition {
	e := &exposition{status: http.StatusOK}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(e.status)
		fmt.Fprint(w, e.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *exposition) set(status int, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status, e.body = status, body
}

func (e *exposition) url() string { return e.srv.URL + "/metrics" }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// agentText is the sample agent's exposition after i seconds of a controlled load: 9 good and
// 1 failing chat request per second; durations: half of them under 100 ms, the rest under
// 250 ms; ai_ir_failures_total climbs 10 a second from 100 and resets (a restart) at i = 8.
func agentText(i int, version string) string {
	fail := 100 + 10*i
	if i >= 8 {
		fail = 5 + 10*(i-8)
	}
	return fmt.Sprintf(`# HELP http_requests_total HTTP requests by status code and route.
# TYPE http_requests_total counter
http_requests_total{code="200",route="/v1/chat"} %d
http_requests_total{code="500",route="/v1/chat"} %d
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/v1/chat",le="0.05"} 0
http_request_duration_seconds_bucket{route="/v1/chat",le="0.1"} %d
http_request_duration_seconds_bucket{route="/v1/chat",le="0.25"} %d
http_request_duration_seconds_bucket{route="/v1/chat",le="+Inf"} %d
http_request_duration_seconds_sum{route="/v1/chat"} %g
http_request_duration_seconds_count{route="/v1/chat"} %d
# TYPE ai_ir_failures_total counter
ai_ir_failures_total %d
# TYPE build_info gauge
build_info{version=%q} 1
`, 9*i, i, 5*i, 10*i, 10*i, 1.5*float64(i), 10*i, fail, version)
}

// builtinQueries renders the canary's own built-in checks for selector job="agent" with a 5 s
// window, so these tests exercise exactly the PromQL the canary sends.
func builtinQueries(t *testing.T) map[string]canary.Metric {
	t.Helper()
	cfg, err := canary.ParseConfig("builtins.yaml", []byte(`apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: demo}
spec:
  analysis:
    interval: 1s
    iterations: 5
    selector: 'job="agent"'
    minRequests: 10 # the requests guard is off unless set
    metrics:
      - {name: request-success-rate, thresholdRange: {min: 99}, interval: 5s}
      - {name: request-duration, quantile: 0.9, thresholdRange: {max: 1500}, interval: 5s}
      - {name: ai-failure-rate, thresholdRange: {max: 1}, interval: 5s}
`))
	require.NoError(t, err)
	out := map[string]canary.Metric{}
	for _, m := range cfg.Metrics {
		out[m.Name] = m
	}
	return out
}

// manual returns a provider that scrapes only when told, stamping scrapes with *clock.
func manual(t *testing.T, clock *time.Time, targets ...string) *Provider {
	t.Helper()
	p, err := New(context.Background(), targets, WithInterval(0), WithJob("agent"), WithClock(func() time.Time { return *clock }))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func TestQuery_BuiltinChecksGivePrometheusAnswers(t *testing.T) {
	e := newExposition(t)
	now := t0
	p := manual(t, &now, e.url())
	for i := 0; i <= 10; i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		e.set(http.StatusOK, agentText(i, "1.5.0"))
		require.NoError(t, p.Scrape(context.Background()))
	}
	b := builtinQueries(t)
	// Expected values follow Prometheus 3's rules: a [5s] window at t0+10s holds the samples of
	// t0+6s..t0+10s (left-open), the increase is extrapolated to the window's start when the
	// gap is under 1.1 × the average sample interval, and a counter reset adds the value
	// before it.
	tests := []struct {
		name  string
		query string
		want  float64
	}{
		{"success rate: 9 good of 10 a second", b["request-success-rate"].Query, 90},
		// p90 of rates {0.05: 0, 0.1: 5, 0.25: 10, +Inf: 10}: rank 9 lies in (0.1, 0.25]:
		// 0.1 + 0.15 × (9-5)/5 = 0.22 s.
		{"request duration p90 in ms", b["request-duration"].Query, 220},
		// samples 160, 170, 5 (reset), 15, 25: increase 35 over 4 s, extrapolated to 5 s.
		{"ai failure rate across a counter reset", b["ai-failure-rate"].Query, 35 * 5.0 / 4 / 5},
		{"requests in the window (minRequests guard)", b["request-success-rate"].RequestsQuery, 50},
		{"absent counter or vector(0) is zero", `sum(rate(ai_ir_failures_total{job="other"}[5s])) or vector(0)`, 0},
		{"readiness", `count(build_info{job="agent",version="1.5.0"})`, 1},
		{"up is written for each scrape", `up{job="agent"}`, 1},
		{"scrape_samples_scraped", `scrape_samples_scraped`, 10},
		{"instance is the target's host:port", fmt.Sprintf(`count(up{instance=%q})`, strings.TrimPrefix(e.srv.URL, "http://")), 1},
		{"scalar wrapped in vector", `vector(scalar(sum(rate(http_requests_total[5s]))))`, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := p.Query(context.Background(), tc.query, time.Time{})
			require.NoError(t, err, tc.query)
			assert.InDelta(t, tc.want, s.Value, 1e-9, tc.query)
			assert.WithinDuration(t, now, s.Time, 0)
		})
	}
}

func TestQuery_NoDataSeveralSeriesAndBadInput(t *testing.T) {
	e := newExposition(t)
	now := t0
	p := manual(t, &now, e.url())
	for i := 0; i <= 5; i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		e.set(http.StatusOK, agentText(0, "1.5.0")) // no traffic at all
		require.NoError(t, p.Scrape(context.Background()))
	}
	b := builtinQueries(t)

	_, err := p.Query(context.Background(), b["request-success-rate"].Query, time.Time{})
	require.ErrorIs(t, err, metrics.ErrNoData, "0/0 without traffic is no data, never 100 %%")
	_, err = p.Query(context.Background(), `build_info{version="9.9.9"}`, time.Time{})
	require.ErrorIs(t, err, metrics.ErrNoData)

	smp, err := p.Query(context.Background(), `sort_desc(http_requests_total)`, time.Time{})
	require.NoError(t, err, "several series: the last one, as Flagger reads it")
	assert.Equal(t, 2, smp.Series)
	_, err = p.Query(context.Background(), `scalar(sum(up))`, time.Time{})
	require.ErrorIs(t, err, metrics.ErrScalar)

	_, err = p.Query(context.Background(), `sum(rate(http_requests_total[5s]`, time.Time{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sum(rate(http_requests_total[5s]`)

	_, err = p.Query(context.Background(), `http_requests_total[5s]`, time.Time{})
	require.ErrorContains(t, err, "returned a matrix where an instant vector or scalar was expected")

	_, err = p.QueryRange(context.Background(), `up`, metrics.Range{Start: now, End: now, Step: 0})
	require.ErrorContains(t, err, "step 0s must be positive")
}

func TestScrape_FailedScrapeIsDownAndStale(t *testing.T) {
	e := newExposition(t)
	now := t0
	p := manual(t, &now, e.url())
	e.set(http.StatusOK, agentText(1, "1.5.0"))
	require.NoError(t, p.Scrape(context.Background()))

	// The next exposition no longer has build_info: the series is marked stale at once, as
	// Prometheus does, instead of lingering for the 5-minute lookback.
	now = t0.Add(time.Second)
	e.set(http.StatusOK, strings.Replace(agentText(2, "1.5.0"), `build_info{version="1.5.0"} 1`, "", 1))
	require.NoError(t, p.Scrape(context.Background()))
	_, err := p.Query(context.Background(), `build_info`, time.Time{})
	require.ErrorIs(t, err, metrics.ErrNoData)

	now = t0.Add(2 * time.Second)
	e.set(http.StatusInternalServerError, "boom")
	err = p.Scrape(context.Background())
	require.ErrorContains(t, err, "server returned HTTP status 500")
	assert.Contains(t, err.Error(), e.url())
	// Every target's last scrape failed: a query says so (unreachable) instead of "no series".
	_, err = p.Query(context.Background(), `http_requests_total{code="200"}`, time.Time{})
	require.ErrorIs(t, err, metrics.ErrUnreachable, "a failed scrape is an error, not no data")
	assert.ErrorContains(t, err, "server returned HTTP status 500")
	st := p.Targets()
	require.Len(t, st, 1)
	assert.Equal(t, 3, st[0].Scrapes)
	assert.Error(t, st[0].Err)

	now = t0.Add(3 * time.Second)
	e.set(http.StatusOK, "this is not { an exposition\n")
	require.ErrorContains(t, p.Scrape(context.Background()), "parsing the exposition")
}

func TestQueryRange_RateOverSteps(t *testing.T) {
	e := newExposition(t)
	now := t0
	p := manual(t, &now, e.url())
	for i := 0; i <= 10; i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		e.set(http.StatusOK, agentText(i, "1.4.0"))
		require.NoError(t, p.Scrape(context.Background()))
	}
	ss, err := p.QueryRange(context.Background(), `sum(rate(http_requests_total{code="200"}[3s]))`,
		metrics.Range{Start: t0.Add(4 * time.Second), End: t0.Add(10 * time.Second), Step: 2 * time.Second})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Len(t, ss[0].Points, 4)
	for _, pt := range ss[0].Points {
		assert.InDelta(t, 9, pt.Value, 1e-9)
	}
	assert.WithinDuration(t, t0.Add(10*time.Second), ss[0].Points[3].Time, 0)
}

func TestNew_BadInputIsNamed(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		opts    []Option
		want    string
	}{
		{"no targets", nil, nil, "no targets"},
		{"host:port without scheme", []string{"127.0.0.1:8080"}, nil, `scrape target "127.0.0.1:8080": want an http(s) URL`},
		{"ftp", []string{"ftp://x/metrics"}, nil, `scrape target "ftp://x/metrics"`},
		{"twice", []string{"http://a/metrics", "http://a/metrics"}, nil, "given twice"},
		{"negative interval", []string{"http://a/metrics"}, []Option{WithInterval(-time.Second)}, "scrape interval -1s"},
		{"zero query timeout", []string{"http://a/metrics"}, []Option{WithQueryTimeout(0)}, "query timeout 0s"},
		{"empty job", []string{"http://a/metrics"}, []Option{WithJob("")}, "empty job name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(context.Background(), tc.targets, tc.opts...)
			if err == nil {
				_ = p.Close()
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestClose_StopsScrapingLeavesNothingBehind(t *testing.T) {
	e := newExposition(t)
	e.set(http.StatusOK, agentText(1, "1.5.0"))
	e.srv.Client() // start the server's goroutines before counting
	before := runtime.NumGoroutine()

	p, err := New(context.Background(), []string{e.url()}, WithInterval(20*time.Millisecond))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Targets()[0].Scrapes >= 3 }, 5*time.Second, 10*time.Millisecond)
	s, err := p.Query(context.Background(), `up`, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 1.0, s.Value)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close twice is fine")

	n := p.Targets()[0].Scrapes
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, n, p.Targets()[0].Scrapes, "no scrape after Close")
	_, err = p.Query(context.Background(), `up`, time.Time{})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, p.Scrape(context.Background()), ErrClosed)

	e.srv.CloseClientConnections()
	// (testify's Eventually runs its condition on a goroutine of its own: poll by hand.)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before New, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestNew_ContextEndStopsScraping(t *testing.T) {
	e := newExposition(t)
	e.set(http.StatusOK, agentText(1, "1.5.0"))
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, []string{e.url()}, WithInterval(10*time.Millisecond))
	require.NoError(t, err)
	defer p.Close()
	require.Eventually(t, func() bool { return p.Targets()[0].Scrapes >= 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the scraper did not stop when its context ended")
	}
}

func TestQuery_HonoursContext(t *testing.T) {
	e := newExposition(t)
	now := t0
	p := manual(t, &now, e.url())
	e.set(http.StatusOK, agentText(1, "1.5.0"))
	require.NoError(t, p.Scrape(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Query(ctx, `up`, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, p.Scrape(ctx), context.Canceled)
}
