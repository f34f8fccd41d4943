package scrape_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics/scrape"
)

func Example() {
	// A service exposing Prometheus metrics.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `http_requests_total{code="200"} 42`)
		fmt.Fprintln(w, `http_requests_total{code="500"} 3`)
	}))
	defer srv.Close()

	ctx := context.Background()
	p, err := scrape.New(ctx, []string{srv.URL + "/metrics"}, scrape.WithInterval(time.Second), scrape.WithJob("agent"))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	if err := p.Scrape(ctx); err != nil { // one scrape now, rather than waiting for the first tick
		panic(err)
	}
	s, err := p.Query(ctx, `sum(http_requests_total{job="agent"})`, time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Value)
	// Output: 45
}
