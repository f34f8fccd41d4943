package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// DefaultTimeout bounds each query when WithTimeout is not given.
const DefaultTimeout = 30 * time.Second

// Prometheus is a Provider over the Prometheus HTTP API (client_golang's api/prometheus/v1).
type Prometheus struct {
	address string
	api     promv1.API
	timeout time.Duration
}

type promOptions struct {
	timeout    time.Duration
	bearer     string
	user, pass string
	basic      bool
	transport  http.RoundTripper
}

// PrometheusOption configures NewPrometheus.
type PrometheusOption func(*promOptions)

// WithTimeout bounds each query (HTTP round trip and server-side evaluation). Default: DefaultTimeout (30 s).
func WithTimeout(d time.Duration) PrometheusOption { return func(o *promOptions) { o.timeout = d } }

// WithBearerToken sends "Authorization: Bearer TOKEN" with every query. Default: none.
func WithBearerToken(token string) PrometheusOption {
	return func(o *promOptions) { o.bearer = token }
}

// WithBasicAuth sends HTTP basic credentials with every query. Default: none.
func WithBasicAuth(user, password string) PrometheusOption {
	return func(o *promOptions) { o.user, o.pass, o.basic = user, password, true }
}

// WithTransport sets the HTTP transport. Default: client_golang's api.DefaultRoundTripper.
func WithTransport(rt http.RoundTripper) PrometheusOption {
	return func(o *promOptions) { o.transport = rt }
}

// NewPrometheus returns a Provider for the Prometheus server at address (http or https URL).
func NewPrometheus(address string, opts ...PrometheusOption) (*Prometheus, error) {
	o := promOptions{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus address %q: want an http(s) URL such as http://prometheus:9090", address)
	}
	if o.bearer != "" && o.basic {
		return nil, errors.New("prometheus: give a bearer token or basic auth, not both")
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("prometheus timeout %s: must be positive", o.timeout)
	}
	rt := o.transport
	if rt == nil {
		rt = api.DefaultRoundTripper
	}
	if o.bearer != "" || o.basic {
		rt = &authTransport{next: rt, bearer: o.bearer, user: o.user, pass: o.pass, basic: o.basic}
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return &Prometheus{address: address, api: promv1.NewAPI(c), timeout: o.timeout}, nil
}

type authTransport struct {
	next               http.RoundTripper
	bearer, user, pass string
	basic              bool
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.basic {
		r.SetBasicAuth(t.user, t.pass)
	} else {
		r.Header.Set("Authorization", "Bearer "+t.bearer)
	}
	return t.next.RoundTrip(r)
}

// Query implements Provider.
func (p *Prometheus) Query(ctx context.Context, query string, at time.Time) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if at.IsZero() {
		at = time.Now()
	}
	v, _, _, err := p.api.Query(ctx, query, at, promv1.WithTimeout(p.timeout))
	if err != nil {
		return Sample{}, fmt.Errorf("querying %s for %q: %w", p.address, query, err)
	}
	return one(query, v)
}

// one reduces an instant-query result to its single sample.
func one(query string, v model.Value) (Sample, error) {
	var s Sample
	switch r := v.(type) {
	case *model.Scalar:
		s = Sample{Value: float64(r.Value), Time: r.Timestamp.Time()}
	case model.Vector:
		switch len(r) {
		case 0:
			return Sample{}, fmt.Errorf("query %q: %w (no series matched)", query, ErrNoData)
		case 1:
			s = Sample{Value: float64(r[0].Value), Time: r[0].Timestamp.Time(), Labels: labels(r[0].Metric)}
		default:
			e := &MultipleSeriesError{Query: query}
			for _, smp := range r {
				e.Series = append(e.Series, FormatLabels(labels(smp.Metric)))
			}
			return Sample{}, e
		}
	default:
		return Sample{}, fmt.Errorf("query %q returned a %s where an instant vector or scalar was expected", query, v.Type())
	}
	if math.IsNaN(s.Value) {
		return Sample{}, fmt.Errorf("query %q: %w (the value is NaN, e.g. 0/0 over a window without traffic)", query, ErrNoData)
	}
	return s, nil
}

// QueryRange implements Provider.
func (p *Prometheus) QueryRange(ctx context.Context, query string, r Range) ([]Series, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if r.Step <= 0 {
		return nil, fmt.Errorf("range query %q: step %s must be positive", query, r.Step)
	}
	v, _, _, err := p.api.QueryRange(ctx, query, promv1.Range{Start: r.Start, End: r.End, Step: r.Step}, promv1.WithTimeout(p.timeout))
	if err != nil {
		return nil, fmt.Errorf("querying %s for %q over %s..%s: %w", p.address, query, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %q returned a %s where a matrix was expected", query, v.Type())
	}
	out := make([]Series, 0, len(m))
	for _, ss := range m {
		s := Series{Labels: labels(ss.Metric)}
		for _, pt := range ss.Values {
			s.Points = append(s.Points, Point{Time: pt.Timestamp.Time(), Value: float64(pt.Value)})
		}
		out = append(out, s)
	}
	return out, nil
}

func labels(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}
