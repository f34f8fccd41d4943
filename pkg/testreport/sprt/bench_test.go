package sprt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchDesign is the benchmark: p0 = 0.9 with the defaults (δ = 0.1, α = β = 0.05).
var benchDesign = Design{P0: 0.9, Delta: DefaultDelta, Alpha: DefaultAlpha, Beta: DefaultBeta, MaxRuns: 1000}

var benchRates = []float64{0.5, 0.8, 0.95, 0.99}

// The exact expected number of runs at each benchmark rate is at most 60 % of the fixed-N
// design with the same α and β (the benchmark below measures the same by simulation).
func TestExpectedRuns_AtMost60PercentOfFixedN(t *testing.T) {
	fixed, _, ok := FixedN(benchDesign, 5000)
	require.True(t, ok)
	for _, rate := range benchRates {
		oc := Operating(benchDesign, rate)
		t.Logf("rate %.2f: %.1f runs on average, %.0f %% of fixed N %d; P(pass) %.4f P(fail) %.4f",
			rate, oc.ExpectedRuns, 100*oc.ExpectedRuns/float64(fixed), fixed, oc.PPass, oc.PFail)
		assert.LessOrEqual(t, oc.ExpectedRuns, 0.6*float64(fixed), "rate %g", rate)
	}
}

// BenchmarkRunsToDecide simulates one behavioural test per iteration at each true rate and
// reports the average runs the sequential test needed, the fixed N, and their ratio:
//
//	go test ./pkg/testreport/sprt -run '^$' -bench RunsToDecide -benchtime 20000x
func BenchmarkRunsToDecide(b *testing.B) {
	fixed, _, _ := FixedN(benchDesign, 5000)
	for _, rate := range benchRates {
		b.Run(fmt.Sprintf("rate=%.2f", rate), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(rate*1000)))
			total, wrong := 0, 0
			for b.Loop() {
				dec, n := Simulate(benchDesign, rate, rng)
				total += n
				if (rate < benchDesign.P0 && dec == Pass) || (rate >= benchDesign.P0 && dec == Fail) {
					wrong++
				}
			}
			avg := float64(total) / float64(b.N)
			b.ReportMetric(avg, "runs/test")
			b.ReportMetric(float64(fixed), "fixed-N")
			b.ReportMetric(100*avg/float64(fixed), "%-of-fixed-N")
			b.ReportMetric(float64(wrong)/float64(b.N), "wrong/test")
		})
	}
}
