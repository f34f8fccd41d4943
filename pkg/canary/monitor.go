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
}

// MonitorOption configures Monitor.
type MonitorOption func(*monitorOptions)

// WithClock sets the clock. Default: the system clock.
func WithClock(c Clock) MonitorOption { return func(o *monitorOptions) { o.clock = c } }

// WithTickFunc calls f after every tick (e.g. to log it); several are called in order. Default: none.
func WithTickFunc(f func(Tick)) MonitorOption {
	return func(o *monitorOptions) { o.onTick = append(o.onTick, f) }
}

// WithReadyPoll sets how often the readyQuery is asked. Default: the analysis interval, at most 5 s.
func WithReadyPoll(d time.Duration) MonitorOption { return func(o *monitorOptions) { o.readyPoll = d } }

// Monitor runs the analysis of cfg live: it waits until cfg.ReadyQuery (an instant-vector
// expression) selects at least one series, asked as count(readyQuery) every few seconds (none
// configured: it starts at once), then every interval queries
// each metric through p and feeds the engine, until a decision. Queries are evaluated at the
// provider's current time; the clock paces the ticks and stamps them. The report is returned in every
// case; the error is ErrNotReady (decision inconclusive) when readiness never came, or the
// context's error when ctx ended first (decision inconclusive).
func Monitor(ctx context.Context, cfg *Config, p metrics.Provider, opts ...MonitorOption) (*Report, error) {
	o := monitorOptions{clock: realClock{}, readyPoll: min(cfg.Interval, 5*time.Second)}
	for _, opt := range opts {
		opt(&o)
	}
	e := NewEngine(cfg)
	r := e.Report()
	r.StartedAt = o.clock.Now()
	r.ReadyAt = r.StartedAt
	if cfg.ReadyQuery != "" {
		if err := waitReady(ctx, cfg, p, o, e); err != nil {
			return r, err
		}
	}
	next := r.ReadyAt
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
		samples := make([]Sample, 0, len(cfg.Metrics))
		seen := map[string]Observation{} // a query shared by several metrics (the requests guard) is asked once per tick
		ask := func(q string) Observation {
			if o, ok := seen[q]; ok {
				return o
			}
			o := observe(ctx, p, q)
			seen[q] = o
			return o
		}
		for _, m := range cfg.Metrics {
			s := Sample{Metric: m.Name}
			if m.MinRequests > 0 {
				req := ask(m.RequestsQuery)
				s.Requests = &req
			}
			s.Result = ask(m.Query)
			samples = append(samples, s)
		}
		if ctx.Err() != nil { // queries cut short by cancellation are not observations
			e.Abort(o.clock.Now(), "cancelled before a decision: "+ctx.Err().Error())
			return r, ctx.Err()
		}
		t, err := e.Observe(at, samples)
		if err != nil {
			return r, fmt.Errorf("canary %s: %w", cfg.Name, err)
		}
		for _, f := range o.onTick {
			f(t)
		}
	}
	return r, nil
}

// observe asks a live query at the provider's "now" (the clock paces ticks and stamps them).
func observe(ctx context.Context, p metrics.Provider, query string) Observation {
	s, err := p.Query(ctx, query, time.Time{})
	switch {
	case errors.Is(err, metrics.ErrNoData):
		return NoData(err.Error())
	case err != nil:
		return Failed(err)
	case math.IsNaN(s.Value):
		return NoData(fmt.Sprintf("query %q: the value is NaN", query))
	}
	return Value(s.Value)
}

func waitReady(ctx context.Context, cfg *Config, p metrics.Provider, o monitorOptions, e *Engine) error {
	r := e.Report()
	q := "count(" + cfg.ReadyQuery + ")"
	deadline := r.StartedAt.Add(cfg.ReadyTimeout)
	var last string
	for {
		s, err := p.Query(ctx, q, time.Time{})
		switch {
		case err == nil && s.Value > 0:
			r.ReadyAt = o.clock.Now()
			return nil
		case errors.Is(err, metrics.ErrNoData) || err == nil:
			last = "no series matched"
		default:
			last = "last error: " + err.Error()
		}
		now := o.clock.Now()
		if !now.Before(deadline) {
			reason := fmt.Sprintf("not ready after %s: readyQuery %s selected no series (%s)", cfg.ReadyTimeout, cfg.ReadyQuery, last)
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
