package canary_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/promtest"
	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/metrics"
)

// edgeExporter serves series shaped like the Envoy-based providers' (Contour, Gloo, Kuma, App
// Mesh, Knative: envoy_cluster_upstream_rq, envoy_cluster_upstream_rq_time in ms), Traefik's,
// Skipper's, APISIX's and OSM's, for the workload agent (Service agent, Ingress agent-public,
// ApisixRoute agent-route) in namespace agents, next to a neighbour whose name starts with
// the workload's (agent-worker) failing every request: the queries must not count it.
func edgeExporter(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	// Envoy's counter has no _total suffix; a gauge serves the same text exposition.
	envoyRq := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "envoy_cluster_upstream_rq"},
		[]string{"envoy_cluster_name", "service", "kubernetes_namespace", "kubernetes_pod_name", "envoy_response_code"})
	envoyTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "envoy_cluster_upstream_rq_time", Buckets: []float64{5, 10, 25, 50, 100, 250, 500, 1000}},
		[]string{"envoy_cluster_name", "service", "kubernetes_namespace", "kubernetes_pod_name"})
	traefik := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "traefik_service_request_duration_seconds", Buckets: []float64{0.1, 0.3, 1.2, 5}},
		[]string{"service", "code", "method", "protocol"})
	skipperResp := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "skipper_response_duration_seconds", Buckets: prometheus.DefBuckets}, []string{"route", "code", "method"})
	skipperServe := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "skipper_serve_route_duration_seconds", Buckets: prometheus.DefBuckets}, []string{"route", "code", "method"})
	apisixStatus := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apisix_http_status"}, []string{"code", "route", "matched_uri", "service"})
	apisixLat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "apisix_http_latency", Buckets: []float64{1, 5, 10, 50, 100, 500}}, []string{"type", "route", "service"})
	osmReq := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "osm_request_total"}, []string{"destination_namespace", "destination_kind", "destination_name", "destination_pod", "response_code"})
	osmDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "osm_request_duration_ms", Buckets: []float64{5, 10, 25, 50, 100}}, []string{"destination_namespace", "destination_kind", "destination_name"})
	reg.MustRegister(envoyRq, envoyTime, traefik, skipperResp, skipperServe, apisixStatus, apisixLat, osmReq, osmDur)

	type envoySeries struct{ cluster, service, pod string }
	ours := []struct {
		s       envoySeries
		failOne int     // one request in failOne answers 503 (0: none)
		ms      float64 // latency
	}{
		{envoySeries{cluster: "agents_agent_80"}, 20, 30},                         // Contour: 95 %
		{envoySeries{cluster: "agents-agent-80_gloo-system"}, 0, 40},              // Gloo: 100 %
		{envoySeries{service: "agent_agents_svc_80"}, 10, 60},                     // Kuma: 90 %
		{envoySeries{pod: "agent-5d8f7c9b4-x2x8k"}, 4, 20},                        // App Mesh: 75 %
		{envoySeries{cluster: "agents/agent-00002"}, 50, 8},                       // Knative: 98 %
		{envoySeries{cluster: "agents_agent-worker_80"}, 1, 900},                  // neighbours, all 503
		{envoySeries{cluster: "agents-agent-worker-80_gloo-system"}, 1, 900},      //
		{envoySeries{service: "agent-worker_agents_svc_80"}, 1, 900},              //
		{envoySeries{pod: "agent-worker-6c7d9f8b5-abcde"}, 1, 900},                //
		{envoySeries{cluster: "agents/agent-worker-00001"}, 1, 900},               //
		{envoySeries{cluster: "agents_agent-canary_80"}, 1, 900},                  // Flagger's canary cluster: no Flux rollout has one
		{envoySeries{cluster: "agents-agent-canary-80_gloo-system"}, 1, 900},      //
		{envoySeries{cluster: "agents-agent-worker-canary-80_gloo-system"}, 1, 9}, //
	}
	return serveTicking(t, reg, func(i int) {
		for _, o := range ours {
			code := "200"
			if o.failOne > 0 && i%o.failOne == 0 {
				code = "503"
			}
			ns := ""
			if o.s.pod != "" {
				ns = "agents"
			}
			envoyRq.WithLabelValues(o.s.cluster, o.s.service, ns, o.s.pod, code).Inc()
			envoyTime.WithLabelValues(o.s.cluster, o.s.service, ns, o.s.pod).Observe(o.ms)
		}
		// Traefik: 2 % errors, 200 ms; the neighbour fails everything slowly.
		code := "200"
		if i%50 == 0 {
			code = "500"
		}
		traefik.WithLabelValues("agents-agent-80@kubernetescrd", code, "GET", "http").Observe(0.2)
		traefik.WithLabelValues("agents-agent-worker-80@kubernetescrd", "502", "GET", "http").Observe(4)
		// Skipper: the workload's route (host agent.example.com, path /), no errors, 50 ms.
		skipperResp.WithLabelValues("kube_agents__agent_public__agent_example_com____agent", "200", "GET").Observe(0.05)
		skipperServe.WithLabelValues("kube_agents__agent_public__agent_example_com____agent", "200", "GET").Observe(0.05)
		skipperResp.WithLabelValues("kube_agents__agent_public__agent_example_com____agent_worker", "503", "GET").Observe(2)
		skipperServe.WithLabelValues("kube_agents__agent_public__agent_example_com____agent_worker", "503", "GET").Observe(2)
		// APISIX: 1 in 25 answers 502, 7 ms.
		code = "200"
		if i%25 == 0 {
			code = "502"
		}
		apisixStatus.WithLabelValues(code, "agents_agent-route_rule1", "/", "").Inc()
		apisixLat.WithLabelValues("request", "agents_agent-route_rule1", "").Observe(7)
		apisixStatus.WithLabelValues("503", "agents_agent-route-worker_rule1", "/", "").Inc()
		// OSM: all fine, 12 ms.
		osmReq.WithLabelValues("agents", "Deployment", "agent", "agent-5d8f7c9b4-x2x8k", "200").Inc()
		osmDur.WithLabelValues("agents", "Deployment", "agent").Observe(12)
		osmReq.WithLabelValues("agents", "Deployment", "agent-worker", "agent-worker-1", "503").Inc()
	})
}

// serveTicking serves reg's series at /metrics and calls step(i), i = 0, 1, …, every 10 ms
// until the test ends; it returns the server's host:port.
func serveTicking(t *testing.T, reg *prometheus.Registry, step func(i int)) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			step(i)
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait(); srv.Close() })
	return srv.Listener.Addr().String()
}

// liveProm starts a real Prometheus scraping addr and waits until probe has a positive value.
func liveProm(t *testing.T, addr, probe string) *metrics.Prometheus {
	t.Helper()
	prom := promtest.Start(t, addr)
	p, err := metrics.NewPrometheus(prom.URL, metrics.WithTimeout(5*time.Second))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, err := p.Query(context.Background(), probe, time.Time{})
		return err == nil && s.Value > 0
	}, 30*time.Second, 200*time.Millisecond)
	return p
}

// The built-in queries of the Envoy-based providers, Traefik, Skipper, APISIX and OSM run
// against a real Prometheus scraping series shaped like theirs: each counts the workload's own
// series, not its neighbour's, nor a Flagger canary object a Flux rollout does not have.
func TestProviderBuiltinsLiveEdge(t *testing.T) {
	p := liveProm(t, edgeExporter(t), `sum(rate(osm_request_total[5s]))`)
	ctx := context.Background()

	extra := "  routeRef: {apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: agent-route}\n"
	for _, tt := range []struct {
		provider          string
		success, duration float64 // what Prometheus should answer
		tol               float64
	}{
		{"contour", 95, 49.5, 3}, // p99 in the 25–50 ms bucket
		{"gloo", 100, 49.75, 3},  //
		{"kuma", 90, 99, 3},      // p99 in the 50–100 ms bucket
		{"appmesh:v1beta2", 75, 24.75, 3},
		{"knative", 98, 9.95, 3}, // p99 in the 5–10 ms bucket
		{"traefik", 98, 297, 6},  // p99 in the 0.1–0.3 s bucket, in ms
		{"skipper", 100, 50, 1},  // Skipper's duration is the mean, in ms
		{"apisix", 96, 9.95, 3},  // p99 in the 5–10 ms bucket
		{"osm", 100, 24.75, 3},   // p99 in the 10–25 ms bucket
	} {
		t.Run(tt.provider, func(t *testing.T) {
			cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary(tt.provider, extra)))
			require.NoError(t, err)
			for i, want := range []float64{tt.success, tt.duration} {
				q := strings.ReplaceAll(cfg.Metrics[i].Query, "[1m]", "[10s]") // 1m windows would see little yet
				s, err := p.Query(ctx, q, time.Time{})
				require.NoError(t, err, q)
				assert.InDelta(t, want, s.Value, tt.tol, "%s: %s", cfg.Metrics[i].Name, q)
			}
		})
	}

	// The monitor decides on Contour's own series as Flagger would: 95 % is below 99 %, so the
	// two checks fail and threshold 2 rolls back.
	cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary("contour", "")))
	require.NoError(t, err)
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := canary.Monitor(mctx, cfg, p)
	require.NoError(t, err)
	assert.Equal(t, canary.Rollback, r.Decision, r.Reason)
	assert.Contains(t, strings.Join(r.FailedChecks, "\n"), "request-success-rate")
}
