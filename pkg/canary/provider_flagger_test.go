package canary_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/labrats-work/flightline/pkg/canary"
)

// flaggerBuiltins is testdata/providers/flagger-builtins.yaml: Flagger's built-in queries per
// observer, transcribed, and how Flightline's differ.
type flaggerBuiltins struct {
	Observers []struct {
		Observer     string            `yaml:"observer"`
		Source       string            `yaml:"source"`
		Providers    []string          `yaml:"providers"`
		VersionLabel string            `yaml:"versionLabel"`
		Flagger      map[string]string `yaml:"flagger"`
		Flux         [][2]string       `yaml:"flux"`
	} `yaml:"observers"`
}

var spaces = regexp.MustCompile(`\s+`)

// promNorm drops the whitespace (none of these queries has any inside a string) and the
// trailing commas of label matchers, which PromQL allows and Flagger's queries have.
func promNorm(q string) string {
	return strings.ReplaceAll(spaces.ReplaceAllString(q, ""), ",}", "}")
}

// Every spec.provider Flagger's observer factory knows renders Flagger's query for that
// observer, with only the documented differences (the workload's own Service, Ingress or route
// instead of the -canary ones Flagger creates), as valid PromQL.
func TestProviderBuiltinsAgainstFlagger(t *testing.T) {
	raw, err := os.ReadFile("testdata/providers/flagger-builtins.yaml")
	require.NoError(t, err)
	var fx flaggerBuiltins
	require.NoError(t, yaml.Unmarshal(raw, &fx))
	require.NotEmpty(t, fx.Observers)
	extra := "  routeRef: {apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: agent-route}\n"
	seen := map[string]bool{}
	for _, ob := range fx.Observers {
		for _, prov := range ob.Providers {
			seen[prov] = true
			t.Run(ob.Observer+"/"+prov, func(t *testing.T) {
				doc := providerCanary(prov, extra)
				if prov == "" {
					doc = providerCanary(`""`, extra)
				}
				cfg, err := canary.ParseConfig("p.yaml", []byte(doc))
				require.NoError(t, err)
				require.Len(t, cfg.Metrics, 2)
				for i, name := range []string{"request-success-rate", "request-duration"} {
					m := cfg.Metrics[i]
					require.Equal(t, name, m.Name)
					want := ob.Flagger[name]
					require.NotEmpty(t, want, "%s: %s", ob.Source, name)
					for _, r := range ob.Flux {
						require.Contains(t, want, r[0], "a documented difference must apply")
						want = strings.ReplaceAll(want, r[0], r[1])
					}
					assert.Equal(t, promNorm(want), promNorm(m.Query), "%s (%s), Flux differences applied", name, ob.Source)
					_, err := parser.ParseExpr(m.Query)
					assert.NoError(t, err, m.Query)
					assert.True(t, m.Builtin)
				}
				assert.True(t, cfg.Metrics[1].WholeMilliseconds, "Flagger truncates the built-in duration to whole milliseconds")
				if len(ob.Flux) > 0 {
					assert.Contains(t, strings.Join(notes(cfg), "\n"), "spec.provider: differs — Flagger selects", "the difference is said")
				}

				// With a version: restricted where the provider's series carry it, said where not.
				cfg, err = canary.ParseConfig("p.yaml", []byte(doc), canary.WithVersion("1.5.0"))
				require.NoError(t, err)
				for _, m := range cfg.Metrics {
					if ob.VersionLabel != "" {
						assert.Contains(t, m.Query, ob.VersionLabel+`="1.5.0"`)
					} else {
						assert.NotContains(t, m.Query, `"1.5.0"`)
					}
				}
				if ob.VersionLabel == "" {
					assert.Contains(t, strings.Join(notes(cfg), "\n"), "metrics carry no version label")
				}
			})
		}
	}
	// Every provider Flightline lists is covered by a transcribed Flagger query.
	for _, p := range canary.ProviderBuiltins() {
		if p == "kubernetes" || p == "linkerd" {
			continue // transcribed in TestProviderBuiltinQueries
		}
		assert.True(t, seen[p], "no Flagger fixture for provider %s", p)
	}
}

// Canaries shaped like Flagger's tutorials, one per provider, load without a selector and
// query that provider's own series.
func TestProviderCanariesLoad(t *testing.T) {
	series := map[string][]string{
		"contour":    {`envoy_cluster_upstream_rq{envoy_cluster_name=~"test_podinfo_[0-9a-zA-Z-]+"`, `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"test_podinfo_[0-9a-zA-Z-]+"`},
		"gloo":       {`envoy_cluster_upstream_rq{envoy_cluster_name=~"test-podinfo-[0-9]+_[0-9a-zA-Z-]+"`, `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"test-podinfo-[0-9]+_`},
		"kuma":       {`envoy_cluster_upstream_rq{service=~"podinfo_test_svc_[0-9a-zA-Z-]+"`, `envoy_cluster_upstream_rq_time_bucket{service=~"podinfo_test_svc_`},
		"appmesh":    {`envoy_cluster_upstream_rq{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`, `envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace="test"`},
		"traefik":    {`traefik_service_request_duration_seconds_bucket{service=~"test-podinfo-[0-9a-zA-Z]+@kubernetescrd",code!~"5..",le="+Inf"}`, `* 1000`},
		"skipper":    {`skipper_response_duration_seconds_bucket{route=~"kube(ew)?_test__podinfo__.*__podinfo(_[0-9]+)?"`, `skipper_serve_route_duration_seconds_sum{route=~"kube(ew)?_test__podinfo__.*__podinfo(_[0-9]+)?"}`},
		"apisix":     {`apisix_http_status{route=~"test_podinfo_.+",code!~"5.."}`, `apisix_http_latency_bucket{type=~"request",route=~"test_podinfo_.+"}`},
		"osm":        {`osm_request_total{destination_namespace="test",destination_kind="Deployment",destination_name="podinfo"`, `osm_request_duration_ms_bucket{destination_namespace="test"`},
		"knative":    {`envoy_cluster_upstream_rq{envoy_cluster_name=~"test/podinfo-[0-9]+"`, `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"test/podinfo-[0-9]+"}`},
		"gatewayapi": {`istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"podinfo",destination_version="2.0.1"`, `istio_request_duration_milliseconds_bucket{`},
	}
	files, err := filepath.Glob("testdata/providers/canaries/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(series))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			cfg, err := canary.ParseConfig(f, data, canary.WithVersion("2.0.1"))
			require.NoError(t, err)
			require.Len(t, cfg.Metrics, 2)
			for i, want := range series[name] {
				assert.Contains(t, cfg.Metrics[i].Query, want)
				_, err := parser.ParseExpr(cfg.Metrics[i].Query)
				assert.NoError(t, err)
			}
			if name == "gatewayapi" {
				assert.Contains(t, strings.Join(notes(cfg), "\n"), "spec.provider: mapped — Flagger has no Gateway API observer")
				assert.Contains(t, cfg.ReadyQuery, `istio_requests_total{`, "the readiness gate waits on Istio's own series")
			}
			t.Log(canary.Describe(cfg))
		})
	}
}

// A provider Flagger has no observer for is refused, naming the valid ones, not read as Istio.
func TestProviderUnknownRefused(t *testing.T) {
	_, err := canary.ParseConfig("p.yaml", []byte(providerCanary("linkred", "")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `built-in "request-success-rate" for spec.provider "linkred": not a provider Flagger has built-in queries for (valid: apisix, appmesh, contour, gatewayapi, gloo, istio, knative, kubernetes, kuma, linkerd, nginx, osm, skipper, traefik`)
	assert.Contains(t, err.Error(), "say istio if that is meant")
}

// The names of the Canary go into label matchers and regular expressions: without a
// namespace, or with a name Kubernetes would refuse, the built-ins are refused, never rendered.
func TestProviderBuiltinNames(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"no namespace", strings.Replace(providerCanary("contour", ""), ", namespace: agents", "", 1),
			`built-in "request-success-rate" for spec.provider "contour" selects the workload by namespace, and metadata.namespace is not set: write the namespace the Canary is applied to`},
		{"a quote in a name", strings.Replace(providerCanary("traefik", ""), "name: agent-public}", `name: 'agent",x="y'}`, 1),
			`built-in "request-success-rate" for spec.provider "traefik": spec.ingressRef.name "agent\",x=\"y" is not a Kubernetes name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := canary.ParseConfig("p.yaml", []byte(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Whatever spec.provider and names load, every built-in query is valid PromQL.
func FuzzProviderBuiltins(f *testing.F) {
	for _, p := range []string{"contour", "skipper", "apisix", "gatewayapi:v1", "istio", "knative"} {
		f.Add(p, "agents", "agent", "agent-public", "1.5.0")
	}
	f.Fuzz(func(t *testing.T, provider, namespace, target, ingress, version string) {
		doc := fmt.Sprintf(`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: %q}
spec:
  provider: %q
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %q}
  ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: %q}
  analysis:
    interval: 1m
    iterations: 2
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: request-duration
        thresholdRange: {max: 500}
`, namespace, provider, target, ingress)
		cfg, err := canary.ParseConfig("fuzz.yaml", []byte(doc), canary.WithVersion(version))
		if err != nil {
			return
		}
		for _, m := range cfg.Metrics {
			if _, err := parser.ParseExpr(m.Query); err != nil {
				t.Fatalf("%s: %q is not PromQL: %v", provider, m.Query, err)
			}
		}
	})
}

// Loading a tutorial-shaped Canary renders two built-in Go templates per metric set: the cost
// of a load, per provider.
func BenchmarkParseProviderCanary(b *testing.B) {
	for _, name := range []string{"contour", "skipper", "gatewayapi"} {
		data, err := os.ReadFile("testdata/providers/canaries/" + name + ".yaml")
		require.NoError(b, err)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := canary.ParseConfig(name+".yaml", data, canary.WithVersion("2.0.1")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
