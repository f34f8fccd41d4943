package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
)

// Defaults of New's options.
const (
	DefaultInterval      = 5 * time.Second
	DefaultJob           = "scrape"
	DefaultQueryTimeout  = 30 * time.Second
	DefaultLookbackDelta = 5 * time.Minute
	// acceptHeader asks for the protobuf or the text exposition format, as Prometheus does.
	acceptHeader = `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3`
	// maxBody bounds one scrape's response.
	maxBody = 64 << 20
)

// ErrClosed is returned by every call made after Close.
var ErrClosed = errors.New("scrape provider is closed")

// Provider scrapes its targets into memory and evaluates PromQL over them with Prometheus's engine.
// It implements metrics.Provider. Every sample carries the labels job and instance (host:port
// of the target) as Prometheus adds them; each scrape also writes up, scrape_duration_seconds
// and scrape_samples_scraped, and stale markers for the series a scrape no longer returns
// (all of them when the scrape fails), so the answers are Prometheus's. The engine is
// Prometheus 3's (v0.310.0): range windows are open on the left, where a Prometheus 2 server
// includes a sample that falls exactly on the window's start.
type Provider struct {
	targets  []*target
	db       *store
	engine   *promql.Engine
	interval time.Duration
	timeout  time.Duration
	qtimeout time.Duration
	lookback time.Duration
	client   *http.Client
	ownHTTP  bool
	now      func() time.Time

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	mu        sync.RWMutex // held for reading by queries, for writing by Close
	closed    bool
}

type target struct {
	url      string
	instance string
	job      string

	mu     sync.Mutex // one scrape of a target at a time; guards last and status
	last   map[uint64]labels.Labels
	status TargetStatus
}

// TargetStatus is the outcome of a target's last scrape.
type TargetStatus struct {
	URL      string
	Scrapes  int           // scrapes attempted
	Last     time.Time     // when the last scrape started (its samples' timestamp)
	Duration time.Duration // how long it took
	Samples  int           // samples it returned
	Err      error         // nil when it succeeded
}

type options struct {
	interval, timeout, qtimeout, lookback time.Duration
	job                                   string
	client                                *http.Client
	now                                   func() time.Time
}

// Option configures New.
type Option func(*options)

// WithInterval sets the scrape interval; 0 disables background scraping (call Scrape).
// Default: DefaultInterval (5 s).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithScrapeTimeout bounds each scrape. Default: the interval (DefaultInterval when it is 0).
func WithScrapeTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithQueryTimeout bounds each query. Default: DefaultQueryTimeout (30 s).
func WithQueryTimeout(d time.Duration) Option { return func(o *options) { o.qtimeout = d } }

// WithLookbackDelta sets how far back an instant vector selector looks for a sample, as
// Prometheus's --query.lookback-delta. Default: DefaultLookbackDelta (5 m).
func WithLookbackDelta(d time.Duration) Option { return func(o *options) { o.lookback = d } }

// WithJob sets the job label of every scraped series. Default: DefaultJob ("scrape").
func WithJob(name string) Option { return func(o *options) { o.job = name } }

// WithHTTPClient scrapes with c. Default: a client of its own, whose idle connections Close
// shuts.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the time source that stamps scrapes and is "now" for queries at the zero
// time. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New opens an empty in-memory store and, unless the interval is 0, starts scraping each target (an
// http(s) URL such as http://127.0.0.1:8080/metrics) at once and then every interval, until ctx
// ends or Close is called. Close must be called to stop the scrapers.
func New(ctx context.Context, targets []string, opts ...Option) (*Provider, error) {
	o := options{interval: DefaultInterval, qtimeout: DefaultQueryTimeout, lookback: DefaultLookbackDelta, job: DefaultJob, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if len(targets) == 0 {
		return nil, errors.New("scrape: no targets: give at least one /metrics URL, e.g. http://127.0.0.1:8080/metrics")
	}
	if o.interval < 0 {
		return nil, fmt.Errorf("scrape interval %s: must be positive (or 0 to scrape only on demand)", o.interval)
	}
	if o.timeout == 0 {
		o.timeout = o.interval
		if o.timeout == 0 {
			o.timeout = DefaultInterval
		}
	}
	if o.timeout < 0 || o.qtimeout <= 0 || o.lookback <= 0 {
		return nil, fmt.Errorf("scrape timeout %s, query timeout %s, lookback delta %s: each must be positive", o.timeout, o.qtimeout, o.lookback)
	}
	if o.job == "" {
		return nil, errors.New("scrape: empty job name: give WithJob a name such as \"agent\"")
	}
	p := &Provider{interval: o.interval, timeout: o.timeout, qtimeout: o.qtimeout, lookback: o.lookback, client: o.client, now: o.now}
	seen := map[string]bool{}
	for _, raw := range targets {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("scrape target %q: want an http(s) URL such as http://127.0.0.1:8080/metrics", raw)
		}
		if seen[u.String()] {
			return nil, fmt.Errorf("scrape target %q: given twice", raw)
		}
		seen[u.String()] = true
		p.targets = append(p.targets, &target{url: u.String(), instance: u.Host, job: o.job, status: TargetStatus{URL: u.String()}})
	}
	if p.client == nil {
		p.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		p.ownHTTP = true
	}
	p.db = newStore()
	quiet := slog.New(slog.DiscardHandler)
	step := max(o.interval, time.Second).Milliseconds()
	p.engine = promql.NewEngine(promql.EngineOpts{
		Logger: quiet, MaxSamples: 50_000_000, Timeout: o.qtimeout, LookbackDelta: o.lookback,
		EnableAtModifier: true, EnableNegativeOffset: true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return step },
	})
	loopCtx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	if o.interval > 0 {
		for _, t := range p.targets {
			p.wg.Add(1)
			go p.loop(loopCtx, t)
		}
	}
	return p, nil
}

func (p *Provider) loop(ctx context.Context, t *target) {
	defer p.wg.Done()
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		_ = p.scrape(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Scrape scrapes every target once, now, and returns the errors of those that failed.
func (p *Provider) Scrape(ctx context.Context) error {
	errs := make([]error, len(p.targets))
	var wg sync.WaitGroup
	for i, t := range p.targets {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.scrape(ctx, t) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Targets reports each target's last scrape, in the order New was given them.
func (p *Provider) Targets() []TargetStatus {
	out := make([]TargetStatus, len(p.targets))
	for i, t := range p.targets {
		t.mu.Lock()
		out[i] = t.status
		t.mu.Unlock()
	}
	return out
}

// scrape fetches one target and appends its samples (or, when it fails, up=0 and stale markers).
func (p *Provider) scrape(ctx context.Context, t *target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	start := p.now()
	fams, err := p.fetch(ctx, t.url)
	if ctx.Err() != nil {
		return fmt.Errorf("scraping %s: %w", t.url, ctx.Err()) // not a failed scrape: we are stopping
	}
	took := p.now().Sub(start)
	var samples []sample
	if err == nil {
		samples, err = familySamples(fams)
	}
	if err != nil {
		err = fmt.Errorf("scraping %s: %w", t.url, err)
		samples = nil
	}
	ts := start.UnixMilli()
	base := labels.FromStrings("job", t.job, "instance", t.instance)
	cur := make(map[uint64]labels.Labels, len(samples)+3)
	up := 1.0
	if err != nil {
		up = 0
	}
	synthetic := []sample{{name: "up", value: up}, {name: "scrape_duration_seconds", value: took.Seconds()},
		{name: "scrape_samples_scraped", value: float64(len(samples))}}
	batch := make([]point, 0, len(samples)+len(synthetic)+len(t.last))
	for _, s := range append(samples, synthetic...) {
		l := targetLabels(s, base)
		h := l.Hash()
		if _, dup := cur[h]; dup {
			continue // Prometheus keeps the first of duplicate series in one scrape
		}
		cur[h] = l
		batch = append(batch, point{l, ts, s.value})
	}
	for h, l := range t.last {
		if _, ok := cur[h]; !ok {
			batch = append(batch, point{l, ts, math.Float64frombits(value.StaleNaN)})
		}
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrClosed
	}
	// A sample not after its series' last one (a clock or an exposed timestamp going
	// backwards) is dropped, as Prometheus drops it.
	p.db.commit(batch)
	p.mu.RUnlock()
	t.last = cur
	t.status.Scrapes++
	t.status.Last, t.status.Duration, t.status.Samples, t.status.Err = start, took, len(samples), err
	return err
}

func targetLabels(s sample, base labels.Labels) labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, l := range s.labels {
		name := l[0]
		if base.Has(name) { // honor_labels: false
			name = "exported_" + name
		}
		b.Set(name, l[1])
	}
	base.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
	b.Set(model.MetricNameLabel, s.name)
	return b.Labels()
}

func (p *Provider) fetch(ctx context.Context, u string) ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil, fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	format := expfmt.ResponseFormat(resp.Header)
	if format == expfmt.FmtUnknown {
		format = expfmt.FmtText // Prometheus's fallback scrape protocol
	}
	return decode(io.LimitReader(resp.Body, maxBody), format)
}

// decode reads every metric family of an exposition.
func decode(r io.Reader, format expfmt.Format) ([]*dto.MetricFamily, error) {
	dec := expfmt.NewDecoder(r, format)
	var fams []*dto.MetricFamily
	for {
		f := &dto.MetricFamily{}
		if err := dec.Decode(f); err != nil {
			if errors.Is(err, io.EOF) {
				return fams, nil
			}
			return nil, fmt.Errorf("parsing the exposition (%s): %w", format, err)
		}
		fams = append(fams, f)
	}
}

// Close stops scraping, waits for the scrapers to return and drops what was scraped. It is
// safe to call more than once.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.mu.Lock()
		p.closed = true
		p.db = newStore() // what was scraped is garbage now
		p.mu.Unlock()
		if p.ownHTTP {
			p.client.CloseIdleConnections()
		}
	})
	return p.closeErr
}
