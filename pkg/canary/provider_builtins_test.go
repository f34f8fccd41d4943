package canary_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

func providerCanary(provider, extra string) string {
	return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: agents}
spec:
  provider: ` + provider + `
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: agent}
  ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: agent-public}
` + extra + `  analysis:
    interval: 2s
    threshold: 2
    iterations: 2
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 1m
      - name: request-duration
        thresholdRange: {max: 500}
        interval: 1m
`
}

// Without a selector the built-ins are Flagger's queries for spec.provider (transcribed from
// its observers; istio when spec.provider is not set, as Flagger's default mesh provider).
func TestProviderBuiltinQueries(t *testing.T) {
	for _, tt := range []struct {
		provider, version string
		success, duration string
	}{
		{"istio", "",
			`sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent"}[1m])) * 100`,
			`histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent"}[1m])) by (le))`},
		{"istio", "1.5.0",
			`sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent",destination_version="1.5.0",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent",destination_version="1.5.0"}[1m])) * 100`,
			`histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent",destination_version="1.5.0"}[1m])) by (le))`},
		{"linkerd", "1.5.0",
			`sum(rate(response_total{namespace="agents",deployment=~"agent",classification!="failure",direction="inbound"}[1m])) / sum(rate(response_total{namespace="agents",deployment=~"agent",direction="inbound"}[1m])) * 100`,
			`histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="agents",deployment=~"agent",direction="inbound"}[1m])) by (le))`},
		{"nginx", "",
			`sum(rate(nginx_ingress_controller_requests{namespace="agents",ingress="agent-public",status!~"5.*"}[1m])) / sum(rate(nginx_ingress_controller_requests{namespace="agents",ingress="agent-public"}[1m])) * 100`,
			`sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_sum{namespace="agents",ingress="agent-public"}[1m])) / sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_count{namespace="agents",ingress="agent-public"}[1m])) * 1000`},
		{"kubernetes", "",
			`sum(rate(http_request_duration_seconds_count{kubernetes_namespace="agents",kubernetes_pod_name=~"agent-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status!~"5.*"}[1m])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="agents",kubernetes_pod_name=~"agent-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) * 100`,
			`histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{kubernetes_namespace="agents",kubernetes_pod_name=~"agent-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) by (le)) * 1000`},
	} {
		t.Run(tt.provider+" "+tt.version, func(t *testing.T) {
			cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary(tt.provider, "")), canary.WithVersion(tt.version))
			require.NoError(t, err)
			assert.Equal(t, tt.success, cfg.Metrics[0].Query)
			assert.Equal(t, tt.duration, cfg.Metrics[1].Query)
			assert.True(t, cfg.Metrics[1].WholeMilliseconds)
			if tt.version != "" && tt.provider != "istio" {
				assert.Contains(t, strings.Join(notes(cfg), "\n"), tt.provider+"'s metrics carry no version label")
			}
		})
	}
	cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary(`""`, "")))
	require.NoError(t, err)
	assert.Contains(t, cfg.Metrics[0].Query, "istio_requests_total", "no spec.provider: Flagger's default mesh provider, istio")
}

// meshExporter serves series shaped like Istio's, Linkerd's and NGINX's for the workload agent
// in namespace agents: the new version (1.5.0) healthy and fast, the old one (1.4.0, still in
// the window during a rollout) failing half its requests; NGINX 2 % errors, 120 ms upstream.
func meshExporter(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	istioReq := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "istio_requests_total"},
		[]string{"reporter", "destination_workload_namespace", "destination_workload", "destination_version", "response_code"})
	istioDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "istio_request_duration_milliseconds", Buckets: []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500}},
		[]string{"reporter", "destination_workload_namespace", "destination_workload", "destination_version"})
	l5dResp := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total"}, []string{"namespace", "deployment", "direction", "classification"})
	l5dLat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_latency_ms", Buckets: []float64{10, 50, 100, 300, 500, 1000}},
		[]string{"namespace", "deployment", "direction"})
	ngxReq := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nginx_ingress_controller_requests"}, []string{"namespace", "ingress", "status"})
	ngxLat := prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: "nginx_ingress_controller_ingress_upstream_latency_seconds"}, []string{"namespace", "ingress"})
	reg.MustRegister(istioReq, istioDur, l5dResp, l5dLat, ngxReq, ngxLat)
	return serveTicking(t, reg, func(i int) {
		istioReq.WithLabelValues("destination", "agents", "agent", "1.5.0", "200").Inc()
		istioDur.WithLabelValues("destination", "agents", "agent", "1.5.0").Observe(20)
		code := "200"
		if i%2 == 0 {
			code = "503"
		}
		istioReq.WithLabelValues("destination", "agents", "agent", "1.4.0", code).Inc()
		istioDur.WithLabelValues("destination", "agents", "agent", "1.4.0").Observe(900)
		class := "success"
		if i%10 == 0 {
			class = "failure"
		}
		l5dResp.WithLabelValues("agents", "agent", "inbound", class).Inc()
		l5dLat.WithLabelValues("agents", "agent", "inbound").Observe(40)
		status := "200"
		if i%50 == 0 {
			status = "502"
		}
		ngxReq.WithLabelValues("agents", "agent-public", status).Inc()
		ngxLat.WithLabelValues("agents", "agent-public").Observe(0.12)
	})
}

// Flagger's built-in queries run against a real Prometheus scraping series shaped like each
// provider's: Istio's are restricted to the new version (the old pods' errors do not count),
// Linkerd's and NGINX's cannot be and say so.
func TestProviderBuiltinsLive(t *testing.T) {
	p := liveProm(t, meshExporter(t), `sum(rate(nginx_ingress_controller_requests[5s]))`)
	ctx := context.Background()

	value := func(cfg *canary.Config, i int) float64 {
		t.Helper()
		s, err := p.Query(ctx, cfg.Metrics[i].Query, time.Time{})
		require.NoError(t, err, cfg.Metrics[i].Query)
		return s.Value
	}
	windows := func(provider, version string) *canary.Config {
		doc := providerCanary(provider, "")
		cfg, err := canary.ParseConfig("p.yaml", []byte(doc), canary.WithVersion(version))
		require.NoError(t, err)
		for i := range cfg.Metrics { // 1m windows would see nothing yet: 10s, same queries otherwise
			cfg.Metrics[i].Query = strings.ReplaceAll(cfg.Metrics[i].Query, "[1m]", "[10s]")
		}
		return cfg
	}

	istioNew := windows("istio", "1.5.0")
	assert.Equal(t, 100.0, value(istioNew, 0), "only the new version's requests")
	assert.InDelta(t, 24.75, value(istioNew, 1), 0.5, "p99 inside the 10–25 ms bucket")
	istioAll := windows("istio", "")
	assert.InDelta(t, 75, value(istioAll, 0), 3, "without the version, the old pods' 503s count")

	l5d := windows("linkerd", "1.5.0")
	assert.InDelta(t, 90, value(l5d, 0), 3)
	assert.InDelta(t, 49.5, value(l5d, 1), 1, "p99 inside the 10–50 ms bucket")

	ngx := windows("nginx", "")
	assert.InDelta(t, 98, value(ngx, 0), 1)
	assert.InDelta(t, 120, value(ngx, 1), 1, "average upstream latency in ms")

	// The monitor waits for the new version on Istio's own series, then decides on them as
	// Flagger would: Istio's new version passes.
	assert.Equal(t, `istio_requests_total{reporter="destination",destination_workload_namespace="agents",destination_workload=~"agent",destination_version="1.5.0"}`, istioNew.ReadyQuery)
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := canary.Monitor(mctx, istioNew, p)
	require.NoError(t, err)
	assert.Equal(t, canary.Success, r.Decision, r.Reason)
	assert.Len(t, r.Ticks, 3, "blue/green iterations 2: 3 passing checks")
}
