package canary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics"
)

// ErrNotReady is returned by Monitor when the readyQuery never selected a series within readyTimeout.
var ErrNotReady = errors.New("the new version never became ready")

// ErrCannotWatch is returned by Monitor when, before the watch, Prometheus does not answer or a
// configured query does not parse: nothing was judged.
var ErrCannotWatch = errors.New("cannot watch")

// ErrUnreachable is returned by Monitor when Prometheus could not be reached for threshold
// checks in a row during the watch (decision inconclusive, nothing judged).
var ErrUnreachable = errors.New("prometheus could not be reached")

// Clock is the time source of Monitor.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

type monitorOptions struct {
	clock     Clock
	onTick    []func(Tick)
	readyPoll time.Duration
	forMetric func(Metric) metrics.Provider
	webhooks  *WebhookCaller
}

// MonitorOption configures Monitor.
type MonitorOption func(*monitorOptions)

// WithClock sets the clock. Default: the system clock.
func WithClock(c Clock) MonitorOption { return func(o *monitorOptions) { o.clock = c } }

// WithTickFunc calls f after every tick (e.g. to log it); several are called in order. Default: none.
func WithTickFunc(f func(Tick)) MonitorOption {
	return func(o *monitorOptions) { o.onTick = append(o.onTick, f) }
}

// WithMetricProvider routes each metric's queries to the provider f returns for it (a nil
// result: the provider given to Monitor), e.g. a template's own Prometheus address. Default:
// every query goes to the provider given to Monitor.
func WithMetricProvider(f func(Metric) metrics.Provider) MonitorOption {
	return func(o *monitorOptions) { o.forMetric = f }
}

// WithWebhookCaller sets how webhooks are called (its HTTP client, retry waits). Default:
// NewWebhookCaller().
func WithWebhookCaller(c *WebhookCaller) MonitorOption {
	return func(o *monitorOptions) { o.webhooks = c }
}

// WithReadyPoll sets how often the readyQuery is asked. Default: the analysis interval, at most 5 s.
func WithReadyPoll(d time.Duration) MonitorOption { return func(o *monitorOptions) { o.readyPoll = d } }

// Monitor runs the analysis of cfg live. First it proves that Prometheus answers (vector(1))
// and that every configured query parses (ErrCannotWatch otherwise); then it waits until
// cfg.ReadyQuery selects at least one series, asked as count(readyQuery) every few seconds
// (none configured: it starts at once); then every interval it queries each metric through p
// and feeds the engine, until a decision. A check that runs late is evaluated when it runs and
// the next keeps its spacing from it: late checks never fire back to back. Queries are
// evaluated at the provider's current time; the clock paces the ticks and stamps them. The
// report is returned in every case; the error is ErrCannotWatch, ErrNotReady, ErrUnreachable
// (each with decision inconclusive), or the context's error when ctx ended first. Webhooks are
// called as the package documentation says (ErrCannotWatch when one cannot be reached before the
// watch).
func Monitor(ctx context.Context, cfg *Config, p metrics.Provider, opts ...MonitorOption) (*Report, error) {
	o := monitorOptions{clock: realClock{}, readyPoll: min(cfg.Interval, 5*time.Second)}
	for _, opt := range opts {
		opt(&o)
	}
	e := NewEngine(cfg)
	r := e.Report()
	r.StartedAt = o.clock.Now()
	r.ReadyAt = r.StartedAt
	if cfg.SkipAnalysis {
		e.Skip(r.StartedAt)
		return r, nil
	}
	route := func(m Metric) metrics.Provider {
		if o.forMetric != nil {
			if mp := o.forMetric(m); mp != nil {
				return mp
			}
		}
		return p
	}
	hooks := newHookRunner(cfg, o.webhooks, r)
	if err := probe(ctx, cfg, p, route); err != nil {
		e.Abort(o.clock.Now(), Clean(err.Error()))
		return r, err
	}
	if err := hooks.reachable(ctx); err != nil {
		e.Abort(o.clock.Now(), Clean(err.Error()))
		return r, err
	}
	if cfg.ReadyQuery != "" {
		if err := waitReady(ctx, cfg, p, o, e, hooks); err != nil {
			return r, err
		}
	}
	emit := func(t Tick) {
		hooks.tickEvent(ctx, e, t)
		for _, f := range o.onTick {
			f(t)
		}
	}
	hooks.event(ctx, e.phase(), o.clock.Now(), eventNormal, fmt.Sprintf("Starting canary analysis for %s.%s", cfg.Target, cfg.Namespace))
	next := r.ReadyAt
	if hooks.prePending() {
		next = next.Add(-cfg.Interval) // the pre-rollout step runs at readiness, as Flagger's first tick
	}
	for e.Decision() == Running {
		next = next.Add(cfg.Interval)
		wait := max(next.Sub(o.clock.Now()), 0)
		select {
		case <-ctx.Done():
			e.Abort(o.clock.Now(), "cancelled before a decision: "+ctx.Err().Error())
			return r, ctx.Err()
		case <-o.clock.After(wait):
		}
		at := o.clock.Now()
		if at.After(next) {
			next = at // late: evaluate now, and keep the spacing from now on
		}
		called, t, done, err := hooks.before(ctx, e, at)
		if err == nil && !done {
			called = append(called, hooks.run(ctx, HookRollout, e.phase())...)
		}
		if ctx.Err() != nil {
			e.Abort(o.clock.Now(), "cancelled before a decision: "+ctx.Err().Error())
			return r, ctx.Err()
		}
		if err != nil {
			return r, fmt.Errorf("canary %s: %w", cfg.Name, err)
		}
		if done {
			emit(t)
			continue
		}
		samples := make([]Sample, 0, len(cfg.Metrics))
		seen := map[string]Observation{} // a query shared by several metrics (the requests guard) is asked once per tick
		ask := func(mp metrics.Provider, key, q string) Observation {
			if o, ok := seen[key+"\x00"+q]; ok {
				return o
			}
			o := observe(ctx, mp, q)
			seen[key+"\x00"+q] = o
			return o
		}
		for _, m := range cfg.Metrics {
			s := Sample{Metric: m.Name}
			mp, key := route(m), m.Address
			if m.MinRequests > 0 {
				req := ask(mp, key, m.RequestsQuery)
				s.Requests = &req
			}
			s.Result = ask(mp, key, m.Query)
			samples = append(samples, s)
		}
		if ctx.Err() != nil { // queries cut short by cancellation are not observations
			e.Abort(o.clock.Now(), "cancelled before a decision: "+ctx.Err().Error())
			return r, ctx.Err()
		}
		t, err = e.ObserveHooks(at, samples, called)
		if err == nil && e.ConfirmDue() {
			t, err = e.Confirm(at, hooks.run(ctx, HookConfirmPromotion, PhaseProgressing))
		}
		if err != nil {
			return r, fmt.Errorf("canary %s: %w", cfg.Name, err)
		}
		emit(t)
	}
	hooks.after(ctx, e, o.clock.Now())
	if r.Unreachable {
		return r, fmt.Errorf("canary %s: %w: %s", cfg.Name, ErrUnreachable, r.Reason)
	}
	return r, nil
}

// Probe checks, before a watch, that Prometheus answers (vector(1) gives 1) and that every
// configured query (each metric's, each requests guard's, the readiness query) parses; an
// error wraps ErrCannotWatch and names the query.
func Probe(ctx context.Context, cfg *Config, p metrics.Provider) error {
	return probe(ctx, cfg, p, func(Metric) metrics.Provider { return p })
}

func probe(ctx context.Context, cfg *Config, p metrics.Provider, route func(Metric) metrics.Provider) error {
	answers := func(mp metrics.Provider, where string) error {
		s, err := mp.Query(ctx, "vector(1)", time.Time{})
		if err != nil {
			return fmt.Errorf("%w: Prometheus%s did not answer vector(1): %s (check the prometheus-url input and the credentials; nothing was judged or reverted)", ErrCannotWatch, where, Clean(err.Error()))
		}
		if s.Value != 1 {
			return fmt.Errorf("%w: Prometheus%s answered vector(1) with %g: this is not a Prometheus API", ErrCannotWatch, where, s.Value)
		}
		return nil
	}
	if err := answers(p, ""); err != nil {
		return err
	}
	probed := map[string]bool{"": true}
	for _, m := range cfg.Metrics {
		if !probed[m.Address] {
			probed[m.Address] = true
			if err := answers(route(m), fmt.Sprintf(" at %s (MetricTemplate %s)", m.Address, m.Template)); err != nil {
				return err
			}
		}
	}
	check := func(p metrics.Provider, what, q string) error {
		if q == "" {
			return nil
		}
		_, err := p.Query(ctx, q, time.Time{})
		if err == nil || errors.Is(err, metrics.ErrNoData) {
			return nil
		}
		switch {
		case metrics.Unreachable(err):
			return fmt.Errorf("%w: Prometheus stopped answering while checking %s: %s", ErrCannotWatch, what, Clean(err.Error()))
		case errors.Is(err, metrics.ErrBadQuery):
			return fmt.Errorf("%w: %s does not parse: %s", ErrCannotWatch, what, Clean(err.Error()))
		}
		return nil // an answer (an execution error, a scalar) counts at each check, as Flagger counts it
	}
	for _, m := range cfg.Metrics {
		if err := check(route(m), "the query of metric "+m.Name, m.Query); err != nil {
			return err
		}
		if err := check(route(m), "the requests query of metric "+m.Name, m.RequestsQuery); err != nil {
			return err
		}
	}
	return check(p, "readyQuery", cfg.ReadyQuery)
}

// observe asks a live query at the provider's "now" (the clock paces ticks and stamps them).
func observe(ctx context.Context, p metrics.Provider, query string) Observation {
	s, err := p.Query(ctx, query, time.Time{})
	switch {
	case errors.Is(err, metrics.ErrNoData):
		return NoData(err.Error())
	case err != nil && metrics.Unreachable(err):
		return Unreachable(err)
	case err != nil:
		return Failed(err)
	case math.IsNaN(s.Value):
		return NoData(fmt.Sprintf("query %q: the value is NaN", query))
	}
	o := Value(s.Value)
	if s.Series > 1 {
		o.Series = s.Series
	}
	return o
}

func waitReady(ctx context.Context, cfg *Config, p metrics.Provider, o monitorOptions, e *Engine, hooks *hookRunner) error {
	r := e.Report()
	q := "count(" + cfg.ReadyQuery + ")"
	deadline := r.StartedAt.Add(cfg.ReadyTimeout)
	var last string
	var loaded time.Time // when the rollout hooks (load tests) were last called
	for {
		s, err := p.Query(ctx, q, time.Time{})
		switch {
		case err == nil && s.Value > 0:
			r.ReadyAt = o.clock.Now()
			return nil
		case errors.Is(err, metrics.ErrNoData) || err == nil:
			last = "no series matched"
		case metrics.Unreachable(err):
			last = "Prometheus did not answer the last time: " + Clean(err.Error())
		default:
			last = "last error: " + Clean(err.Error())
		}
		now := o.clock.Now()
		if hooks != nil && now.Before(deadline) && (loaded.IsZero() || now.Sub(loaded) >= cfg.Interval) {
			loaded = now // no traffic yet: a load test may be all the traffic there is (recorded, not counted)
			r.ReadyHooks = append(r.ReadyHooks, hooks.run(ctx, HookRollout, PhaseProgressing)...)
		}
		if !now.Before(deadline) {
			who := "version"
			if cfg.Version != "" {
				who = "version " + cfg.Version
			}
			reason := fmt.Sprintf("%s never became ready: after %s, readyQuery %s still selected no series (%s)", who, cfg.ReadyTimeout, cfg.ReadyQuery, last)
			e.Abort(now, reason)
			return fmt.Errorf("canary %s: %w: %s", cfg.Name, ErrNotReady, reason)
		}
		select {
		case <-ctx.Done():
			e.Abort(o.clock.Now(), "cancelled while waiting for readiness: "+ctx.Err().Error())
			return ctx.Err()
		case <-o.clock.After(min(o.readyPoll, deadline.Sub(now))):
		}
	}
}
