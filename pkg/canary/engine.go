package canary

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics"
)

// Decision is the outcome of an analysis.
type Decision string

// Decisions. The zero value means the analysis is still running.
const (
	Running      Decision = ""
	Success      Decision = "success"
	Rollback     Decision = "rollback"
	Inconclusive Decision = "inconclusive"
)

// Verdict is what one check, or one tick, counts as.
type Verdict string

// Verdicts. Ignored applies to checks only (a tick whose checks are all ignored is inconclusive).
const (
	Pass       Verdict = "pass"
	Fail       Verdict = "fail"
	Indecisive Verdict = "inconclusive"
	Ignored    Verdict = "ignored"
)

// Outcome is what a query gave: a value, no data, or an error.
type Outcome string

// Outcomes of a query.
const (
	GotValue  Outcome = "value"
	GotNoData Outcome = "no-data"
	GotError  Outcome = "error"
	// GotUnreachable: no answer came back (connection refused, DNS, timeout). Never a verdict
	// on the release: the check is inconclusive.
	GotUnreachable Outcome = "unreachable"
)

// Float is a float64 that survives JSON when infinite ("+Inf", "-Inf"; NaN never reaches it:
// a NaN query result is no data).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("reading number %q: %w", s, err)
		}
		*f = Float(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Observation is the result of one query.
type Observation struct {
	Outcome Outcome `json:"outcome"`
	Value   Float   `json:"value"`
	Detail  string  `json:"detail,omitempty"` // why there was no data, or the error (one line, bounded)
	// Series is how many series the answer had when more than one (Value is the last one's, as Flagger reads it).
	Series int `json:"series,omitempty"`
}

// Value is an observation of v. A NaN v is recorded as no data.
func Value(v float64) Observation {
	if math.IsNaN(v) {
		return NoData("the value is NaN")
	}
	return Observation{Outcome: GotValue, Value: Float(v)}
}

// NoData is an observation of nothing (no series, NaN).
func NoData(detail string) Observation { return Observation{Outcome: GotNoData, Detail: Clean(detail)} }

// Failed is an observation of a query that Prometheus answered with an error.
func Failed(err error) Observation { return Observation{Outcome: GotError, Detail: Clean(err.Error())} }

// Unreachable is an observation of a query that got no answer at all.
func Unreachable(err error) Observation {
	return Observation{Outcome: GotUnreachable, Detail: Clean(err.Error())}
}

// Sample is what the caller observed for one metric in one tick: the metric's query and, when
// the metric has a minRequests guard, its requests query.
type Sample struct {
	Metric   string       `json:"metric"`
	Result   Observation  `json:"result"`
	Requests *Observation `json:"requests,omitempty"`
}

// Check is one metric's judgement in one tick.
type Check struct {
	Sample
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Verdict Verdict  `json:"verdict"`
	Reason  string   `json:"reason"`
}

// Tick is one round of checks: one of Flagger's analysis checks.
type Tick struct {
	N           int       `json:"n"` // 1-based
	At          time.Time `json:"at"`
	Checks      []Check   `json:"checks"`
	Verdict     Verdict   `json:"verdict"`
	FailedTotal int       `json:"failedTotal"` // failed ticks so far, this one included (Flagger's failedChecks)
	Consecutive int       `json:"consecutive"` // failed ticks in a row ending here
	Passed      int       `json:"passed"`      // passing ticks so far: the steps advanced towards the promotion point
	// Unreachable counts the ticks in a row, ending here, on which Prometheus could not be reached.
	Unreachable int `json:"unreachable,omitempty"`
	// Kind is empty for a check; "pre-rollout" for the pre-rollout step, "rollback" for a
	// rollback webhook's 2xx (ticks without metric checks).
	Kind string `json:"kind,omitempty"`
	// Hooks are the webhooks called for this tick, in order, with their answers.
	Hooks []HookCall `json:"hooks,omitempty"`
}

// ErrFinished is returned by Engine.Observe once a decision has been taken.
var ErrFinished = errors.New("the analysis has already decided")

// Engine applies a Config's counting rules to observations. It does no I/O and reads no clock:
// the caller supplies each tick's time and observations (see the package documentation for the
// counting semantics).
type Engine struct {
	cfg    *Config
	report *Report
	gate   promotionGate // the confirm-promotion hooks' state
}

// NewEngine starts an analysis of cfg.
func NewEngine(cfg *Config) *Engine {
	return &Engine{cfg: cfg, report: &Report{Version: ReportVersion, Config: *cfg, DryRun: cfg.DryRun}}
}

// Decision is the decision so far (Running until there is one).
func (e *Engine) Decision() Decision { return e.report.Decision }

// Report is the record of the analysis so far; the engine keeps writing to it.
func (e *Engine) Report() *Report { return e.report }

// Observe judges one tick taken at time at. samples must hold one Sample per configured metric
// (any order). It returns the judged tick; the decision, if this tick took one, is in Decision.
func (e *Engine) Observe(at time.Time, samples []Sample) (Tick, error) {
	return e.ObserveHooks(at, samples, nil)
}

// ObserveHooks is Observe with the webhooks called for the tick before its checks: a failed
// rollout hook fails the check whatever the metrics say, as in Flagger. At the promotion point
// with confirm-promotion hooks, the decision waits for Confirm (ConfirmDue).
func (e *Engine) ObserveHooks(at time.Time, samples []Sample, hooks []HookCall) (Tick, error) {
	r := e.report
	if r.Decision != Running {
		return Tick{}, ErrFinished
	}
	byName := map[string]Sample{}
	for _, s := range samples {
		if _, dup := byName[s.Metric]; dup {
			return Tick{}, fmt.Errorf("tick %d: metric %q observed twice", len(r.Ticks)+1, s.Metric)
		}
		byName[s.Metric] = s
	}
	t := Tick{N: len(r.Ticks) + 1, At: at, Hooks: hooks}
	if n := len(r.Ticks); n > 0 && at.Before(r.Ticks[n-1].At) {
		return Tick{}, fmt.Errorf("tick %d at %s is before tick %d at %s: ticks must be in time order", t.N, at.Format(time.RFC3339), n, r.Ticks[n-1].At.Format(time.RFC3339))
	}
	var fails, inconclusive, passes, unreachable int
	for _, m := range e.cfg.Metrics {
		s, ok := byName[m.Name]
		if !ok {
			return Tick{}, fmt.Errorf("tick %d: no observation for metric %q", t.N, m.Name)
		}
		delete(byName, m.Name)
		c := judge(m, s)
		switch c.Verdict {
		case Fail:
			fails++
		case Indecisive:
			inconclusive++
			if s.Result.Outcome == GotUnreachable || (s.Requests != nil && s.Requests.Outcome == GotUnreachable) {
				unreachable++
			}
		case Pass:
			passes++
		}
		t.Checks = append(t.Checks, c)
	}
	for name := range byName {
		return Tick{}, fmt.Errorf("tick %d: observation for unknown metric %q; metrics: %s", t.N, name, strings.Join(metricNames(e.cfg), ", "))
	}
	prev := Tick{}
	if len(r.Ticks) > 0 {
		prev = r.Ticks[len(r.Ticks)-1]
	}
	t.FailedTotal, t.Consecutive, t.Passed = prev.FailedTotal, prev.Consecutive, prev.Passed
	switch {
	case fails > 0 || failedHook(hooks, HookRollout) != nil:
		// A failed check does not advance (Flagger counts it in failedChecks and stays put).
		t.Verdict = Fail
		t.FailedTotal++
		t.Consecutive++
	case unreachable > 0:
		t.Verdict = Indecisive // no answer: neither a step nor a failure
		t.Unreachable = prev.Unreachable + 1
	case inconclusive > 0 || (passes == 0 && len(e.cfg.Metrics) > 0):
		t.Verdict = Indecisive // neither extends nor breaks a streak of failures
	default:
		t.Verdict = Pass
		t.Passed++
		t.Consecutive = 0
	}
	return e.conclude(at, t, ""), nil
}

// conclude records t and applies the rules that end a run: rollback (the threshold, the
// consecutive limit, or why: a rollback webhook's answer), the promotion point, maxDuration.
func (e *Engine) conclude(at time.Time, t Tick, why string) Tick {
	r := e.report
	r.Ticks = append(r.Ticks, t)
	switch {
	case why != "":
	case t.FailedTotal >= e.cfg.Threshold:
		why = fmt.Sprintf("%d failed checks reached the threshold of %d", t.FailedTotal, e.cfg.Threshold)
	case e.cfg.MaxConsecutiveFailures > 0 && t.Consecutive >= e.cfg.MaxConsecutiveFailures:
		why = fmt.Sprintf("%d failed checks in a row reached maxConsecutiveFailures %d", t.Consecutive, e.cfg.MaxConsecutiveFailures)
	}
	if why != "" && r.WouldRollbackAt == nil {
		at := at
		r.WouldRollbackAt = &at
		r.RollbackReason = why
		r.FailedChecks = failedChecks(e.cfg, r.Ticks)
		if !e.cfg.DryRun {
			e.decide(at, Rollback, why)
			return t
		}
	}
	if e.gated(at, t) {
		return t // the confirm-promotion hooks decide (Confirm), or their approval did
	}
	switch {
	case t.Unreachable >= e.cfg.Threshold:
		r.Unreachable = true
		e.decide(at, Inconclusive, fmt.Sprintf("Prometheus could not be reached for %d checks in a row (threshold %d): nothing was judged and nothing is reverted; last error: %s",
			t.Unreachable, e.cfg.Threshold, lastUnreachable(t)))
	case t.Passed >= e.cfg.PassesNeeded && t.Kind == "" && len(e.cfg.calledHooks(HookConfirmPromotion)) == 0:
		e.finish(at)
	case at.Sub(e.start()) >= e.cfg.MaxDuration && r.WouldRollbackAt != nil:
		e.finish(at) // a dry run that met the rollback rule: it would have rolled back
	case at.Sub(e.start()) >= e.cfg.MaxDuration && r.WaitingPromotion:
		e.decide(at, Inconclusive, e.gate.timeout(e.cfg.MaxDuration))
	case at.Sub(e.start()) >= e.cfg.MaxDuration:
		e.decide(at, Inconclusive, fmt.Sprintf("maximum run time %s reached with %d of the %d passing checks that reach the promotion point (%d failed, threshold %d; %d inconclusive)",
			e.cfg.MaxDuration, t.Passed, e.cfg.PassesNeeded, t.FailedTotal, e.cfg.Threshold, countVerdict(r.Ticks, Indecisive)))
	}
	return t
}

// start is when the run began: the readiness time, or one interval before the first check.
func (e *Engine) start() time.Time {
	if !e.report.ReadyAt.IsZero() {
		return e.report.ReadyAt
	}
	if len(e.report.Ticks) > 0 {
		return e.report.Ticks[0].At.Add(-e.cfg.Interval)
	}
	return time.Time{}
}

func countVerdict(ticks []Tick, v Verdict) int {
	n := 0
	for _, t := range ticks {
		if t.Verdict == v {
			n++
		}
	}
	return n
}

func lastUnreachable(t Tick) string {
	for _, c := range t.Checks {
		if c.Result.Outcome == GotUnreachable {
			return c.Result.Detail
		}
		if c.Requests != nil && c.Requests.Outcome == GotUnreachable {
			return c.Requests.Detail
		}
	}
	return "unknown"
}

// Skip ends the analysis at once as Flagger does with spec.skipAnalysis: a success, with no check.
func (e *Engine) Skip(at time.Time) {
	if e.report.Decision == Running {
		e.decide(at, Success, "spec.skipAnalysis is true: Flagger promotes without analysing, so no check ran")
	}
}

// Abort ends a running analysis as inconclusive (the new version never became ready, the run
// was cancelled). It does nothing once there is a decision.
func (e *Engine) Abort(at time.Time, reason string) {
	if e.report.Decision == Running {
		e.report.Aborted = true
		e.decide(at, Inconclusive, reason)
	}
}

// finish decides at the promotion point: Flagger promotes; a dry run that met the rollback
// rule says it would have rolled back; with minPassedRatio (ours), a run with too few passes is
// inconclusive.
func (e *Engine) finish(at time.Time) {
	r := e.report
	last := r.Ticks[len(r.Ticks)-1]
	n := len(r.Ticks)
	switch {
	case r.WouldRollbackAt != nil: // dry run: the run went on to the end
		e.decide(at, Rollback, fmt.Sprintf("dry run: would have rolled back at %s (%s)", r.WouldRollbackAt.UTC().Format(time.RFC3339), r.RollbackReason))
	case e.cfg.MinPassedRatio > 0 && float64(last.Passed) < e.cfg.MinPassedRatio*float64(n):
		e.decide(at, Inconclusive, fmt.Sprintf("the promotion point was reached with %d of %d checks passed, below minPassedRatio %g; the others failed or were inconclusive", last.Passed, n, e.cfg.MinPassedRatio))
	default:
		e.decide(at, Success, fmt.Sprintf("%d passing checks reached the promotion point (%s); %d of %d checks failed (threshold %d)",
			last.Passed, e.cfg.strategyText(), last.FailedTotal, n, e.cfg.Threshold))
	}
}

// strategyText says how Flagger would run this analysis.
func (c *Config) strategyText() string {
	switch c.Strategy {
	case BlueGreen:
		return fmt.Sprintf("blue/green, iterations %d: Flagger counts %d iterations and one more check before it promotes", c.PassesNeeded-1, c.PassesNeeded-1)
	case ABTesting:
		return fmt.Sprintf("A/B testing, iterations %d", c.PassesNeeded)
	}
	var b strings.Builder
	b.WriteString("canary")
	if len(c.StepWeights) > 0 {
		fmt.Fprintf(&b, ", stepWeights %v", c.StepWeights)
	}
	if c.StepWeight > 0 {
		fmt.Fprintf(&b, ", stepWeight %d", c.StepWeight)
	}
	fmt.Fprintf(&b, " up to maxWeight %d", maxWeightOf(c.StepWeight, c.StepWeights, c.MaxWeight))
	if c.Mirror {
		b.WriteString(", one mirrored check first")
	}
	return b.String()
}

// StrategyText says how Flagger would run this analysis and how many passing checks it needs.
func (c *Config) StrategyText() string {
	return fmt.Sprintf("%s: %d passing checks", c.strategyText(), c.PassesNeeded)
}

func (e *Engine) decide(at time.Time, d Decision, reason string) {
	e.report.Decision = d
	e.report.Reason = reason
	e.report.DecidedAt = at
}

// judge applies a metric's policies to what was observed.
func judge(m Metric, s Sample) Check {
	c := Check{Sample: s, Min: m.Min, Max: m.Max}
	set := func(v Verdict, format string, args ...any) Check {
		c.Verdict, c.Reason = v, fmt.Sprintf(format, args...)
		return c
	}
	onError := func(what string, o Observation) Check {
		if o.Outcome == GotUnreachable {
			return set(Indecisive, "%s got no answer (Prometheus unreachable, counted as neither pass nor failure): %s", what, o.Detail)
		}
		if m.OnError == ErrorIgnore {
			return set(Ignored, "%s failed, ignored (onError: ignore): %s", what, o.Detail)
		}
		return set(Fail, "%s failed (onError: fail): %s", what, o.Detail)
	}
	if m.MinRequests > 0 {
		if s.Requests == nil {
			return set(Indecisive, "no requests observation for the minRequests guard")
		}
		switch s.Requests.Outcome {
		case GotError, GotUnreachable:
			return onError("requests query", *s.Requests)
		case GotNoData:
			return set(Indecisive, "no traffic (requests query returned no data), below minRequests %g", m.MinRequests)
		}
		if n := float64(s.Requests.Value); n < m.MinRequests {
			return set(Indecisive, "%g requests in the window, below minRequests %g", n, m.MinRequests)
		}
	}
	switch s.Result.Outcome {
	case GotError, GotUnreachable:
		return onError("query", s.Result)
	case GotNoData:
		switch m.OnNoData {
		case NoDataPass:
			return set(Pass, "no data, counted as a pass (onNoData: pass)")
		case NoDataIgnore:
			return set(Ignored, "no data, ignored (onNoData: ignore)")
		}
		return set(Fail, "no data, counted as a failure (onNoData: fail)")
	}
	v := float64(s.Result.Value)
	lo, hi := m.Min, m.Max
	note := ""
	if s.Result.Series > 1 {
		note = fmt.Sprintf(" (last of %d series, as Flagger reads them)", s.Result.Series)
	}
	if m.WholeMilliseconds {
		// Flagger compares its built-in request duration in whole milliseconds, value and bounds.
		if !math.IsInf(v, 0) && v != math.Trunc(v) {
			note += fmt.Sprintf(" (%s, whole ms as Flagger compares)", fmtValue(v, m.Unit))
			v = math.Trunc(v)
		}
		lo, hi = truncated(lo), truncated(hi)
	}
	if lo != nil && v < *lo {
		return set(Fail, "%s < min %s%s", fmtValue(v, m.Unit), fmtValue(*lo, m.Unit), note)
	}
	if hi != nil && v > *hi {
		return set(Fail, "%s > max %s%s", fmtValue(v, m.Unit), fmtValue(*hi, m.Unit), note)
	}
	return set(Pass, "%s within %s%s", fmtValue(v, m.Unit), rangeString(lo, hi, m.Unit), note)
}

func truncated(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := math.Trunc(*f)
	return &v
}

func fmtValue(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !math.IsInf(v, 0) && math.Abs(v) < 1e9 {
		s = strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	}
	if unit == "" {
		return s
	}
	if unit == "%" {
		return s + "%"
	}
	return s + " " + unit
}

func rangeString(min, max *float64, unit string) string {
	switch {
	case min != nil && max != nil:
		return "[" + fmtValue(*min, unit) + ", " + fmtValue(*max, unit) + "]"
	case min != nil:
		return "min " + fmtValue(*min, unit)
	case max != nil:
		return "max " + fmtValue(*max, unit)
	}
	return "any"
}

func metricNames(c *Config) []string {
	out := make([]string, len(c.Metrics))
	for i, m := range c.Metrics {
		out[i] = m.Name
	}
	return out
}

// failedChecks names each metric that failed in any tick, with its latest failure. The lines
// carry no comma, so that an input split on commas and newlines (the rollback action's checks)
// keeps one item per check, unless a reason quotes an error that has one.
func failedChecks(cfg *Config, ticks []Tick) []string {
	var out []string
	for _, m := range cfg.Metrics {
		n, last := 0, ""
		for _, t := range ticks {
			for _, c := range t.Checks {
				if c.Metric == m.Name && c.Verdict == Fail {
					n++
					last = c.Reason
				}
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s: failed %d of %d checks; last: %s", m.Name, n, len(ticks), last))
		}
	}
	return append(out, hookFailures(ticks)...)
}

// String is the tick's log line: each value against its threshold.
func (t Tick) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tick %d %s %s:", t.N, t.At.UTC().Format("15:04:05"), strings.ToUpper(string(t.Verdict)))
	if t.Kind != "" {
		fmt.Fprintf(&b, " %s step, no metric checks;", t.Kind)
	}
	if len(t.Hooks) > 0 {
		fmt.Fprintf(&b, " webhooks: %s;", hooksText(t.Hooks))
	}
	for i, c := range t.Checks {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s %s (%s)", c.Metric, c.Verdict, c.Reason)
	}
	fmt.Fprintf(&b, " [failed %d, in a row %d]", t.FailedTotal, t.Consecutive)
	return b.String()
}

// maxDetail bounds a message taken from Prometheus (or any outside source) before it reaches a
// log line, the summary, an output or a PR body.
const maxDetail = 300

// Clean makes text from outside (Prometheus error texts, values) safe to print anywhere: one
// line, control characters removed, URL userinfo redacted, bounded to 300 characters, and
// unable to start a workflow command (::) or open or close an HTML comment (a marker).
func Clean(s string) string {
	s = metrics.RedactURLs(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	for _, rep := range [][2]string{{"::", ": :"}, {"<!--", "<! --"}, {"-->", "-- >"}, {"%0A", "%0a "}, {"%0D", "%0d "}} {
		for strings.Contains(out, rep[0]) {
			out = strings.ReplaceAll(out, rep[0], rep[1])
		}
	}
	if r := []rune(out); len(r) > maxDetail {
		out = string(r[:maxDetail-1]) + "…"
	}
	return out
}
