// Package testreport reads test results (go test -json streams and JUnit XML), reruns failed tests
// to tell flaky from broken, judges behavioural tests as probabilities with a sequential test, and
// renders the verdict: annotations at the failing line, a step summary and a JSON report.
package testreport
