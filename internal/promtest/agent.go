package promtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Agent is an in-test HTTP service instrumented like the sample agent: the counter
// http_requests_total{code,route}, the histogram http_request_duration_seconds{route}, the
// counter ai_ir_failures_total and the gauge build_info{version}. It drives its own traffic
// at a steady rate; tests flip its error rate and latency.
type Agent struct {
	Addr string // host:port, /metrics is served there

	mu       sync.Mutex
	errRate  float64
	latency  time.Duration
	requests int64
	failed   int64

	aiFailures prometheus.Counter
	buildInfo  *prometheus.GaugeVec
}

// NewAgent starts the service (version is its build_info version); it stops when the test ends.
func NewAgent(t testing.TB, version string) *Agent {
	t.Helper()
	a := &Agent{}
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "HTTP requests by status code and route."}, []string{"code", "route"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "HTTP request latency.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2.5, 5}}, []string{"route"})
	a.aiFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "ai_ir_failures_total", Help: "Failed inference requests."})
	a.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "build_info", Help: "Build information."}, []string{"version"})
	reg.MustRegister(requests, duration, a.aiFailures, a.buildInfo)
	a.buildInfo.WithLabelValues(version).Set(1)
	// Every series exists, at zero, from start-up, as in the sample agent: a 500 series born with
	// the first failure would need two scrapes before rate() sees it, hiding the start of a fault.
	for _, code := range []string{"200", "500"} {
		requests.WithLabelValues(code, "/v1/ask")
	}

	route := prometheus.Labels{"route": "/v1/ask"}
	ask := promhttp.InstrumentHandlerCounter(requests.MustCurryWith(route),
		promhttp.InstrumentHandlerDuration(duration.MustCurryWith(route), http.HandlerFunc(a.ask)))
	mux := http.NewServeMux()
	mux.Handle("/v1/ask", ask)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	a.Addr = srv.Listener.Addr().String()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 50 requests per second
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				resp, err := srv.Client().Get(srv.URL + "/v1/ask")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait(); srv.Close() })
	return a
}

// SetErrorRate makes that fraction (0..1) of requests answer 500 and count an AI failure; the
// failures are spread evenly, not random.
func (a *Agent) SetErrorRate(r float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errRate = r
	a.requests, a.failed = 0, 0 // the new rate applies from now on, without a catch-up burst
}

// SetLatency makes every request take at least d.
func (a *Agent) SetLatency(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.latency = d
}

func (a *Agent) ask(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	a.requests++
	fail := float64(a.failed+1) <= a.errRate*float64(a.requests)
	if fail {
		a.failed++
	}
	lat := a.latency
	a.mu.Unlock()
	if lat > 0 {
		time.Sleep(lat)
	}
	if fail {
		a.aiFailures.Inc()
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}
