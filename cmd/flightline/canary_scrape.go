//go:build !lean

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics"
	"github.com/labrats-work/flightline/pkg/metrics/scrape"
)

// openScrape is canary-monitor's --scrape: Prometheus's own PromQL engine over samples scraped
// into memory from the given /metrics endpoints (job=job, instance=host:port), instead of a
// Prometheus server. Only the full binary has it: the lean one (-tags lean) leaves Prometheus's
// engine out.
func openScrape(ctx context.Context, urls []string, interval time.Duration, job string) (metrics.Provider, func() error, error) {
	if interval <= 0 {
		return nil, nil, fmt.Errorf("--scrape-interval %s: must be positive, e.g. 1s", interval)
	}
	p, err := scrape.New(ctx, urls, scrape.WithInterval(interval), scrape.WithJob(job))
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}
