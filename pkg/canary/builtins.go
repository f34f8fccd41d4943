package canary

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The built-in metrics keep Flagger's names and units, written against the sample agent's
// instrumentation: the counter http_requests_total{code,route}, the histogram
// http_request_duration_seconds and the counter ai_ir_failures_total.
type builtin struct {
	unit  string
	query func(selector, window string, quantile float64) string
}

var builtins = map[string]builtin{
	// Percentage (0-100) of requests in the window that did not answer 5xx.
	"request-success-rate": {unit: "%", query: func(sel, w string, _ float64) string {
		return fmt.Sprintf(`sum(rate(http_requests_total%s[%s])) / sum(rate(http_requests_total%s[%s])) * 100`,
			matchers(sel, `code!~"5.."`), w, matchers(sel), w)
	}},
	// Latency quantile (p99 unless quantile is set) in milliseconds.
	"request-duration": {unit: "ms", query: func(sel, w string, q float64) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (le) (rate(http_request_duration_seconds_bucket%s[%s]))) * 1000`,
			strconv.FormatFloat(q, 'g', -1, 64), matchers(sel), w)
	}},
	// AI inference failures per second; an absent counter means zero.
	"ai-failure-rate": {unit: "/s", query: func(sel, w string, _ float64) string {
		return fmt.Sprintf(`sum(rate(ai_ir_failures_total%s[%s])) or vector(0)`, matchers(sel), w)
	}},
}

// requestsQuery counts the requests in the window, for the minRequests guard; no traffic at
// all is 0, not "no data".
func requestsQuery(sel, w string) string {
	return fmt.Sprintf(`sum(increase(http_requests_total%s[%s])) or vector(0)`, matchers(sel), w)
}

// BuiltinNames lists the built-in metrics, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for k := range builtins {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func matchers(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return "{" + strings.Join(keep, ",") + "}"
}

// providerBuiltin is Flagger's built-in pair (request-success-rate, request-duration) for one
// of its observers (fluxcd/flagger pkg/metrics/observers/<observer>.go), written as Go
// templates over the Canary (namespace, target, service, ingress, route, interval).
//
// Flux replaces the pods rather than splitting traffic, so during a rollout old and new pods
// may both be in these series. Where the provider's metrics carry the workload's version
// (versionLabel; only Istio's, destination_version from the pod's version label) the query is
// restricted to it when a version is given. The others carry none: Linkerd's and the
// Kubernetes provider's name the deployment or pod, NGINX's the ingress, Envoy's (Contour,
// Gloo, Kuma, App Mesh, Knative) the cluster, service tag or pod, Traefik's and Skipper's the
// service or route, APISIX's the route, OSM's the destination deployment and pod. Those
// cannot be restricted: the readiness gate waits for the new version, and the first windows
// may still hold the old pods' last requests; the summary says so.
//
// Several of Flagger's queries name objects Flagger itself creates for the canary (the
// "-canary" Service, Ingress, ApisixRoute, Gloo upstream, Traefik service). Flux creates none:
// there the workload is served by its own Service (spec.service.name, else the target), its
// own Ingress (spec.ingressRef) or route (spec.routeRef), and the query names those instead
// (flux says how, and the summary repeats it). The rest of each query is Flagger's.
type providerBuiltin struct {
	versionLabel string // "" when the provider's metrics carry no version
	queries      map[string]string
	// durationSeconds: the duration query answers seconds (Flagger multiplies by 1000).
	durationSeconds bool
	// flux: how the query differs from Flagger's ("" when it is Flagger's, rendered as is).
	flux string
	// encode rewrites the names before rendering (Skipper's route IDs have every non-word
	// character replaced by "_", as Flagger's encodeModelForSkipper does).
	encode func(string) string
}

// Envoy's upstream metrics (Contour, Gloo, Kuma, App Mesh, Knative): envoy_cluster_upstream_rq
// counts requests by envoy_response_code, envoy_cluster_upstream_rq_time is a histogram in
// milliseconds. Only the cluster name (or the pod that emits them) tells the workloads apart.
func envoyQueries(selector string) map[string]string {
	return map[string]string{
		"request-success-rate": `sum(rate(envoy_cluster_upstream_rq{` + selector + `,envoy_response_code!~"5.*"}[{{ interval }}])) / sum(rate(envoy_cluster_upstream_rq{` + selector + `}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{` + selector + `}[{{ interval }}])) by (le))`,
	}
}

var providerBuiltins = map[string]providerBuiltin{
	"istio": {versionLabel: "destination_version", queries: map[string]string{
		"request-success-rate": `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"@version@,response_code!~"5.*"}[{{ interval }}])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"@version@}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"@version@}[{{ interval }}])) by (le))`,
	}},
	"linkerd": {queries: map[string]string{
		"request-success-rate": `sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",classification!="failure",direction="inbound"}[{{ interval }}])) / sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) by (le))`,
	}},
	"nginx": {queries: map[string]string{
		"request-success-rate": `sum(rate(nginx_ingress_controller_requests{namespace="{{ namespace }}",ingress="{{ ingress }}",status!~"5.*"}[{{ interval }}])) / sum(rate(nginx_ingress_controller_requests{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}])) * 100`,
		"request-duration":     `sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_sum{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}])) / sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_count{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}])) * 1000`,
	}},
	// Flagger's HttpObserver (http.go): the target's pods' own http_request_duration_seconds.
	"kubernetes": {durationSeconds: true, queries: map[string]string{
		"request-success-rate": `sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status!~"5.*"}[{{ interval }}])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) by (le)) * 1000`,
	}},
	// Contour names an Envoy cluster NAMESPACE_SERVICE_PORT; Flagger's query selects the
	// cluster of its NAMESPACE_TARGET-canary_PORT service.
	"contour": {queries: envoyQueries(`envoy_cluster_name=~"{{ namespace }}_{{ service }}_[0-9a-zA-Z-]+"`),
		flux: "Flagger selects the Envoy cluster of the -canary Service it creates ({{ namespace }}_{{ target }}-canary_PORT); with Flux the workload is served by its own Service, so the query selects envoy_cluster_name {{ namespace }}_{{ service }}_PORT"},
	// Gloo's discovered upstream is NAMESPACE-SERVICE-PORT, its Envoy cluster UPSTREAM_UPSTREAMNAMESPACE.
	// The port is digits here (Flagger's [0-9a-zA-Z-]+ after a bare service name would also match
	// another Service whose name starts with it, e.g. agent-worker).
	"gloo": {queries: envoyQueries(`envoy_cluster_name=~"{{ namespace }}-{{ service }}-[0-9]+_[0-9a-zA-Z-]+"`),
		flux: "Flagger selects the Envoy cluster of the upstream of the -canary Service it creates ({{ namespace }}-{{ target }}-canary-PORT_NS); with Flux the workload is served by its own Service, so the query selects envoy_cluster_name {{ namespace }}-{{ service }}-PORT_NS"},
	// Kuma's service tag is SERVICE_NAMESPACE_svc_PORT.
	"kuma": {queries: envoyQueries(`service=~"{{ service }}_{{ namespace }}_svc_[0-9a-zA-Z-]+"`),
		flux: "Flagger selects the Kuma service of the -canary Service it creates ({{ target }}-canary_{{ namespace }}_svc_PORT); with Flux the workload is served by its own Service, so the query selects service {{ service }}_{{ namespace }}_svc_PORT"},
	// App Mesh: the target's own pods' Envoy sidecars (Flagger's query as is).
	"appmesh": {queries: envoyQueries(`kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`)},
	// Knative (net-kourier): the Envoy cluster of a revision is NAMESPACE/REVISION. Flagger
	// selects the revision it routes as the canary; with Flux, Knative sends the traffic to the
	// latest ready revision, and the query selects every revision of the service (SERVICE-NNNNN).
	"knative": {queries: envoyQueries(`envoy_cluster_name=~"{{ namespace }}/{{ target }}-[0-9]+"`),
		flux: "Flagger selects the Knative revision it routes as the canary ({{ namespace }}/REVISION); Flightline cannot tell which revision is the new one (no cluster access), so the query selects every revision of {{ target }} ({{ namespace }}/{{ target }}-NNNNN): Knative routes all traffic to the latest ready one"},
	// Traefik names a Kubernetes service NAMESPACE-SERVICE-PORT@kubernetescrd; its durations are
	// seconds, which Flagger's own query turns into milliseconds. The port is [0-9a-zA-Z]+
	// (without "-", for the reason given for Gloo).
	"traefik": {queries: map[string]string{
		"request-success-rate": `sum(rate(traefik_service_request_duration_seconds_bucket{service=~"{{ namespace }}-{{ service }}-[0-9a-zA-Z]+@kubernetescrd",code!~"5..",le="+Inf"}[{{ interval }}])) / sum(rate(traefik_service_request_duration_seconds_bucket{service=~"{{ namespace }}-{{ service }}-[0-9a-zA-Z]+@kubernetescrd",le="+Inf"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(traefik_service_request_duration_seconds_bucket{service=~"{{ namespace }}-{{ service }}-[0-9a-zA-Z]+@kubernetescrd"}[{{ interval }}])) by (le)) * 1000`,
	}, flux: "Flagger selects the Traefik service of the -canary Service it creates ({{ namespace }}-{{ target }}-canary-PORT@kubernetescrd); with Flux the workload is served by its own Service, so the query selects service {{ namespace }}-{{ service }}-PORT@kubernetescrd"},
	// Skipper's route ID for an Ingress rule is kube(ew)_NAMESPACE__INGRESS__HOST__PATH__SERVICE
	// (non-word characters replaced by "_"); its request-duration is the mean, as in Flagger.
	"skipper": {encode: skipperName, queries: map[string]string{
		"request-success-rate": skipperRoute + `sum(rate(skipper_response_duration_seconds_bucket{route=~"{{ $route }}",code!~"5..",le="+Inf"}[{{ interval }}])) / sum(rate(skipper_response_duration_seconds_bucket{route=~"{{ $route }}",le="+Inf"}[{{ interval }}])) * 100`,
		"request-duration":     skipperRoute + `sum(rate(skipper_serve_route_duration_seconds_sum{route=~"{{ $route }}"}[{{ interval }}])) / sum(rate(skipper_serve_route_duration_seconds_count{route=~"{{ $route }}"}[{{ interval }}])) * 1000`,
	}, flux: "Flagger selects the routes of the -canary Ingress it creates, towards its -canary Service; with Flux the workload is served by its own Ingress {{ ingress }} and Service {{ service }}, so the query selects the routes kube(ew)?_NAMESPACE__INGRESS__…__SERVICE"},
	// APISIX (apisix-ingress-controller) names a route NAMESPACE_APISIXROUTE_RULE.
	"apisix": {queries: map[string]string{
		"request-success-rate": `sum(rate(apisix_http_status{route=~"{{ namespace }}_{{ route }}_.+",code!~"5.."}[{{ interval }}])) / sum(rate(apisix_http_status{route=~"{{ namespace }}_{{ route }}_.+"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(apisix_http_latency_bucket{type=~"request",route=~"{{ namespace }}_{{ route }}_.+"}[{{ interval }}])) by (le))`,
	}, flux: "Flagger selects the routes of the -canary ApisixRoute it creates ({{ namespace }}_{{ route }}-{{ target }}-canary_RULE); with Flux the workload is served by its own ApisixRoute, so the query selects route {{ namespace }}_{{ route }}_RULE"},
	// Open Service Mesh: the destination Deployment (Flagger's query as is).
	"osm": {queries: map[string]string{
		"request-success-rate": `sum(rate(osm_request_total{destination_namespace="{{ namespace }}",destination_kind="Deployment",destination_name="{{ target }}",response_code!~"5.*"}[{{ interval }}])) / sum(rate(osm_request_total{destination_namespace="{{ namespace }}",destination_kind="Deployment",destination_name="{{ target }}"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(osm_request_duration_ms_bucket{destination_namespace="{{ namespace }}",destination_kind="Deployment",destination_name="{{ target }}"}[{{ interval }}])) by (le))`,
	}},
}

// skipperRoute is Flagger's Skipper route pattern without the "_canary" suffixes of its own
// Ingress and Service.
const skipperRoute = `{{- $route := printf "kube(ew)?_%s__%s__.*__%s(_[0-9]+)?" namespace ingress service -}}`

var nonWord = regexp.MustCompile(`\W`)

func skipperName(s string) string { return nonWord.ReplaceAllString(s, "_") }

// resolveProvider maps spec.provider to the observer Flagger picks for it
// (pkg/metrics/observers/factory.go): appmesh and gloo by prefix (appmesh:v1beta2), the others
// by name, anything else Istio's (Flagger's default branch, and its default -mesh-provider when
// spec.provider is not set). Flagger has no Gateway API observer: gatewayapi, gatewayapi:v1beta1
// and gatewayapi:v1 get Istio's queries, which the returned note says. A provider Flagger does
// not know is refused rather than silently read as Istio (a misspelt provider is more likely
// than an Istio mesh behind it).
func resolveProvider(provider string) (key, note string, ok bool) {
	switch {
	case provider == "":
		return "istio", "", true
	case strings.HasPrefix(provider, "appmesh"):
		return "appmesh", "", true
	case strings.HasPrefix(provider, "gloo"):
		return "gloo", "", true
	case provider == "gatewayapi" || strings.HasPrefix(provider, "gatewayapi:"):
		return "istio", "Flagger has no Gateway API observer: its built-in queries for " + provider + " are its default, Istio's (istio_requests_total); with another Gateway API implementation give MetricTemplates, as Flagger's Gateway API guide does", true
	}
	if _, ok := providerBuiltins[provider]; ok {
		return provider, "", true
	}
	return "", "", false
}

// ProviderBuiltins lists the spec.provider values whose built-in queries Flightline computes
// (besides the prefixed forms: appmesh:v1beta2, gloo:…, gatewayapi:v1beta1, gatewayapi:v1).
func ProviderBuiltins() []string {
	out := []string{"gatewayapi"}
	for k := range providerBuiltins {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// k8sName is a Kubernetes object name (an RFC 1123 subdomain).
var k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// noteOnce adds a note unless the same one is there (a provider's note for each of its metrics).
func (p *parser) noteOnce(c *Config, field string, st NoteStatus, format string, args ...any) {
	n := Note{Field: field, Status: st, Detail: fmt.Sprintf(format, args...)}
	for _, have := range c.Notes {
		if have == n {
			return
		}
	}
	c.Notes = append(c.Notes, n)
}
