package canary

import (
	"fmt"
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

// providerBuiltins are Flagger's built-in queries per spec.provider (its observers), used when
// no selector is given: Go templates over the Canary (namespace, target, ingress, interval).
// Flux replaces the pods rather than splitting traffic, so during a rollout old and new pods
// may both be in these series; where the provider's metrics carry the workload's version
// (Istio: destination_version, from the pod's version label) the query is restricted to it
// when a version is given. The others cannot be restricted: the readiness gate waits for the
// new version, and the first windows may still hold the old pods' last requests.
var providerBuiltins = map[string]struct {
	versionLabel string // "" when the provider's metrics carry no version
	queries      map[string]string
	// durationSeconds: the duration query answers seconds (Flagger multiplies by 1000).
	durationSeconds bool
}{
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
	"kubernetes": {durationSeconds: true, queries: map[string]string{
		"request-success-rate": `sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status!~"5.*"}[{{ interval }}])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) * 100`,
		"request-duration":     `histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) by (le)) * 1000`,
	}},
}

// ProviderBuiltins lists the spec.provider values whose built-in queries Flightline computes.
func ProviderBuiltins() []string {
	out := make([]string, 0, len(providerBuiltins))
	for k := range providerBuiltins {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
