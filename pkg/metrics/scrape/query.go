package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/labrats-work/flightline/pkg/metrics"
)

// Query implements metrics.Provider: it evaluates query at time at (the zero time: the
// provider's clock now) with Prometheus's engine over what has been scraped so far.
func (p *Provider) Query(ctx context.Context, query string, at time.Time) (metrics.Sample, error) {
	if at.IsZero() {
		at = p.now()
	}
	if err := p.down(); err != nil {
		return metrics.Sample{}, fmt.Errorf("query %q: %w", query, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.qtimeout)
	defer cancel()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return metrics.Sample{}, ErrClosed
	}
	q, err := p.engine.NewInstantQuery(ctx, p.db, promql.NewPrometheusQueryOpts(false, p.lookback), query, at)
	if err != nil {
		return metrics.Sample{}, fmt.Errorf("query %q: %w: %w", query, metrics.ErrBadQuery, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		if ctx.Err() != nil {
			return metrics.Sample{}, fmt.Errorf("evaluating %q: %w", query, ctx.Err())
		}
		return metrics.Sample{}, fmt.Errorf("evaluating %q: %w", query, res.Err)
	}
	var s metrics.Sample
	switch v := res.Value.(type) {
	case promql.Scalar:
		return metrics.Sample{}, fmt.Errorf("query %q: %w", query, metrics.ErrScalar)
	case promql.Vector:
		if len(v) == 0 {
			return metrics.Sample{}, fmt.Errorf("query %q: %w (no series matched)", query, metrics.ErrNoData)
		}
		last := v[len(v)-1] // Flagger reads the last series of the answer
		if last.H != nil {
			return metrics.Sample{}, fmt.Errorf("query %q returned a native histogram where a number was expected", query)
		}
		s = metrics.Sample{Value: last.F, Time: time.UnixMilli(last.T), Labels: last.Metric.Map(), Series: len(v)}
	default:
		return metrics.Sample{}, fmt.Errorf("query %q returned a %s where an instant vector or scalar was expected", query, res.Value.Type())
	}
	if math.IsNaN(s.Value) {
		return metrics.Sample{}, fmt.Errorf("query %q: %w (the value is NaN, e.g. 0/0 over a window without traffic)", query, metrics.ErrNoData)
	}
	return s, nil
}

// down returns an error wrapping metrics.ErrUnreachable when every target has been scraped and
// the last scrape of each failed: the data is then stale, and "no series" would hide the cause.
func (p *Provider) down() error {
	var errs []error
	for _, st := range p.Targets() {
		if st.Scrapes == 0 || st.Err == nil {
			return nil
		}
		errs = append(errs, st.Err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the last scrape of every target failed: %w", metrics.ErrUnreachable, errors.Join(errs...))
}

// QueryRange implements metrics.Provider.
func (p *Provider) QueryRange(ctx context.Context, query string, r metrics.Range) ([]metrics.Series, error) {
	if r.Step <= 0 {
		return nil, fmt.Errorf("range query %q: step %s must be positive", query, r.Step)
	}
	if r.End.Before(r.Start) {
		return nil, fmt.Errorf("range query %q: end %s is before start %s", query, r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(ctx, p.qtimeout)
	defer cancel()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, ErrClosed
	}
	q, err := p.engine.NewRangeQuery(ctx, p.db, promql.NewPrometheusQueryOpts(false, p.lookback), query, r.Start, r.End, r.Step)
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("evaluating %q: %w", query, ctx.Err())
		}
		return nil, fmt.Errorf("evaluating %q over %s..%s: %w", query, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, err)
	}
	out := make([]metrics.Series, 0, len(m))
	for _, ss := range m {
		s := metrics.Series{Labels: ss.Metric.Map()}
		for _, pt := range ss.Floats {
			s.Points = append(s.Points, metrics.Point{Time: time.UnixMilli(pt.T), Value: pt.F})
		}
		out = append(out, s)
	}
	return out, nil
}

var _ metrics.Provider = (*Provider)(nil)
