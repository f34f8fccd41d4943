package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ErrNoData is returned by Provider.Query when the query selects no series, or when the sample
// it reads is NaN (0/0, a quantile over empty buckets): both mean "nothing to judge", never
// zero. Flagger answers both with its "no values found" error.
var ErrNoData = errors.New("query returned no data")

// ErrUnreachable wraps a failure to get any answer from the metrics source: connection refused,
// DNS, a client-side timeout, a gateway in front of it answering 5xx, or (for the scrape
// provider) targets that could not be scraped. It is never a verdict on the release.
var ErrUnreachable = errors.New("metrics source unreachable")

// ErrBadQuery wraps Prometheus's refusal of a query as malformed (a PromQL parse error).
var ErrBadQuery = errors.New("the query does not parse")

// ErrScalar is returned by Provider.Query when the query evaluates to a scalar. Flagger reads
// only instant vectors and fails such a query; wrap it, e.g. vector(1) instead of 1.
var ErrScalar = errors.New("the query returned a scalar where Flagger expects an instant vector (wrap it in vector(…))")

// Sample is the value an instant query gave, read as Flagger reads it: when the vector has
// several series, the last one in the answer's order.
type Sample struct {
	// Value may be +Inf or -Inf (histogram_quantile over the +Inf bucket); never NaN.
	Value  float64
	Time   time.Time
	Labels map[string]string
	// Series is how many series the answer had (Value is the last one's).
	Series int
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
	// Query evaluates query at time at (the zero time means the server's "now") and returns the
	// sample Flagger would read: the last series of the instant vector. No series, or a NaN
	// value, is ErrNoData; a scalar is ErrScalar; no answer at all wraps ErrUnreachable.
	Query(ctx context.Context, query string, at time.Time) (Sample, error)
	// QueryRange evaluates query over r and returns every series.
	QueryRange(ctx context.Context, query string, r Range) ([]Series, error)
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

// SplitUserinfo returns address without its userinfo (user:password@), and the user name and
// password it carried, so that credentials never travel inside a URL that errors and logs print.
func SplitUserinfo(address string) (clean, user, password string) {
	u, err := url.Parse(address)
	if err != nil || u.User == nil {
		return RedactURLs(address), "", ""
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	u.User = nil
	return u.String(), user, password
}

var userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@"'<>]*@`)

// RedactURLs replaces the userinfo of every URL in s by "REDACTED@".
func RedactURLs(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}REDACTED@")
}
