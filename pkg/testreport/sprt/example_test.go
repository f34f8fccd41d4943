package sprt_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

func ExampleDesign_Run() {
	d := sprt.Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 200}
	rng := rand.New(rand.NewPCG(7, 7))
	// A test that passes half the time: it fails after a handful of runs.
	res, _ := d.Run(context.Background(), nil, func(context.Context, int) (bool, error) {
		return rng.Float64() < 0.5, nil
	})
	fmt.Printf("%s after %d runs (%d passed, 95%% interval %.2f–%.2f)\n", res.Decision, res.Runs, res.Passes, res.Low, res.High)
	// Output: fail after 13 runs (7 passed, 95% interval 0.29–0.77)
}

func ExampleFixedN() {
	n, c, _ := sprt.FixedN(sprt.Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05}, 1000)
	fmt.Printf("run %d times, pass with at least %d passes\n", n, c)
	// Output: run 135 times, pass with at least 116 passes
}
