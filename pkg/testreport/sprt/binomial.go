package sprt

import "math"

// Z95 is the standard normal quantile for a two-sided 95 % interval.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for passes out of runs at normal quantile z (Z95
// for 95 %): the rates p whose score statistic |k/n − p| / sqrt(p(1−p)/n) is at most z. It
// stays inside [0, 1] and is honest at 0 and n passes, where the normal interval collapses.
// With no runs it is [0, 1].
func Wilson(passes, runs int, z float64) (lo, hi float64) {
	if runs <= 0 {
		return 0, 1
	}
	n, k := float64(runs), float64(passes)
	z2 := z * z
	center := (k + z2/2) / (n + z2)
	half := z / (n + z2) * math.Sqrt(k*(n-k)/n+z2/4)
	lo, hi = math.Max(0, center-half), math.Min(1, center+half)
	if passes == 0 {
		lo = 0
	}
	if passes == runs {
		hi = 1
	}
	return lo, hi
}

// BinomPMF is P(X = k) for X ~ Binomial(n, p), computed in log space.
func BinomPMF(k, n int, p float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	switch p {
	case 0:
		if k == 0 {
			return 1
		}
		return 0
	case 1:
		if k == n {
			return 1
		}
		return 0
	}
	return math.Exp(logChoose(n, k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// BinomCDF is P(X ≤ k) for X ~ Binomial(n, p).
func BinomCDF(k, n int, p float64) float64 {
	if k < 0 {
		return 0
	}
	if k >= n {
		return 1
	}
	s := 0.0
	for i := 0; i <= k; i++ {
		s += BinomPMF(i, n, p)
	}
	return math.Min(1, s)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// FixedN returns the smallest fixed-sample design with the same error rates as d: run the test
// n times and pass it when at least c runs pass, with P(fewer than c | P0) ≤ α and
// P(at least c | P0 − Delta) ≤ β, computed on the exact binomial. It is what a sequential test
// is measured against. ok is false when no n up to limit reaches the error rates.
func FixedN(d Design, limit int) (n, c int, ok bool) {
	p0, p1 := d.P0, d.P1()
	for n = 1; n <= limit; n++ {
		// The largest c whose false-alarm rate P(X ≤ c−1 | p0) stays within α: the passing bar
		// as low as α allows, which makes the missed-regression rate as small as it can be.
		c = -1
		for cc := n; cc >= 0; cc-- {
			if BinomCDF(cc-1, n, p0) <= d.Alpha {
				c = cc
				break
			}
		}
		if c < 0 {
			continue
		}
		if 1-BinomCDF(c-1, n, p1) <= d.Beta {
			return n, c, true
		}
	}
	return 0, 0, false
}

// OC is a design's exact behaviour at one true pass rate, from the distribution of every path
// of the test through (runs, passes) up to MaxRuns.
type OC struct {
	Rate                     float64
	PPass, PFail, PUndecided float64 // probabilities of each decision
	ExpectedRuns             float64 // the average number of runs to a decision (or the cap)
}

// Operating returns the exact decision probabilities and expected number of runs of d when the
// test passes each run with probability rate, by dynamic programming over the number of passes
// after each run (no simulation).
func Operating(d Design, rate float64) OC {
	oc := OC{Rate: rate}
	prob := []float64{1} // prob[k]: P(still running after n runs with k passes)
	for n := 0; n < d.MaxRuns; n++ {
		next := make([]float64, n+2)
		for k, pr := range prob {
			if pr == 0 {
				continue
			}
			next[k+1] += pr * rate
			next[k] += pr * (1 - rate)
		}
		runs := n + 1
		for k, pr := range next {
			if pr == 0 {
				continue
			}
			switch d.Decide(runs, k) {
			case Pass:
				oc.PPass += pr
				oc.ExpectedRuns += pr * float64(runs)
				next[k] = 0
			case Fail:
				oc.PFail += pr
				oc.ExpectedRuns += pr * float64(runs)
				next[k] = 0
			case Undecided:
				oc.PUndecided += pr
				oc.ExpectedRuns += pr * float64(runs)
				next[k] = 0
			}
		}
		prob = next
	}
	return oc
}
