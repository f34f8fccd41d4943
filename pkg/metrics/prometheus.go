package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
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
	headers    http.Header
	insecure   bool
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

// WithHeaders sends these headers with every query (e.g. X-Scope-OrgID for a multi-tenant
// Prometheus). Default: none.
func WithHeaders(h http.Header) PrometheusOption {
	return func(o *promOptions) { o.headers = h.Clone() }
}

// WithInsecureSkipVerify turns off TLS certificate verification (a MetricTemplate's
// insecureSkipVerify). Default: certificates are verified.
func WithInsecureSkipVerify(b bool) PrometheusOption { return func(o *promOptions) { o.insecure = b } }

// WithTransport sets the HTTP transport. Default: client_golang's api.DefaultRoundTripper.
func WithTransport(rt http.RoundTripper) PrometheusOption {
	return func(o *promOptions) { o.transport = rt }
}

// NewPrometheus returns a Provider for the Prometheus server at address (http or https URL).
// Userinfo in address (https://user:pass@host) is taken out of the URL and sent as basic auth
// unless another credential is given; no error or log line ever carries it.
func NewPrometheus(address string, opts ...PrometheusOption) (*Prometheus, error) {
	o := promOptions{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	address, user, pass := SplitUserinfo(address)
	if (user != "" || pass != "") && o.bearer == "" && !o.basic {
		o.user, o.pass, o.basic = user, pass, true
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
		if o.insecure {
			t := api.DefaultRoundTripper.(*http.Transport).Clone()
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the template asks for it, and the summary says so
			rt = t
		}
	}
	if o.bearer != "" || o.basic || len(o.headers) > 0 {
		rt = &authTransport{next: rt, host: u.Host, bearer: o.bearer, user: o.user, pass: o.pass, basic: o.basic, headers: o.headers}
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return &Prometheus{address: address, api: promv1.NewAPI(c), timeout: o.timeout}, nil
}

// authTransport adds the credentials and headers to requests for the configured host only: a
// redirect to another host never carries them.
type authTransport struct {
	next               http.RoundTripper
	host               string
	bearer, user, pass string
	basic              bool
	headers            http.Header
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != t.host {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for k, vs := range t.headers {
		r.Header[k] = append([]string(nil), vs...)
	}
	switch {
	case t.basic:
		r.SetBasicAuth(t.user, t.pass)
	case t.bearer != "":
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
		return Sample{}, p.queryError(query, err)
	}
	return one(query, v)
}

// queryError wraps err, marking the failures that got no answer from Prometheus (connection
// refused, DNS, client-side timeout, a gateway's 5xx page) as ErrUnreachable. What Prometheus
// itself answers (bad_data, execution, its own timeout) stays a plain error.
func (p *Prometheus) queryError(query string, err error) error {
	if Unreachable(err) {
		return fmt.Errorf("querying %s for %q: %w: %w", p.address, query, ErrUnreachable, err)
	}
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) && apiErr.Type == promv1.ErrBadData {
		return fmt.Errorf("querying %s for %q: %w: %w", p.address, query, ErrBadQuery, err)
	}
	return fmt.Errorf("querying %s for %q: %w", p.address, query, err)
}

// Unreachable reports whether err means no answer came back from the server.
func Unreachable(err error) bool {
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) {
		// A 5xx that is not Prometheus's JSON API error (a proxy's or load balancer's page).
		return apiErr.Type == promv1.ErrServer
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	var urlErr *url.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) || errors.As(err, &urlErr)
}

// one reduces an instant-query result to the sample Flagger reads: the last series of the
// vector; a scalar is an error, as in Flagger.
func one(query string, v model.Value) (Sample, error) {
	var s Sample
	switch r := v.(type) {
	case *model.Scalar:
		return Sample{}, fmt.Errorf("query %q: %w", query, ErrScalar)
	case model.Vector:
		if len(r) == 0 {
			return Sample{}, fmt.Errorf("query %q: %w (no series matched)", query, ErrNoData)
		}
		last := r[len(r)-1]
		s = Sample{Value: float64(last.Value), Time: last.Timestamp.Time(), Labels: labels(last.Metric), Series: len(r)}
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
		return nil, fmt.Errorf("range %s..%s: %w", r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), p.queryError(query, err))
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
