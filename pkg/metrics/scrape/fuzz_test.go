package scrape

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

func FuzzExposition(f *testing.F) {
	f.Add(agentText(3, "1.5.0"))
	f.Add("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n")
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n")
	f.Add("x NaN\ny +Inf 1700000000000\n")
	f.Fuzz(func(t *testing.T, text string) {
		fams, err := decode(strings.NewReader(text), expfmt.FmtText)
		if err != nil {
			return
		}
		samples, err := familySamples(fams)
		if err != nil {
			return
		}
		for _, s := range samples {
			if s.name == "" {
				t.Fatalf("sample without a name from %q", text)
			}
		}
	})
}

func TestFamilySamples_HistogramWithoutInfBucket(t *testing.T) {
	fams, err := decode(strings.NewReader("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 0.5\nh_count 2\n"), expfmt.FmtText)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := familySamples(fams)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range samples {
		l := ""
		for _, kv := range s.labels {
			l += kv[0] + "=" + kv[1]
		}
		got = append(got, s.name+"{"+l+"}")
	}
	want := "h_bucket{le=1} h_bucket{le=+Inf} h_sum{} h_count{}"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}
