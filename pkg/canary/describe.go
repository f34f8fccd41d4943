package canary

import (
	"fmt"
	"strings"
)

// Describe says, in plain text, what the monitor will do with cfg: how Flagger would run it,
// each check with its query and thresholds, the readiness gate, what it does with each webhook,
// and every field that is not acted on as Flagger would (canary-monitor --validate prints it).
func Describe(cfg *Config) string {
	var b strings.Builder
	id := cfg.Name
	if cfg.Namespace != "" {
		id = cfg.Namespace + "/" + cfg.Name
	}
	fmt.Fprintf(&b, "%s %s (%s)\n", cfg.Kind, id, cfg.Source)
	if cfg.SkipAnalysis {
		b.WriteString("spec.skipAnalysis: true — Flagger promotes without analysis: the decision is success, no check runs\n")
	}
	fmt.Fprintf(&b, "run: %s; a check every %s; a failed check does not advance; rollback when failed checks reach threshold %d", cfg.StrategyText(), cfg.Interval, cfg.Threshold)
	if cfg.MaxConsecutiveFailures > 0 {
		fmt.Fprintf(&b, " or %d fail in a row", cfg.MaxConsecutiveFailures)
	}
	fmt.Fprintf(&b, "; at most %s (maxDuration), then inconclusive\n", cfg.MaxDuration)
	if cfg.MinPassedRatio > 0 {
		fmt.Fprintf(&b, "minPassedRatio %g: at the promotion point, fewer passed checks than that share is inconclusive\n", cfg.MinPassedRatio)
	}
	fmt.Fprintf(&b, "Prometheus: %s (timeout %s); before the watch, vector(1) and every query below must answer; unreachable during the watch is inconclusive, %d in a row end it (exit 1, nothing reverted)\n",
		orNone(cfg.Provider.Address), cfg.Provider.Timeout, cfg.Threshold)
	if cfg.ReadyQuery != "" {
		fmt.Fprintf(&b, "readiness: wait up to %s until count(%s) > 0\n", cfg.ReadyTimeout, cfg.ReadyQuery)
	} else {
		b.WriteString("readiness: none (give version, or readyQuery, to wait until the new version serves)\n")
	}
	for _, m := range cfg.Metrics {
		fmt.Fprintf(&b, "metric %s: pass when %s", m.Name, rangeString(m.Min, m.Max, m.Unit))
		if m.WholeMilliseconds {
			b.WriteString(" (whole milliseconds)")
		}
		fmt.Fprintf(&b, "; no data: %s; error: %s; unreachable: inconclusive", m.OnNoData, m.OnError)
		if m.MinRequests > 0 {
			fmt.Fprintf(&b, "; fewer than %g requests in the window: inconclusive (%s)", m.MinRequests, m.RequestsQuery)
		}
		if m.Template != "" {
			fmt.Fprintf(&b, "; from MetricTemplate %s", m.Template)
		}
		fmt.Fprintf(&b, "\n  query: %s\n", strings.Join(strings.Fields(m.Query), " "))
	}
	for _, w := range cfg.Webhooks {
		_, effect, _ := hookType(w.Type)
		fmt.Fprintf(&b, "webhook %q (%s, %s", w.Name, w.Type, w.Endpoint)
		if w.Called {
			fmt.Fprintf(&b, ", timeout %s, retries %d", w.Timeout, w.Retries)
		}
		fmt.Fprintf(&b, "): %s\n", effect)
	}
	if len(cfg.Notes) > 0 {
		b.WriteString("fields not acted on as Flagger would:\n")
		for _, n := range cfg.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func orNone(s string) string {
	if s == "" {
		return "none given"
	}
	return s
}
