// Package canary decides, from metric observations taken tick by tick, whether a rollout
// succeeds, rolls back or is inconclusive, with Flagger's counting and explicit policies.
//
// # Configuration
//
// ParseConfig reads a Flagger Canary (flagger.app/v1beta1) unchanged, or a CanaryMonitor
// (flightline.dev/v1alpha1) with the same spec.analysis. Flagger's fields keep Flagger's meaning:
// interval (default 1m, at least 1s), threshold (default 5), iterations, metrics[] with name, thresholdRange,
// interval (the query window, default 1m), query, templateRef (resolved against MetricTemplate
// documents in the same file) and templateVariables. maxWeight, stepWeight and Flagger's other
// traffic fields are accepted and ignored. The run is iterations × interval, or duration, or
// 10 × interval when neither is given. Template variables: {{ name }}, {{ namespace }},
// {{ target }}, {{ interval }} (the metric's window), {{ selector }} and {{ variables.X }}
// (templateVariables first, then spec.analysis.vars).
//
// Our additions to spec.analysis, with their defaults: provider {address, bearerToken |
// username/password, timeout 30s}; selector (required by the built-ins, also read from
// vars.selector); vars; onNoData fail and onError fail (both also per metric); minRequests 10 (per
// query window, built-ins only unless a metric sets minRequests, with requestsQuery);
// maxConsecutiveFailures 0 (off); readyQuery (none: start at once) and readyTimeout 10m; dryRun
// false. Every duration, and readyTimeout plus the run, must fit GitHub's 6h job limit.
//
// Built-in metrics: request-success-rate (percent of non-5xx http_requests_total),
// request-duration (histogram_quantile of http_request_duration_seconds in ms; p99, or
// metrics[].quantile) and ai-failure-rate (rate of ai_ir_failures_total, "or vector(0)": an
// absent counter is zero).
//
// # Checks
//
// Each tick, every metric gives a value, no data (no series, or NaN) or an error. With a
// minRequests guard the requests query is judged first: an error applies onError, fewer requests
// than minRequests (or none) makes the check inconclusive: an idle service never passes. Then:
// a value outside thresholdRange fails and inside passes; no data follows onNoData (fail, pass,
// ignore); an error follows onError (fail, ignore: there is no "pass on error").
//
// A tick fails if any check fails; otherwise it is inconclusive if any check is inconclusive or
// none passed (all ignored); otherwise it passes.
//
// # Counting
//
// Failed ticks are counted as a running total that nothing resets, and as a streak that a
// passing tick resets and an inconclusive tick leaves as it is. The analysis rolls back at the
// tick where total >= threshold (Flagger's rule: threshold 5 rolls back on the 5th failed tick,
// not after it), or where maxConsecutiveFailures > 0 and streak >= maxConsecutiveFailures.
// Otherwise, after iterations ticks, it succeeds when at least half of the ticks passed, and is
// inconclusive when fewer did. In a dry run the rollback is recorded as "would have rolled back
// at T" and the run goes on to the end; its decision is still rollback.
package canary
