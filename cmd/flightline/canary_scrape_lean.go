//go:build lean

package main

import (
	"context"
	"errors"
	"time"

	"github.com/labrats-work/flightline/pkg/metrics"
)

// errLeanScrape explains why the lean binary (what the actions build) has no --scrape.
var errLeanScrape = errors.New("--scrape needs the full flightline binary: this one was built with -tags lean, " +
	"which leaves Prometheus's engine out; give --prometheus-url, or run `go install ./cmd/flightline` (no tags)")

func openScrape(context.Context, []string, time.Duration, string) (metrics.Provider, func() error, error) {
	return nil, nil, errLeanScrape
}
