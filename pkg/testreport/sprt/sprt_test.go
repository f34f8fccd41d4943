package sprt

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
// method 3 (score interval without continuity correction), to four decimals.
func TestWilson_Newcombe(t *testing.T) {
	tests := []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	}
	for _, tc := range tests {
		lo, hi := Wilson(tc.k, tc.n, Z95)
		assert.InDelta(t, tc.lo, lo, 0.00005, "%d/%d low", tc.k, tc.n)
		assert.InDelta(t, tc.hi, hi, 0.00005, "%d/%d high", tc.k, tc.n)
	}
}

// The Wilson bounds are exactly the rates whose score statistic equals z: check the defining
// equation (k/n − p)² = z² p(1−p)/n at both ends, over many counts.
func TestWilson_SolvesTheScoreEquation(t *testing.T) {
	for _, n := range []int{1, 2, 5, 10, 37, 100, 1000} {
		for k := 0; k <= n; k++ {
			lo, hi := Wilson(k, n, Z95)
			require.LessOrEqual(t, lo, float64(k)/float64(n))
			require.GreaterOrEqual(t, hi, float64(k)/float64(n))
			for _, p := range []float64{lo, hi} {
				if p == 0 || p == 1 {
					continue // the boundary at 0 passes or n passes
				}
				lhs := math.Pow(float64(k)/float64(n)-p, 2)
				rhs := Z95 * Z95 * p * (1 - p) / float64(n)
				require.InDelta(t, rhs, lhs, 1e-12, "k=%d n=%d p=%g", k, n, p)
			}
		}
	}
	lo, hi := Wilson(0, 0, Z95)
	assert.Equal(t, [2]float64{0, 1}, [2]float64{lo, hi})
}

func TestBinomial_Exact(t *testing.T) {
	// C(5,2) 0.3² 0.7³ = 10 × 0.09 × 0.343
	assert.InDelta(t, 0.3087, BinomPMF(2, 5, 0.3), 1e-12)
	assert.InDelta(t, 0.16807+0.36015+0.3087, BinomCDF(2, 5, 0.3), 1e-12)
	// P(X ≤ 116 | n=135, p=0.9) summed by hand from the recurrence pmf(k+1) = pmf(k)·(n−k)/(k+1)·p/q.
	n, p := 135, 0.9
	pmf := math.Pow(1-p, float64(n))
	sum := 0.0
	for k := 0; k <= 116; k++ {
		sum += pmf
		pmf *= float64(n-k) / float64(k+1) * p / (1 - p)
	}
	assert.InDelta(t, sum, BinomCDF(116, n, p), 1e-12)
	assert.Equal(t, 1.0, BinomPMF(0, 4, 0))
	assert.Equal(t, 1.0, BinomPMF(4, 4, 1))
}

func TestDesign_Validate(t *testing.T) {
	ok := Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 10}
	require.NoError(t, ok.Validate())
	for name, tc := range map[string]struct {
		mut  func(*Design)
		want string
	}{
		"p0 one":        {func(d *Design) { d.P0 = 1 }, "pass-rate 1"},
		"delta too big": {func(d *Design) { d.Delta = 0.9 }, "indifference 0.9"},
		"alpha":         {func(d *Design) { d.Alpha = 0 }, "alpha 0"},
		"beta":          {func(d *Design) { d.Beta = 0.5 }, "beta 0.5"},
		"max runs":      {func(d *Design) { d.MaxRuns = 0 }, "max-runs 0"},
	} {
		d := ok
		tc.mut(&d)
		err := d.Validate()
		require.ErrorIs(t, err, ErrDesign, name)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

// The boundaries, by hand for p0 = 0.9, p1 = 0.8, α = β = 0.05: a pass moves the ratio by
// ln(0.8/0.9), a failure by ln(0.2/0.1) = ln 2; the test fails at ln(1/α) = ln 20 and passes at
// ln β = −ln 20.
func TestBoundaries_ByHand(t *testing.T) {
	d := Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 1000}
	lo, hi := d.Bounds()
	assert.InDelta(t, -math.Log(20), lo, 1e-15)
	assert.InDelta(t, math.Log(20), hi, 1e-15)
	sp, sf := math.Log(0.8/0.9), math.Log(2)
	for _, n := range []int{1, 4, 5, 10, 25, 26, 50, 100} {
		passAt, failAt := d.Boundaries(n)
		// Solve k·sp + (n−k)·sf ≤ lo and ≥ hi for k directly.
		wantPass := int(math.Ceil((lo - float64(n)*sf) / (sp - sf)))
		wantFail := int(math.Floor((hi - float64(n)*sf) / (sp - sf)))
		if wantPass < 0 {
			wantPass = 0
		}
		if wantPass > n {
			wantPass = n + 1
		}
		if wantFail > n {
			wantFail = n
		}
		if wantFail < 0 {
			wantFail = -1
		}
		assert.Equal(t, wantPass, passAt, "n=%d passAt", n)
		assert.Equal(t, wantFail, failAt, "n=%d failAt", n)
	}
	// Five failures in a row: 5 ln 2 = 3.47 ≥ ln 20 = 3.00, but four are not (2.77).
	_, failAt := d.Boundaries(4)
	assert.Equal(t, -1, failAt)
	_, failAt = d.Boundaries(5)
	assert.Equal(t, 0, failAt)
	// Passing needs 26 passes in a row: 26 × 0.1178 = 3.06 ≥ 3.00, 25 give 2.94 < ln 20.
	passAt, _ := d.Boundaries(25)
	assert.Equal(t, 26, passAt)
	passAt, _ = d.Boundaries(26)
	assert.Equal(t, 26, passAt)
}

func TestDecide_KnownSequences(t *testing.T) {
	d := Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 40}
	seq := func(s string) []bool {
		out := make([]bool, len(s))
		for i := range s {
			out[i] = s[i] == 'P'
		}
		return out
	}
	rep := func(s string, n int) string {
		out := ""
		for range n {
			out += s
		}
		return out
	}
	tests := []struct {
		name, seq string
		want      Decision
		runs      int
	}{
		{"26 passes pass", rep("P", 30), Pass, 26},
		{"5 failures fail", "FFFFFPPP", Fail, 5},
		{"a failure costs about six passes", "F" + rep("P", 40), Pass, 33},
		{"in between until the cap", rep("PPPPPPPPF", 5), Undecided, 40},
		{"not enough runs yet", "PPP", Continue, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Result
			i := 0
			s := seq(tc.seq)
			res, err := d.Run(context.Background(), nil, func(context.Context, int) (bool, error) {
				if i >= len(s) {
					return false, errors.New("sequence exhausted")
				}
				i++
				return s[i-1], nil
			})
			if tc.want == Continue {
				require.Error(t, err)
				got = res
			} else {
				require.NoError(t, err)
				got = res
			}
			assert.Equal(t, tc.want, got.Decision)
			assert.Equal(t, tc.runs, got.Runs)
			assert.Equal(t, tc.seq[:tc.runs], got.Sequence)
		})
	}
}

func TestRun_FirstObservationsCount(t *testing.T) {
	d := Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 100}
	calls := 0
	res, err := d.Run(context.Background(), []bool{false, false, false, false}, func(_ context.Context, run int) (bool, error) {
		calls++
		assert.Equal(t, 5, run)
		return false, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, Fail, res.Decision)
	assert.Equal(t, "FFFFF", res.Sequence)
	lo, hi := Wilson(0, 5, Z95)
	assert.Equal(t, [2]float64{lo, hi}, [2]float64{res.Low, res.High})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = d.Run(ctx, []bool{true}, func(context.Context, int) (bool, error) { return true, nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, res.Runs)
}

// Operating's dynamic programme against brute force: every one of the 2^n sequences of a
// small design, weighted by its exact probability.
func TestOperating_MatchesEnumeration(t *testing.T) {
	d := Design{P0: 0.8, Delta: 0.3, Alpha: 0.1, Beta: 0.1, MaxRuns: 14}
	for _, rate := range []float64{0.3, 0.5, 0.65, 0.8, 0.95} {
		var want OC
		for mask := 0; mask < 1<<d.MaxRuns; mask++ {
			runs, passes := 0, 0
			pr := 1.0
			dec := Continue
			for runs < d.MaxRuns && dec == Continue {
				ok := mask&(1<<runs) != 0
				runs++
				if ok {
					passes++
					pr *= rate
				} else {
					pr *= 1 - rate
				}
				dec = d.Decide(runs, passes)
			}
			// Only the first `runs` bits matter: count each prefix once, at its lowest mask.
			if mask>>runs != 0 {
				continue
			}
			switch dec {
			case Pass:
				want.PPass += pr
			case Fail:
				want.PFail += pr
			default:
				want.PUndecided += pr
			}
			want.ExpectedRuns += pr * float64(runs)
		}
		got := Operating(d, rate)
		assert.InDelta(t, want.PPass, got.PPass, 1e-12, "rate %g", rate)
		assert.InDelta(t, want.PFail, got.PFail, 1e-12, "rate %g", rate)
		assert.InDelta(t, want.PUndecided, got.PUndecided, 1e-12, "rate %g", rate)
		assert.InDelta(t, want.ExpectedRuns, got.ExpectedRuns, 1e-9, "rate %g", rate)
		assert.InDelta(t, 1, got.PPass+got.PFail+got.PUndecided, 1e-12)
	}
}

// FixedN against a plain search over (n, c) on the exact binomial.
func TestFixedN_SmallestDesign(t *testing.T) {
	d := Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05}
	n, c, ok := FixedN(d, 1000)
	require.True(t, ok)
	assert.Equal(t, 135, n)
	assert.Equal(t, 116, c)
	assert.LessOrEqual(t, BinomCDF(c-1, n, 0.9), 0.05)
	assert.LessOrEqual(t, 1-BinomCDF(c-1, n, 0.8), 0.05)
	for m := 1; m < n; m++ {
		for cc := 0; cc <= m; cc++ {
			fa, miss := BinomCDF(cc-1, m, 0.9), 1-BinomCDF(cc-1, m, 0.8)
			require.False(t, fa <= 0.05 && miss <= 0.05, "n=%d c=%d would be a smaller design", m, cc)
		}
	}
	_, _, ok = FixedN(d, 50)
	assert.False(t, ok)
}

// The acceptance case: p0 = 0.9, δ = 0.05, α = β = 0.05. Simulated tests with true rates 0.5
// and 0.85 fail, 0.93 and 0.99 pass, in fewer runs on average than the fixed-N design; over
// 10,000 simulated tests at p0 and at p0 − δ the observed error rates are within α and β. The
// random source is seeded: the test is deterministic.
func TestSimulated_Acceptance(t *testing.T) {
	d := Design{P0: 0.9, Delta: 0.05, Alpha: 0.05, Beta: 0.05, MaxRuns: 2000}
	fixed, _, ok := FixedN(d, 5000)
	require.True(t, ok)
	rng := rand.New(rand.NewPCG(2026, 13))
	const sims = 10000
	type tally struct{ pass, fail, undecided, runs int }
	run := func(rate float64) tally {
		var tl tally
		for range sims {
			dec, n := Simulate(d, rate, rng)
			tl.runs += n
			switch dec {
			case Pass:
				tl.pass++
			case Fail:
				tl.fail++
			default:
				tl.undecided++
			}
		}
		return tl
	}
	for _, tc := range []struct {
		rate float64
		want Decision
	}{{0.5, Fail}, {0.85, Fail}, {0.93, Pass}, {0.99, Pass}} {
		tl := run(tc.rate)
		avg := float64(tl.runs) / sims
		t.Logf("rate %.2f: pass %d fail %d undecided %d, %.1f runs on average (fixed N %d)", tc.rate, tl.pass, tl.fail, tl.undecided, avg, fixed)
		assert.Less(t, avg, float64(fixed), "rate %g: fewer runs than the fixed-N design", tc.rate)
		if tc.want == Fail {
			assert.Greater(t, tl.fail, sims/2, "rate %g fails", tc.rate)
		} else {
			assert.Greater(t, tl.pass, sims/2, "rate %g passes", tc.rate)
		}
		switch tc.rate {
		case 0.85: // p0 − δ: passing is the error, bounded by β
			assert.LessOrEqual(t, float64(tl.pass)/sims, d.Beta)
		}
	}
	// At p0 itself failing is the error, bounded by α.
	tl := run(d.P0)
	t.Logf("rate %.2f: pass %d fail %d undecided %d", d.P0, tl.pass, tl.fail, tl.undecided)
	assert.LessOrEqual(t, float64(tl.fail)/sims, d.Alpha)
	// And the simulation agrees with the exact operating characteristic.
	oc := Operating(d, d.P0)
	assert.InDelta(t, oc.PFail, float64(tl.fail)/sims, 4*math.Sqrt(oc.PFail*(1-oc.PFail)/sims))
	assert.LessOrEqual(t, oc.PFail, d.Alpha)
	assert.LessOrEqual(t, Operating(d, d.P1()).PPass, d.Beta)
}
