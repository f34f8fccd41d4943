package scrape

import (
	"fmt"
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// sample is one float sample of an exposition, before the target's labels are added.
type sample struct {
	name   string
	labels [][2]string
	value  float64
}

// familySamples flattens metric families into samples as Prometheus stores them: counters,
// gauges and untyped metrics as they are; summaries as NAME{quantile}, NAME_sum and NAME_count;
// classic histograms as NAME_bucket{le}, NAME_sum and NAME_count (with the +Inf bucket added
// when the exposition leaves it out). Native histograms are refused: the built-in checks use
// classic buckets.
func familySamples(fams []*dto.MetricFamily) ([]sample, error) {
	var out []sample
	for _, f := range fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			ls := make([][2]string, 0, len(m.GetLabel())+1)
			for _, l := range m.GetLabel() {
				ls = append(ls, [2]string{l.GetName(), l.GetValue()})
			}
			with := func(k, v string) [][2]string {
				return append(append(make([][2]string, 0, len(ls)+1), ls...), [2]string{k, v})
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, sample{name, ls, m.GetCounter().GetValue()})
			case dto.MetricType_GAUGE:
				out = append(out, sample{name, ls, m.GetGauge().GetValue()})
			case dto.MetricType_UNTYPED:
				out = append(out, sample{name, ls, m.GetUntyped().GetValue()})
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					out = append(out, sample{name, with("quantile", formatFloat(q.GetQuantile())), q.GetValue()})
				}
				out = append(out, sample{name + "_sum", ls, s.GetSampleSum()}, sample{name + "_count", ls, float64(s.GetSampleCount())})
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				if len(h.GetBucket()) == 0 && (len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 || h.GetZeroCount() > 0) {
					return nil, fmt.Errorf("metric %s is a native histogram: expose classic buckets", name)
				}
				count := float64(h.GetSampleCount())
				if h.SampleCountFloat != nil {
					count = h.GetSampleCountFloat()
				}
				inf := false
				for _, b := range h.GetBucket() {
					c := float64(b.GetCumulativeCount())
					if b.CumulativeCountFloat != nil {
						c = b.GetCumulativeCountFloat()
					}
					inf = inf || math.IsInf(b.GetUpperBound(), +1)
					out = append(out, sample{name + "_bucket", with("le", formatFloat(b.GetUpperBound())), c})
				}
				if !inf {
					out = append(out, sample{name + "_bucket", with("le", "+Inf"), count})
				}
				suffix := "_count"
				if f.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
					suffix = "_gcount"
				}
				out = append(out, sample{name + "_sum", ls, h.GetSampleSum()}, sample{name + suffix, ls, count})
			default:
				return nil, fmt.Errorf("metric %s has type %s, which this provider does not read", name, f.GetType())
			}
		}
	}
	return out, nil
}

// formatFloat writes a bucket bound or quantile as the text exposition does ("0.25", "+Inf").
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
