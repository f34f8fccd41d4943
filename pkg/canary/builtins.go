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
