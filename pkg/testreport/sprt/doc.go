// Package sprt judges a pass/fail trial repeated at random as a probability: Wald's sequential
// probability ratio test on the binomial, the Wilson score interval, and the fixed-N design that
// the sequential test is measured against; pure functions, randomness passed in.
package sprt
