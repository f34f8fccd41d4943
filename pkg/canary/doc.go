// Package canary decides, from metric observations taken check by check, whether a rollout
// succeeds, rolls back or is inconclusive, as Flagger's scheduler decides on the same Canary.
//
// # Configuration
//
// ParseConfig reads a Flagger Canary (flagger.app/v1beta1) unchanged, or a CanaryMonitor
// (flightline.dev/v1alpha1) with the same spec; MetricTemplates come from the same file or from
// WithTemplates, looked up by namespace and name as Flagger looks them up. Every field is acted
// on, mapped, or recorded as a Note (not yet, not applicable, deprecated, differs) that the
// monitor shows. Queries are Go text/template with Flagger's functions (name, namespace,
// target, service, ingress, route, interval, variables) plus version, digest and selector.
//
// Built-in metrics: without a selector, Flagger's queries for spec.provider, one per observer of
// Flagger's (istio by default and for gatewayapi, linkerd, nginx, kubernetes, contour, gloo,
// kuma, appmesh, knative, traefik, skipper, apisix, osm), naming the workload's own Service,
// Ingress or route where Flagger's name its -canary ones; restricted to the watched version
// where the series carry it (Istio's); with a selector, the app's own http_* series and
// ai_ir_failures_total.
//
// # Run length and counting (Flagger's)
//
// The strategy decides how many passing checks reach the promotion point (Config.PassesNeeded):
// progressive (stepWeight / stepWeights up to maxWeight) one per traffic step, plus one with
// mirror; blue/green (iterations) iterations + 1; A/B (iterations and match) iterations;
// spec.provider kubernetes runs blue/green, with 10 iterations when none is set. A passing check
// advances one step; at PassesNeeded the decision is success. A failed check does not advance
// and adds to a running total; at the check where the total reaches threshold (default 1) the
// decision is rollback (Flagger acts on it at its next tick; the engine decides at once).
//
// Each check, every metric gives a value, no data (no series, or NaN), an error answer, or no
// answer at all (Prometheus unreachable). A value outside thresholdRange fails (the built-in
// request-duration in whole milliseconds, as Flagger compares it); no data follows onNoData
// (default fail, as in Flagger); an error answer follows onError (default fail); no answer is
// inconclusive whatever the policies say, and threshold such checks in a row end the run
// inconclusive with Report.Unreachable set. A check fails if any metric fails; otherwise it is
// inconclusive if any metric is inconclusive (or none passed); otherwise it passes.
//
// Our additions, off unless set: minRequests (a requests guard that makes a quiet check
// inconclusive), minPassedRatio (at the promotion point, too few passes is inconclusive),
// maxConsecutiveFailures (rollback after that many failures in a row). maxDuration bounds the
// run (inconclusive when reached). In a dry run the rollback is recorded as "would have rolled
// back at T" and the run goes on to the promotion point or maxDuration; its decision is still
// rollback.
//
// # Monitoring
//
// Monitor proves first that Prometheus answers and every query parses (ErrCannotWatch), waits
// for the readiness query (ErrNotReady), then checks every interval; a late check is evaluated
// when it runs and the next keeps its spacing. Text from Prometheus is made safe by Clean.
//
// # Webhooks
//
// The monitor calls spec.analysis.webhooks with Flagger's payload (WebhookPayload), timeout and
// retries (WebhookCaller), where they make sense once Flux has rolled the version out: rollback
// hooks before every check (a 2xx rolls back), pre-rollout hooks as the first step (a failure is
// a failed check), rollout hooks (load tests) before every check's metrics (a failure fails the
// check), confirm-promotion hooks at the promotion point (success waits for a 2xx, bounded by
// maxDuration), post-rollout hooks once with the final phase, event hooks with each event of the
// watch. confirm-rollout and confirm-traffic-increase hooks are named and never called. A hook
// the runner cannot reach before the watch is ErrCannotWatch. Every answer that decides is
// recorded in its tick (Tick.Hooks), so that Replay reaches the same decision.
package canary
