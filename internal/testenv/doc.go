// Package testenv gates integration tests on real components: skip locally, fail under CI=true.
package testenv
