// Package scrape is a metrics.Provider without a Prometheus server: it scrapes /metrics endpoints
// into memory and answers PromQL with Prometheus's own engine.
package scrape
