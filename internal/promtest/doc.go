// Package promtest runs a real Prometheus (Debian's prometheus binary) and a small instrumented
// service for tests of the canary monitor.
package promtest
