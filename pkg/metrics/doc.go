// Package metrics answers PromQL queries through a Provider, so the canary engine never sees HTTP.
package metrics
