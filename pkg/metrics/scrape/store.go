package scrape

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// store keeps float samples in memory, one append-only column pair per series, and serves them
// to Prometheus's engine as a storage.Queryable. It stands in for Prometheus's TSDB, whose
// package imports Prometheus's configuration and with it every cloud's remote-write
// authentication (half the binary's packages) for a head block this provider never persists.
// A sample whose timestamp is not after its series' last one is dropped, as the TSDB refuses
// it (out of order, or a duplicate for the timestamp); stale markers are stored as they come
// and the engine treats them as Prometheus's does.
type store struct {
	mu     sync.RWMutex
	series map[string]*memSeries // by the labels' string form
}

type memSeries struct {
	lset labels.Labels
	ts   []int64 // milliseconds, strictly increasing
	vs   []float64
}

func newStore() *store { return &store{series: map[string]*memSeries{}} }

// point is one sample waiting in a batch.
type point struct {
	lset labels.Labels
	t    int64
	v    float64
}

// commit appends a scrape's samples at once, so a query sees all of them or none, and
// reports how many were dropped for not being after their series' last sample.
func (s *store) commit(batch []point) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range batch {
		key := p.lset.String()
		ms := s.series[key]
		if ms == nil {
			ms = &memSeries{lset: p.lset}
			s.series[key] = ms
		}
		if n := len(ms.ts); n > 0 && p.t <= ms.ts[n-1] {
			dropped++
			continue
		}
		ms.ts = append(ms.ts, p.t)
		ms.vs = append(ms.vs, p.v)
	}
	return dropped
}

// Querier implements storage.Queryable over the samples in [mint, maxt].
func (s *store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{s: s, mint: mint, maxt: maxt}, nil
}

type querier struct {
	s          *store
	mint, maxt int64
}

// Select returns the series matching every matcher that hold samples within the hinted range
// (the querier's when no hints are given), sorted by labels. Each series is a snapshot: later
// appends never reach an answer being evaluated.
func (q *querier) Select(_ context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	q.s.mu.RLock()
	var out []storage.Series
	for _, m := range q.s.series {
		if !matches(m.lset, ms) {
			continue
		}
		lo := sort.Search(len(m.ts), func(i int) bool { return m.ts[i] >= mint })
		hi := sort.Search(len(m.ts), func(i int) bool { return m.ts[i] > maxt })
		if lo >= hi {
			continue
		}
		out = append(out, &snapshot{lset: m.lset, ts: m.ts[lo:hi:hi], vs: m.vs[lo:hi:hi]})
	}
	q.s.mu.RUnlock()
	// Every selection is sorted: the engine relies on it for binary operations and aggregation.
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &seriesSet{series: out, i: -1}
}

func matches(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// LabelValues returns the sorted values of name among the series matching ms.
func (q *querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	q.s.mu.RLock()
	for _, m := range q.s.series {
		if v := m.lset.Get(name); v != "" && matches(m.lset, ms) {
			seen[v] = true
		}
	}
	q.s.mu.RUnlock()
	return sortedKeys(seen), nil, nil
}

// LabelNames returns the sorted label names of the series matching ms.
func (q *querier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	q.s.mu.RLock()
	for _, m := range q.s.series {
		if matches(m.lset, ms) {
			m.lset.Range(func(l labels.Label) { seen[l.Name] = true })
		}
	}
	q.s.mu.RUnlock()
	return sortedKeys(seen), nil, nil
}

func (q *querier) Close() error { return nil }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// snapshot is a series' samples as they stood when it was selected.
type snapshot struct {
	lset labels.Labels
	ts   []int64
	vs   []float64
}

func (s *snapshot) Labels() labels.Labels { return s.lset }

// Iterator walks the snapshot with storage's list iterator (Seek and Next as the TSDB's).
func (s *snapshot) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return storage.NewListSeriesIterator(floats{s.ts, s.vs})
}

// floats presents two columns as storage.Samples.
type floats struct {
	ts []int64
	vs []float64
}

func (f floats) Len() int                { return len(f.ts) }
func (f floats) Get(i int) chunks.Sample { return floatSample{f.ts[i], f.vs[i]} }

// floatSample is one float sample as chunks.Sample.
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                      { return s.t }
func (s floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                    { return s.f }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { return s }

var (
	_ storage.Queryable = (*store)(nil)
	_ storage.Series    = (*snapshot)(nil)
)
