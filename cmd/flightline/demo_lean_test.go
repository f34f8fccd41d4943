//go:build lean

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDemo_LeanSaysItNeedsTheFullBinary(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "demo")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the demo needs the full flightline binary")
	assert.Contains(t, stderr, "go run ./cmd/flightline demo")
}
