package sprt

import (
	"context"
	"math/rand/v2"
)

// Result is what a sequential test observed and decided.
type Result struct {
	Runs     int      `json:"runs"`
	Passes   int      `json:"passes"`
	Rate     float64  `json:"rate"`      // passes / runs
	Low      float64  `json:"wilsonLow"` // 95 % Wilson interval
	High     float64  `json:"wilsonHigh"`
	LLR      float64  `json:"llr"` // log-likelihood ratio of H1 to H0 at the end
	Decision Decision `json:"decision"`
	Sequence string   `json:"sequence"` // one letter per run: P passed, F failed
}

// Summarise fills the derived fields of a result from its sequence.
func (d Design) Summarise(seq []bool) Result {
	r := Result{Runs: len(seq)}
	b := make([]byte, len(seq))
	for i, ok := range seq {
		b[i] = 'F'
		if ok {
			r.Passes++
			b[i] = 'P'
		}
	}
	r.Sequence = string(b)
	if r.Runs > 0 {
		r.Rate = float64(r.Passes) / float64(r.Runs)
	}
	r.Low, r.High = Wilson(r.Passes, r.Runs, Z95)
	r.LLR = d.LLR(r.Runs, r.Passes)
	r.Decision = d.Decide(r.Runs, r.Passes)
	return r
}

// Trial runs the test once and says whether it passed. An error stops the test.
type Trial func(ctx context.Context, run int) (passed bool, err error)

// Run repeats trial (run counts from 1) until the design decides, and returns the result with
// the runs made so far when trial fails or ctx ends. first holds results already observed (for
// example the suite's own run of the test); they count as the first runs.
func (d Design) Run(ctx context.Context, first []bool, trial Trial) (Result, error) {
	seq := append([]bool(nil), first...)
	for {
		if dec := d.Decide(len(seq), count(seq)); dec != Continue {
			return d.Summarise(seq), nil
		}
		if err := ctx.Err(); err != nil {
			return d.Summarise(seq), err
		}
		ok, err := trial(ctx, len(seq)+1)
		if err != nil {
			return d.Summarise(seq), err
		}
		seq = append(seq, ok)
	}
}

func count(seq []bool) int {
	n := 0
	for _, ok := range seq {
		if ok {
			n++
		}
	}
	return n
}

// Simulate runs the design on a simulated test that passes each run with probability rate,
// drawing from rng, and returns the decision and the number of runs it took.
func Simulate(d Design, rate float64, rng *rand.Rand) (Decision, int) {
	runs, passes := 0, 0
	for {
		if dec := d.Decide(runs, passes); dec != Continue {
			return dec, runs
		}
		runs++
		if rng.Float64() < rate {
			passes++
		}
	}
}
