package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/testreport"
	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// exitTestsFailed is test's exit code when the tests ran and the gate is closed (failed tests,
// build failures, a behavioural test that failed or stayed undecided, flaky tests with
// fail-on-flaky); 1 means the tests could not be run or read, or there were none.
const exitTestsFailed = 2

type testOptions struct {
	runner, run, args, dir, pytest string
	packages, junit                []string
	rerunFailed                    int
	failOnFlaky                    bool
	behavioural                    string
	passRate, alpha, beta, delta   float64
	maxRuns                        int
	report                         string
}

func newTestCmd(a *app) *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run Go or pytest tests, rerun failures, judge behavioural tests as probabilities",
		Long: `test runs go test -json (or pytest with a JUnit report), or reads report files given with
--junit (JUnit XML from any runner, or go test -json streams), and annotates each failure at the
file and line of the failing assertion. --rerun-failed N reruns only the failed tests: a test that
fails and then passes is flaky, counted and listed, never silently green (--fail-on-flaky fails
the step on it).

Behavioural tests (--behavioural: a Go test-name pattern, or a pytest marker expression) are left
out of the suite's run and judged as probabilities: each is run alone, one run at a time (Go: the
test binary is compiled once and run with -test.run '^Name$'; pytest: by node id), until Wald's
sequential test tells "pass rate at least --pass-rate" from "at most pass-rate minus
--indifference" with error rates --alpha (failing a good test) and --beta (passing a regressed
one), or --max-runs is reached (undecided, which fails the gate). Each run gets
FLIGHTLINE_TEST_ITERATION=N in its environment.

Outputs: passed, failed, skipped, flaky, report.
Exit codes: 0 the gate passed, 2 tests failed (or flaky with fail-on-flaky, or a behavioural test
failed or stayed undecided), 1 bad input, no tests found, or the tests could not be run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTest(cmd.Context(), a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.runner, "runner", "go", "go or pytest")
	f.StringSliceVar(&o.packages, "packages", nil, "Go package patterns (default ./...) or pytest paths and node ids")
	f.StringVar(&o.run, "run", "", "test name pattern: go test -run, pytest -k")
	f.StringVar(&o.args, "args", "", "extra arguments for go test (-race -tags=integration -timeout=10m) or pytest, split at spaces")
	f.StringVar(&o.dir, "working-directory", ".", "where to run the tests (and read relative report paths)")
	f.StringVar(&o.pytest, "pytest", "pytest", `the pytest command, split at spaces ("python3 -m pytest")`)
	f.StringSliceVar(&o.junit, "junit", nil, "report files (globs) to read instead of running: JUnit XML or go test -json streams")
	f.IntVar(&o.rerunFailed, "rerun-failed", 0, "rerun the failed tests up to N times; fail then pass is flaky")
	f.BoolVar(&o.failOnFlaky, "fail-on-flaky", false, "fail when a test is flaky")
	f.StringVar(&o.behavioural, "behavioural", "", "tests judged as probabilities: a Go test-name pattern (TestAgent, TestAgent/.*) or a pytest marker expression")
	f.Float64Var(&o.passRate, "pass-rate", 0, "behavioural: the required pass rate p0, such as 0.9 (required with --behavioural)")
	f.Float64Var(&o.alpha, "alpha", sprt.DefaultAlpha, "behavioural: chance of failing a test whose pass rate is pass-rate")
	f.Float64Var(&o.beta, "beta", sprt.DefaultBeta, "behavioural: chance of passing a test whose pass rate is pass-rate minus indifference")
	f.Float64Var(&o.delta, "indifference", sprt.DefaultDelta, "behavioural: the test tells pass-rate from pass-rate minus this")
	f.IntVar(&o.maxRuns, "max-runs", sprt.DefaultMaxRuns, "behavioural: most runs of one test; a test still undecided there fails the gate")
	f.StringVar(&o.report, "report", "test-report.json", "where to write the JSON report")
	return cmd
}

func runTest(ctx context.Context, a *app, o testOptions) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("working-directory %q: %w", o.dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("working-directory %q is not a directory", o.dir)
	}
	root := a.getenv("GITHUB_WORKSPACE")
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return err
		}
	}
	loc := testreport.NewLocator(root, dir)
	logf := func(format string, args ...any) { a.rt.Logf("%s", testreport.Safe(fmt.Sprintf(format, args...))) }

	var rep *testreport.Report
	if len(o.junit) > 0 {
		switch {
		case o.behavioural != "":
			return errors.New("behavioural needs to run the tests, and junit reads reports instead: give one or the other")
		case o.rerunFailed > 0:
			return errors.New("rerun-failed needs to run the tests, and junit reads reports instead: give one or the other")
		}
		logf("reading %s", strings.Join(o.junit, ", "))
		rep, err = testreport.Read(ctx, o.junit, loc)
	} else {
		if o.behavioural != "" && o.passRate == 0 {
			return errors.New("behavioural needs pass-rate: the pass rate a behavioural test must reach, such as 0.9")
		}
		rep, err = testreport.Run(ctx, testreport.Options{
			Runner: o.runner, Packages: o.packages, Run: o.run, Args: strings.Fields(o.args), Dir: dir,
			Pytest: strings.Fields(o.pytest), RerunFailed: o.rerunFailed, Behavioural: o.behavioural,
			Design: sprt.Design{P0: o.passRate, Delta: o.delta, Alpha: o.alpha, Beta: o.beta, MaxRuns: o.maxRuns},
			Env:    a.childEnv(), Locator: loc, Logf: logf,
		})
	}
	if err != nil {
		return err
	}
	rep.Annotate(a.rt)
	t := rep.Totals
	logf("%d tests: %d passed, %d failed, %d flaky, %d skipped, %d build/package failures, %d behavioural",
		t.Tests, t.Passed, t.Failed, t.Flaky, t.Skipped, t.Problems, len(rep.Behavioural))
	if err := rep.WriteJSON(o.report); err != nil {
		return err
	}
	if err := a.rt.SetOutputs(
		[2]string{"passed", strconv.Itoa(t.Passed)},
		[2]string{"failed", strconv.Itoa(t.Failed)},
		[2]string{"skipped", strconv.Itoa(t.Skipped)},
		[2]string{"flaky", strconv.Itoa(t.Flaky)},
		[2]string{"report", o.report},
	); err != nil {
		return err
	}
	if err := a.rt.WriteSummary(rep.Summary(o.failOnFlaky)); err != nil {
		return err
	}
	if ok, reasons := rep.Verdict(o.failOnFlaky); !ok {
		return &exitError{code: exitTestsFailed, err: errors.New(testreport.Safe("tests failed: " + strings.Join(reasons, "; ")))}
	}
	return nil
}
