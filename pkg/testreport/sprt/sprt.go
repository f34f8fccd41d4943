package sprt

import (
	"errors"
	"fmt"
	"math"
)

// Design is a sequential test of a pass rate p, one trial at a time:
//
//	H0: p ≥ P0        (the test is good: pass it)
//	H1: p ≤ P0 − Delta (the test regressed: fail it)
//
// Alpha is the chance of failing a test whose true rate is P0 (a false alarm), Beta the chance
// of passing one whose true rate is P0 − Delta (a missed regression). Between the two, in the
// indifference zone, either decision is acceptable. MaxRuns caps the trials: a test still
// between the boundaries there is Undecided.
type Design struct {
	P0      float64 // required pass rate, in (0, 1)
	Delta   float64 // indifference: the test tells p ≥ P0 from p ≤ P0 − Delta; in (0, P0)
	Alpha   float64 // in (0, 0.5)
	Beta    float64 // in (0, 0.5)
	MaxRuns int     // ≥ 1
}

// Defaults: α = β = 0.05, δ = 0.1, at most 200 runs.
const (
	DefaultAlpha   = 0.05
	DefaultBeta    = 0.05
	DefaultDelta   = 0.1
	DefaultMaxRuns = 200
)

// ErrDesign is wrapped by Validate's errors.
var ErrDesign = errors.New("invalid sequential test design")

// Validate checks every parameter and names the bad one.
func (d Design) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrDesign, fmt.Sprintf(format, args...))
	}
	switch {
	case !(d.P0 > 0 && d.P0 < 1):
		return bad("pass-rate %g: want a rate strictly between 0 and 1, such as 0.9", d.P0)
	case !(d.Delta > 0 && d.Delta < d.P0):
		return bad("indifference %g: want a width above 0 and below pass-rate %g, such as 0.1", d.Delta, d.P0)
	case !(d.Alpha > 0 && d.Alpha < 0.5):
		return bad("alpha %g: want an error rate above 0 and below 0.5, such as 0.05", d.Alpha)
	case !(d.Beta > 0 && d.Beta < 0.5):
		return bad("beta %g: want an error rate above 0 and below 0.5, such as 0.05", d.Beta)
	case d.MaxRuns < 1:
		return bad("max-runs %d: want at least 1", d.MaxRuns)
	}
	return nil
}

// P1 is the rate of a regressed test, P0 − Delta.
func (d Design) P1() float64 { return d.P0 - d.Delta }

// Bounds returns the boundaries on the log-likelihood ratio of H1 to H0: the test passes at or
// below lower = ln β and fails at or above upper = ln(1/α). These are the boundaries for which
// Wald's inequalities guarantee the error rates (α' ≤ α(1−β') and β' ≤ β(1−α'), whatever the
// overshoot), rather than his approximations ln(β/(1−α)) and ln((1−β)/α), which can exceed α
// and β by up to a factor 1/(1−β); the price is a fraction of a run on average.
func (d Design) Bounds() (lower, upper float64) {
	return math.Log(d.Beta), math.Log(1 / d.Alpha)
}

// steps returns the change of the log-likelihood ratio after a pass and after a failure.
func (d Design) steps() (pass, fail float64) {
	p0, p1 := d.P0, d.P1()
	return math.Log(p1 / p0), math.Log((1 - p1) / (1 - p0))
}

// LLR is the log-likelihood ratio of H1 to H0 after passes out of runs.
func (d Design) LLR(runs, passes int) float64 {
	sp, sf := d.steps()
	return float64(passes)*sp + float64(runs-passes)*sf
}

// Decision is the verdict on a behavioural test.
type Decision string

// The decisions. Continue means: run it again.
const (
	Continue  Decision = ""
	Pass      Decision = "pass"
	Fail      Decision = "fail"
	Undecided Decision = "undecided"
)

// Decide returns the decision after passes out of runs: Fail at or above the upper boundary,
// Pass at or below the lower one, Undecided between them once MaxRuns is reached, Continue
// otherwise.
func (d Design) Decide(runs, passes int) Decision {
	if runs <= 0 {
		return Continue
	}
	lo, hi := d.Bounds()
	llr := d.LLR(runs, passes)
	// A tolerance keeps a ratio that sits on a boundary in exact arithmetic from missing it by
	// a rounding error.
	const eps = 1e-9
	switch {
	case llr >= hi-eps:
		return Fail
	case llr <= lo+eps:
		return Pass
	case runs >= d.MaxRuns:
		return Undecided
	}
	return Continue
}

// Boundaries returns, for a test run n times, the fewest passes that pass it (passAt; n+1 when
// no count can) and the most passes that still fail it (failAt; −1 when none does), both
// derived from the decision rule so that they agree with Decide.
func (d Design) Boundaries(n int) (passAt, failAt int) {
	passAt, failAt = n+1, -1
	for k := 0; k <= n; k++ {
		lo, hi := d.Bounds()
		llr := d.LLR(n, k)
		if llr <= lo+1e-9 && passAt == n+1 {
			passAt = k
		}
		if llr >= hi-1e-9 {
			failAt = k
		}
	}
	return passAt, failAt
}
