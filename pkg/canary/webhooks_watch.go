package canary

// This file: where the watch calls each webhook, and how their answers decide (the engine's
// side; webhooks.go has the types, the configuration and the HTTP calls).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// hookRunner calls a Config's webhooks at the points of a watch that the mapping gives them.
// A nil *hookRunner calls nothing.
type hookRunner struct {
	cfg     *Config
	caller  *WebhookCaller
	preDone bool
	report  *Report // where event answers are recorded
}

func newHookRunner(cfg *Config, caller *WebhookCaller, r *Report) *hookRunner {
	if len(cfg.calledHooks()) == 0 {
		return nil
	}
	if caller == nil {
		caller = NewWebhookCaller()
	}
	return &hookRunner{cfg: cfg, caller: caller, preDone: len(cfg.calledHooks(HookPreRollout)) == 0, report: r}
}

// reachable checks every called hook's host before the watch (ErrCannotWatch otherwise).
func (h *hookRunner) reachable(ctx context.Context) error {
	if h == nil {
		return nil
	}
	for _, w := range h.cfg.calledHooks() {
		if err := h.caller.Reachable(ctx, w); err != nil {
			return fmt.Errorf("%w: %w (webhooks work from runners that can reach them, such as self-hosted runners inside the cluster's network; nothing was judged or reverted)", ErrCannotWatch, err)
		}
	}
	return nil
}

// prePending says whether the next tick is the pre-rollout step.
func (h *hookRunner) prePending() bool { return h != nil && !h.preDone }

// run calls the hooks of typ in order, as Flagger does: it stops at the first failure, or for
// rollback hooks at the first success.
func (h *hookRunner) run(ctx context.Context, typ, phase string) []HookCall {
	if h == nil {
		return nil
	}
	var out []HookCall
	for _, w := range h.cfg.calledHooks(typ) {
		p := WebhookPayload{Name: h.cfg.Name, Namespace: h.cfg.Namespace, Phase: phase, Checksum: h.cfg.Checksum(), Metadata: w.Metadata}
		c := h.caller.Call(ctx, w, p)
		out = append(out, c)
		if c.OK == (typ == HookRollback) || ctx.Err() != nil {
			break
		}
	}
	return out
}

// before runs what comes before a tick's checks: the rollback hooks (a 2xx rolls back now) and,
// until they pass, the pre-rollout hooks (then the tick is the pre-rollout step). done says the
// tick was judged; otherwise calls are the rollback hooks' answers, to record with the checks.
func (h *hookRunner) before(ctx context.Context, e *Engine, at time.Time) (calls []HookCall, t Tick, done bool, err error) {
	if h == nil {
		return nil, Tick{}, false, nil
	}
	calls = h.run(ctx, HookRollback, e.phase())
	if ctx.Err() != nil {
		return nil, Tick{}, false, ctx.Err()
	}
	if n := len(calls); n > 0 && calls[n-1].OK {
		t, err = e.RollbackHook(at, calls)
		return nil, t, true, err
	}
	if h.preDone {
		return calls, Tick{}, false, nil
	}
	calls = append(calls, h.run(ctx, HookPreRollout, PhaseProgressing)...)
	if ctx.Err() != nil {
		return nil, Tick{}, false, ctx.Err()
	}
	t, err = e.PreRollout(at, calls)
	h.preDone = err == nil && t.Verdict == Pass
	return nil, t, true, err
}

// after calls the post-rollout hooks once, with the final phase, when the decision is a verdict
// on the release (success or rollback, not in a dry run); a failure is recorded, not decided on.
// Then the event hooks hear the decision.
func (h *hookRunner) after(ctx context.Context, e *Engine, at time.Time) {
	r := e.report
	if h == nil || r.Aborted || ctx.Err() != nil {
		return
	}
	phase := map[Decision]string{Success: PhaseSucceeded, Rollback: PhaseFailed}[r.Decision]
	if phase != "" && !r.DryRun {
		r.PostRollout = h.run(ctx, HookPostRollout, phase)
	} else {
		phase = e.phase()
	}
	typ := eventWarning
	if r.Decision == Success {
		typ = eventNormal
	}
	msg := fmt.Sprintf("Canary analysis %s: %s", r.Decision, r.Reason)
	if r.DryRun {
		msg = "Dry run, nothing is reverted. " + msg
	}
	h.event(ctx, phase, at, typ, msg)
}

// Kubernetes event types, as Flagger sends them in an event hook's metadata.eventType.
const (
	eventNormal  = "Normal"
	eventWarning = "Warning"
)

// event sends an event to every event hook, as Flagger sends its Kubernetes events: metadata
// eventMessage, eventType and timestamp (milliseconds since the epoch), then the hook's own
// metadata for other keys. Failures are recorded in Report.Events, never decided on.
func (h *hookRunner) event(ctx context.Context, phase string, at time.Time, typ, msg string) {
	if h == nil || ctx.Err() != nil {
		return
	}
	for _, w := range h.cfg.calledHooks(HookEvent) {
		md := map[string]string{"eventMessage": msg, "eventType": typ, "timestamp": strconv.FormatInt(at.UnixMilli(), 10)}
		for k, v := range w.Metadata {
			if _, ok := md[k]; !ok {
				md[k] = v
			}
		}
		p := WebhookPayload{Name: h.cfg.Name, Namespace: h.cfg.Namespace, Phase: phase, Checksum: h.cfg.Checksum(), Metadata: md}
		h.report.Events = append(h.report.Events, h.caller.Call(ctx, w, p))
	}
}

// tickEvent sends a tick's log line as an event: Normal when it passed, Warning otherwise.
func (h *hookRunner) tickEvent(ctx context.Context, e *Engine, t Tick) {
	if h == nil {
		return
	}
	typ := eventWarning
	if t.Verdict == Pass {
		typ = eventNormal
	}
	h.event(ctx, e.phase(), t.At, typ, t.String())
}

// phase is the canary phase Flagger would be in: WaitingPromotion once a confirm-promotion hook
// held the promotion, Progressing before.
func (e *Engine) phase() string {
	if e.report.WaitingPromotion {
		return PhaseWaitingPromotion
	}
	return PhaseProgressing
}

// promotionGate is where the confirm-promotion hooks stand, counted as Flagger's scheduler
// counts them: progressive, asked after every passing check from the promotion point on; A/B,
// the same, but after a refusal while already waiting Flagger steps an iteration back, so the
// next passing check only counts it again and is not asked; blue/green, asked one check before
// the promotion point (before Flagger's extra check) with the same step back, and an approval
// promotes at the next passing check.
type promotionGate struct {
	due      bool      // the last tick asks: Confirm must be called
	skip     bool      // the next passing check at the point is not asked (an iteration stepped back)
	approved bool      // blue/green: approved, the next passing check promotes
	refused  *HookCall // the last refusal
}

// gated applies the gate to a concluded tick; true when it decided what happens next.
func (e *Engine) gated(at time.Time, t Tick) bool {
	if t.Kind != "" || t.Verdict != Pass || len(e.cfg.calledHooks(HookConfirmPromotion)) == 0 {
		return false
	}
	g := &e.gate
	if g.approved {
		e.finish(at)
		return true
	}
	point := e.cfg.PassesNeeded
	if e.cfg.Strategy == BlueGreen {
		point--
	}
	switch {
	case t.Passed < point:
		return false
	case g.skip:
		g.skip = false
		return false
	}
	g.due = true
	return true
}

func (g *promotionGate) timeout(maxDuration time.Duration) string {
	last := ""
	if g.refused != nil {
		last = fmt.Sprintf(" %q (last: %s)", g.refused.Name, g.refused)
	}
	return fmt.Sprintf("maximum run time %s reached while the promotion waited for confirm-promotion webhook%s; nothing is reverted", maxDuration, last)
}

// ConfirmDue says whether the last tick reached the point where the confirm-promotion hooks
// must answer (Confirm) before the run goes on.
func (e *Engine) ConfirmDue() bool { return e.gate.due }

// Confirm records the confirm-promotion hooks' answers for the last tick. All 200-202: the
// decision is success (blue/green: at the next passing check, as Flagger's extra check);
// otherwise the promotion waits and a later passing check asks again, until maxDuration makes
// the run inconclusive.
func (e *Engine) Confirm(at time.Time, calls []HookCall) (Tick, error) {
	r := e.report
	g := &e.gate
	if !g.due || r.Decision != Running {
		return Tick{}, errors.New("no promotion point awaits confirmation")
	}
	g.due = false
	t := &r.Ticks[len(r.Ticks)-1]
	t.Hooks = append(t.Hooks, calls...)
	var refused *HookCall
	for i := range calls {
		if !calls[i].OK {
			refused = &calls[i]
			break
		}
	}
	switch {
	case refused == nil && e.cfg.Strategy == BlueGreen:
		g.approved = true
	case refused == nil:
		e.finish(at)
	default:
		c := *refused
		g.refused = &c
		g.skip = r.WaitingPromotion && e.cfg.Strategy != Progressive
		r.WaitingPromotion = true
	}
	if r.Decision == Running && at.Sub(e.start()) >= e.cfg.MaxDuration {
		e.decide(at, Inconclusive, g.timeout(e.cfg.MaxDuration))
	}
	return *t, nil
}

// PreRollout judges the pre-rollout step at time at: any failed pre-rollout hook makes it a
// failed check (counted towards threshold); passing, it neither advances nor fails, and the
// checks begin one interval later.
func (e *Engine) PreRollout(at time.Time, calls []HookCall) (Tick, error) {
	t, err := e.hookTick(at, "pre-rollout", calls)
	if err != nil {
		return t, err
	}
	t.Verdict = Pass
	t.Consecutive = 0
	for _, c := range calls {
		if c.Type == HookPreRollout && !c.OK {
			t.Verdict = Fail
			t.FailedTotal++
			t.Consecutive++
			break
		}
	}
	return e.conclude(at, t, ""), nil
}

// RollbackHook records that a rollback hook answered 2xx at time at: the decision is rollback
// (in a dry run, "would have rolled back"), without counting a failed check, as in Flagger.
func (e *Engine) RollbackHook(at time.Time, calls []HookCall) (Tick, error) {
	t, err := e.hookTick(at, "rollback", calls)
	if err != nil {
		return t, err
	}
	t.Verdict = Fail
	why := "a rollback webhook asked for it"
	if n := len(calls); n > 0 {
		why = fmt.Sprintf("rollback webhook %q answered HTTP %d", calls[n-1].Name, calls[n-1].Status)
	}
	return e.conclude(at, t, why), nil
}

// hookTick starts a tick without checks (the pre-rollout step, a rollback hook's answer).
func (e *Engine) hookTick(at time.Time, kind string, calls []HookCall) (Tick, error) {
	r := e.report
	if r.Decision != Running {
		return Tick{}, ErrFinished
	}
	t := Tick{N: len(r.Ticks) + 1, At: at, Kind: kind, Hooks: calls}
	if n := len(r.Ticks); n > 0 {
		prev := r.Ticks[n-1]
		if at.Before(prev.At) {
			return Tick{}, fmt.Errorf("tick %d at %s is before tick %d at %s: ticks must be in time order", t.N, at.Format(time.RFC3339), n, prev.At.Format(time.RFC3339))
		}
		t.FailedTotal, t.Consecutive, t.Passed = prev.FailedTotal, prev.Consecutive, prev.Passed
	}
	return t, nil
}

// failedHook is the first hook of typ that failed among calls, or nil.
func failedHook(calls []HookCall, typ string) *HookCall {
	for i := range calls {
		if calls[i].Type == typ && !calls[i].OK {
			return &calls[i]
		}
	}
	return nil
}

// hookFailures names each webhook that failed a check (or rolled back), with its latest answer.
func hookFailures(ticks []Tick) []string {
	type agg struct {
		n    int
		last HookCall
	}
	var order []string
	seen := map[string]*agg{}
	for _, t := range ticks {
		for _, c := range t.Hooks {
			counts := (c.Type == HookRollback && c.OK && t.Kind == "rollback") ||
				((c.Type == HookPreRollout || c.Type == HookRollout) && !c.OK)
			if !counts {
				continue
			}
			k := c.Type + " " + c.Name
			if seen[k] == nil {
				seen[k] = &agg{}
				order = append(order, k)
			}
			seen[k].n++
			seen[k].last = c
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		a := seen[k]
		if a.last.Type == HookRollback {
			out = append(out, fmt.Sprintf("webhook %s: answered HTTP %d (a manual rollback)", a.last.Name, a.last.Status))
			continue
		}
		out = append(out, fmt.Sprintf("webhook %s (%s): failed %d of %d checks; last: %s", a.last.Name, a.last.Type, a.n, len(ticks), a.last))
	}
	return out
}

// replayTick feeds one recorded tick back to an engine (Replay).
func replayTick(e *Engine, t Tick) error {
	var err error
	switch t.Kind {
	case "pre-rollout":
		_, err = e.PreRollout(t.At, t.Hooks)
		return err
	case "rollback":
		_, err = e.RollbackHook(t.At, t.Hooks)
		return err
	}
	samples := make([]Sample, len(t.Checks))
	for i, c := range t.Checks {
		samples[i] = c.Sample
	}
	var before, confirm []HookCall
	for _, c := range t.Hooks {
		if c.Type == HookConfirmPromotion {
			confirm = append(confirm, c)
		} else {
			before = append(before, c)
		}
	}
	if _, err = e.ObserveHooks(t.At, samples, before); err != nil {
		return err
	}
	if e.ConfirmDue() && len(confirm) > 0 {
		_, err = e.Confirm(t.At, confirm)
	}
	return err
}
