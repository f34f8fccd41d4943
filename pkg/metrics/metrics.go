package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrNoData is returned by Provider.Query when the query selects no series, or when its single
// sample is NaN (0/0, a quantile over empty buckets): both mean "nothing to judge", never zero.
var ErrNoData = errors.New("query returned no data")

// Sample is the one value an instant query is expected to return.
type Sample struct {
	// Value may be +Inf or -Inf (histogram_quantile over the +Inf bucket); never NaN.
	Value  float64
	Time   time.Time
	Labels map[string]string
}

// Point is one value of a range query.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is one labelled series of a range query.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Range is the time span and resolution of a range query.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Provider answers PromQL queries. Implementations must honour ctx (deadline and cancellation).
type Provider interface {
	// Query evaluates query at time at (the zero time means the server's "now") and returns its
	// only sample. No series, or a NaN sample, is ErrNoData; several series is a
	// *MultipleSeriesError naming them.
	Query(ctx context.Context, query string, at time.Time) (Sample, error)
	// QueryRange evaluates query over r and returns every series.
	QueryRange(ctx context.Context, query string, r Range) ([]Series, error)
}

// MultipleSeriesError reports an instant query that returned more than one series where the
// caller needs exactly one: aggregate it (sum, max...) or narrow its label matchers.
type MultipleSeriesError struct {
	Query  string
	Series []string // each series' labels in PromQL notation, e.g. {code="500",route="/ask"}
}

func (e *MultipleSeriesError) Error() string {
	return fmt.Sprintf("query %q returned %d series where one was expected (aggregate it with sum/max or narrow the selector): %s",
		e.Query, len(e.Series), strings.Join(e.Series, ", "))
}

// FormatLabels renders labels as PromQL matchers, sorted by name: {a="1",b="2"}.
func FormatLabels(l map[string]string) string {
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}
