package canary_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/canary"
)

// Without a selector, a provider whose series carry no version waits for a series labelled
// with the version or, as kube-state-metrics reports it, a ready container of the target's pods
// running the image tagged with the version; the pod-name pattern follows targetRef.kind.
func TestReadyQuery_ProvidersWithoutAVersionLabel(t *testing.T) {
	for _, tt := range []struct{ provider, kind, pod string }{
		{"linkerd", "Deployment", `"agent-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`},
		{"contour", "DaemonSet", `"agent-[0-9a-z]{5}"`},
		{"nginx", "StatefulSet", `"agent-[0-9]+"`},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			doc := strings.Replace(providerCanary(tt.provider, ""), "kind: Deployment", "kind: "+tt.kind, 1)
			cfg, err := canary.ParseConfig("p.yaml", []byte(doc), canary.WithVersion("1.5.0"))
			require.NoError(t, err)
			assert.Equal(t, `{version="1.5.0"} or ((kube_pod_container_status_ready{namespace="agents",pod=~`+tt.pod+`} == 1) and on(namespace, pod, container) `+
				`kube_pod_container_info{namespace="agents",pod=~`+tt.pod+`,image=~".+:1\\.5\\.0(@sha256:[0-9a-f]{64})?"})`, cfg.ReadyQuery)
			_, err = parser.ParseExpr("count(" + cfg.ReadyQuery + ")")
			require.NoError(t, err)
			assert.Contains(t, strings.Join(notes(cfg), "\n"), "as kube-state-metrics reports it; give readyQuery if neither exists")
		})
	}
	// Istio's series carry the version: its own readiness, unchanged; a selector keeps the
	// app-metric readiness.
	cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary("istio", "")), canary.WithVersion("1.5.0"))
	require.NoError(t, err)
	assert.NotContains(t, cfg.ReadyQuery, "kube_pod")
	cfg, err = canary.ParseConfig("p.yaml", []byte(providerCanary("linkerd", "")), canary.WithVersion("1.5.0"), canary.WithSelector(`job="agent"`))
	require.NoError(t, err)
	assert.Equal(t, `{job="agent",version="1.5.0"}`, cfg.ReadyQuery)
}

// Against a real Prometheus scraping kube-state-metrics-shaped series: not ready while only the
// old image's container and a neighbour's are ready, ready once a container of the target
// running the new tag (with its digest) is.
func TestReadyQuery_KubeStateMetricsLive(t *testing.T) {
	reg := prometheus.NewRegistry()
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_pod_container_info"}, []string{"namespace", "pod", "container", "image", "image_id"})
	ready := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_pod_container_status_ready"}, []string{"namespace", "pod", "container"})
	reg.MustRegister(info, ready)
	digest := "@sha256:" + strings.Repeat("ab", 32)
	for _, p := range []struct{ pod, image string }{
		{"agent-5d8f7c9b4-x2x8k", "ghcr.io/acme/agent:1.4.0"},          // the old version, ready
		{"agent-7c6b5d4f8-q9w8e", "ghcr.io/acme/agent:1.5.0" + digest}, // the new one, starting
		{"agent-worker-6f7d8c9b5-a1b2c", "ghcr.io/acme/agent:1.5.0"},   // a neighbour on the new tag, ready
		{"agent-7c6b5d4f8-zz999", "ghcr.io/acme/agent:1.5.0-rc.1"},     // another tag, ready
		{"agent-7c6b5d4f8-yy888", "ghcr.io/acme/agent-sidecar:11.5.0"}, // a tag that only contains the version
	} {
		info.WithLabelValues("agents", p.pod, "agent", p.image, "docker-pullable://"+p.image).Set(1)
		ready.WithLabelValues("agents", p.pod, "agent").Set(1)
	}
	ready.WithLabelValues("agents", "agent-7c6b5d4f8-q9w8e", "agent").Set(0)
	var flip atomic.Bool
	addr := serveTicking(t, reg, func(int) {
		if flip.Load() {
			ready.WithLabelValues("agents", "agent-7c6b5d4f8-q9w8e", "agent").Set(1)
		}
	})
	p := liveProm(t, addr, `count(kube_pod_container_info)`)
	cfg, err := canary.ParseConfig("p.yaml", []byte(providerCanary("linkerd", "")), canary.WithVersion("1.5.0"))
	require.NoError(t, err)
	q := "count(" + cfg.ReadyQuery + ")"
	ctx := context.Background()
	_, err = p.Query(ctx, q, time.Time{})
	require.Error(t, err, "no ready container of agent runs 1.5.0 yet: no series")

	flip.Store(true)
	require.Eventually(t, func() bool {
		s, err := p.Query(ctx, q, time.Time{})
		return err == nil && s.Value == 1
	}, 30*time.Second, 200*time.Millisecond, "the new container is ready: exactly it is counted")
}
