package testreport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// The runners.
const (
	RunnerGo     = "go"
	RunnerPytest = "pytest"
)

// Options says what to run and how to judge it. The zero value of a field takes the default
// in its comment.
type Options struct {
	// Runner is RunnerGo (default) or RunnerPytest.
	Runner string
	// Packages are Go package patterns (default ./...) or pytest paths and node ids (default:
	// pytest's own discovery).
	Packages []string
	// Run selects tests: go test -run (Go's pattern, split at unbracketed '/'), pytest -k.
	Run string
	// Args are extra arguments for go test (build and test flags: -race, -tags=x, -timeout=5m)
	// or for pytest.
	Args []string
	// Dir is the working directory (absolute; default the process's).
	Dir string
	// Go is the go command (default "go"); Pytest the pytest command line (default "pytest").
	Go     string
	Pytest []string
	// RerunFailed reruns the failed tests up to this many times; a test that fails and then
	// passes is flaky.
	RerunFailed int
	// Behavioural selects the tests judged as probabilities: a Go test-name pattern (Go's -run
	// syntax; a test at the pattern's depth is one behavioural test, so TestX judges TestX with
	// its subtests and TestX/.* judges each subtest), or a pytest marker expression. They are
	// left out of the suite's run and run one at a time until Design decides.
	Behavioural string
	Design      sprt.Design
	// Env is the environment of the test processes (default: the process's).
	Env []string
	// Locator places failures; its WorkDir defaults to Dir.
	Locator Locator
	// Logf receives progress lines (default: none). They may hold test names: the caller
	// writes them through a sanitiser (see Safe).
	Logf func(format string, args ...any)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Runner == "" {
		o.Runner = RunnerGo
	}
	if o.Runner != RunnerGo && o.Runner != RunnerPytest {
		return fmt.Errorf("runner %q: valid runners are go, pytest", o.Runner)
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if len(o.Pytest) == 0 {
		o.Pytest = []string{"pytest"}
	}
	if o.Runner == RunnerGo && len(o.Packages) == 0 {
		o.Packages = []string{"./..."}
	}
	if o.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		o.Dir = wd
	}
	if o.Locator.WorkDir == "" {
		o.Locator.WorkDir = o.Dir
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RerunFailed < 0 {
		return fmt.Errorf("rerun-failed %d: want 0 or more", o.RerunFailed)
	}
	if o.Behavioural != "" {
		if err := o.Design.Validate(); err != nil {
			return err
		}
		if o.Runner == RunnerGo {
			if err := validGoPattern(o.Behavioural); err != nil {
				return fmt.Errorf("behavioural %q: %w", o.Behavioural, err)
			}
		}
	}
	if o.Runner == RunnerGo && o.Run != "" {
		if err := validGoPattern(o.Run); err != nil {
			return fmt.Errorf("run %q: %w", o.Run, err)
		}
	}
	return nil
}

// Run runs the suite, reruns its failures, judges the behavioural tests and returns the report.
// An error means the suite could not be run or held no test; failing tests are not an error
// (see Report.Verdict).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := o.Now()
	rep := &Report{V: 1, Runner: o.Runner}
	var r runner
	switch o.Runner {
	case RunnerGo:
		r = &goRunner{o: &o}
	default:
		pr := &pyRunner{o: &o}
		defer pr.close()
		r = pr
	}
	suite, err := r.suite(ctx)
	if err != nil {
		return nil, err
	}
	rep.Suite = suite
	for attempt := 1; attempt <= o.RerunFailed; attempt++ {
		failed := suite.Failed()
		if len(failed) == 0 {
			break
		}
		o.Logf("rerun %d of %d: %d failed test(s)", attempt, o.RerunFailed, len(failed))
		again, err := r.rerun(ctx, failed)
		if err != nil {
			return nil, fmt.Errorf("rerunning failed tests: %w", err)
		}
		again.Problems = nil // a rerun's build or package problems are the first run's
		suite.Merge(again)
	}
	if o.Behavioural != "" {
		if o.Design.MaxRuns == 0 {
			o.Design.MaxRuns = sprt.DefaultMaxRuns
		}
		d := o.Design
		rep.Design = &DesignReport{P0: d.P0, P1: d.P1(), Delta: d.Delta, Alpha: d.Alpha, Beta: d.Beta, MaxRuns: d.MaxRuns}
		if n, _, ok := sprt.FixedN(d, 100000); ok {
			rep.Design.FixedN = n
		}
		bs, err := r.behavioural(ctx)
		rep.Behavioural = bs
		if err != nil {
			return rep, err
		}
	}
	if len(suite.Tests) == 0 && len(suite.Problems) == 0 && len(rep.Behavioural) == 0 {
		return nil, r.noTests()
	}
	o.Locator.Locate(suite)
	rep.Totals = suite.Totals()
	rep.Duration = o.Now().Sub(start).Seconds()
	return rep, nil
}

type runner interface {
	suite(ctx context.Context) (*Suite, error)
	rerun(ctx context.Context, failed []*Test) (*Suite, error)
	behavioural(ctx context.Context) ([]*Behaviour, error)
	noTests() error
}

// command runs name args in dir and returns stdout; stderr is kept for errors. A non-zero exit
// is returned as *exec.ExitError with stdout still filled.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (stdout []byte, stderr string, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	return out.Bytes(), errb.String(), err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// splitGoPattern splits a go test -run pattern as the testing package does: alternatives at
// unbracketed '|', elements at unbracketed '/'.
func splitGoPattern(s string) [][]string {
	var alts [][]string
	var elems []string
	cs, cp := 0, 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 {
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case '/', '|':
			if cs == 0 && cp == 0 {
				elems = append(elems, s[:i])
				if s[i] == '|' {
					alts = append(alts, elems)
					elems = nil
				}
				s = s[i+1:]
				i = 0
				continue
			}
		}
		i++
	}
	elems = append(elems, s)
	return append(alts, elems)
}

func validGoPattern(p string) error {
	for _, alt := range splitGoPattern(p) {
		for _, e := range alt {
			if _, err := regexp.Compile(e); err != nil {
				return fmt.Errorf("not a Go test pattern: %w", err)
			}
		}
	}
	return nil
}

// exactGoPattern is the -run pattern that selects exactly the named tests (subtests included,
// each level anchored and quoted).
func exactGoPattern(names []string) string {
	var alts []string
	for _, n := range names {
		parts := strings.Split(n, "/")
		for i, p := range parts {
			parts[i] = "^" + regexp.QuoteMeta(p) + "$"
		}
		alts = append(alts, strings.Join(parts, "/"))
	}
	return strings.Join(alts, "|")
}

// matchGoPattern reports whether test name matches pattern as go test -run matches it (a name
// shorter than the pattern matches if its levels do, for the parent to run).
func matchGoPattern(pattern, name string) bool {
	levels := strings.Split(name, "/")
	for _, alt := range splitGoPattern(pattern) {
		ok := true
		for i, lv := range levels {
			if i >= len(alt) {
				break
			}
			re, err := regexp.Compile(alt[i])
			if err != nil || !re.MatchString(lv) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// goPatternDepth is the number of levels of the longest alternative.
func goPatternDepth(pattern string) int {
	d := 0
	for _, alt := range splitGoPattern(pattern) {
		d = max(d, len(alt))
	}
	return d
}

var errSkipped = errors.New("the test skipped itself")

// absPaths makes relative entries of paths absolute against dir.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// judged records a behavioural test's result: a trial that errored (the test skipped itself, a
// run did not run it) leaves it undecided with a note; only a cancelled ctx is returned.
func (o *Options) judged(ctx context.Context, b *Behaviour, res sprt.Result, err error) error {
	b.Result = res
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		b.Decision = sprt.Undecided
		b.Note = "stopped after " + strconv.Itoa(res.Runs) + " runs: " + err.Error()
	}
	o.Logf("behavioural %s: %s after %d runs (%d passed, %.1f %%, 95 %% interval %.1f–%.1f %%)",
		b.Name, b.Decision, b.Runs, b.Passes, 100*b.Rate, 100*b.Low, 100*b.High)
	return nil
}
