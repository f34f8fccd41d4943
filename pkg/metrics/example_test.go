package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics"
)

func ExampleNewPrometheus() {
	// A stand-in for Prometheus's HTTP API that finds no series.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer srv.Close()

	p, err := metrics.NewPrometheus(srv.URL, metrics.WithTimeout(5*time.Second), metrics.WithBearerToken("token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.Query(context.Background(), `sum(rate(http_requests_total{job="agent"}[1m]))`, time.Time{})
	fmt.Println(errors.Is(err, metrics.ErrNoData))
	// Output: true
}
