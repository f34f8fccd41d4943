package testreport

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// Status is a test's outcome in one run.
type Status string

// The outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Test is one test (a Go test or subtest, a JUnit test case) with every run of it.
type Test struct {
	// Package is the Go import path, or the JUnit test suite's name.
	Package string `json:"package,omitempty"`
	// Name is the Go test name (TestX/sub), or the JUnit classname and name (cls::name).
	Name string `json:"name"`
	// ID reruns the test alone: for Go the name, for pytest the node id.
	ID string `json:"id,omitempty"`
	// Status is the outcome of the last run.
	Status Status `json:"status"`
	// Attempts are the outcomes of every run, first to last (the suite's run, then reruns).
	Attempts []Status `json:"attempts"`
	// Flaky is set when the test failed and then passed.
	Flaky bool `json:"flaky,omitempty"`
	// Elapsed is the duration of the first run, in seconds.
	Elapsed float64 `json:"elapsed"`
	// File and Line locate the failure (or the test), relative to the repository root.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Message is the failure's one-line message (JUnit), or empty.
	Message string `json:"message,omitempty"`
	// SkipReason says why a skipped test was skipped.
	SkipReason string `json:"skipReason,omitempty"`
	// Output is what the test printed in the run that decided its status (capped).
	Output string `json:"output,omitempty"`

	format   string // "go" or "junit"
	parent   string // Go: the parent test's name
	children int    // Go: number of subtests
}

// Key identifies a test across runs.
func (t *Test) Key() string { return t.Package + "\x00" + t.Name }

// FullName is the package and the name, for people.
func (t *Test) FullName() string {
	if t.Package == "" {
		return t.Name
	}
	return t.Package + " " + t.Name
}

// Problem is a failure that belongs to no single test: a build failure, a package that failed
// without a failing test (a panic in TestMain, a timeout, os.Exit), an error in a JUnit file.
type Problem struct {
	Package string `json:"package,omitempty"`
	Kind    string `json:"kind"` // build, package, setup
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Output  string `json:"output,omitempty"`
}

// Suite is the results of one run (or of report files), in the order tests first appeared.
type Suite struct {
	Tests    []*Test    `json:"tests"`
	Problems []*Problem `json:"problems,omitempty"`
	byKey    map[string]*Test
}

// index builds the lookup table on first use (a Suite may be built as a literal).
func (s *Suite) index() {
	if s.byKey == nil {
		s.byKey = map[string]*Test{}
		for _, t := range s.Tests {
			s.byKey[t.Key()] = t
		}
	}
}

func (s *Suite) lookup(pkg, name string) *Test {
	s.index()
	return s.byKey[pkg+"\x00"+name]
}

func (s *Suite) add(t *Test) {
	s.index()
	s.byKey[t.Key()] = t
	s.Tests = append(s.Tests, t)
}

// Merge adds the tests and problems of o to s. A test that is in both gets o's runs appended
// as further attempts: its status becomes o's, and a failure followed by a pass marks it flaky.
func (s *Suite) Merge(o *Suite) {
	for _, t := range o.Tests {
		prev := s.lookup(t.Package, t.Name)
		if prev == nil {
			s.add(t)
			continue
		}
		prev.record(t)
	}
	s.Problems = append(s.Problems, o.Problems...)
}

// record appends the runs of n (the same test, a later run) to t.
func (t *Test) record(n *Test) {
	t.Attempts = append(t.Attempts, n.Attempts...)
	if t.Status == Fail && n.Status == Pass || t.Flaky {
		t.Flaky = true
		// Keep the failing run's output and location: that is what a reader needs.
		t.Status = n.Status
		return
	}
	t.Status, t.Output, t.Message, t.SkipReason = n.Status, n.Output, n.Message, n.SkipReason
	if n.File != "" {
		t.File, t.Line = n.File, n.Line
	}
}

// Totals counts a suite's tests by final outcome. A flaky test (failed, then passed) is counted
// in Flaky, not in Passed. Subtests count as tests; a parent whose subtests ran is not counted
// again.
type Totals struct {
	Tests    int `json:"tests"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	Flaky    int `json:"flaky"`
	Problems int `json:"problems"`
}

// Totals counts the suite.
func (s *Suite) Totals() Totals {
	var tt Totals
	for _, t := range s.Leaves() {
		tt.Tests++
		switch {
		case t.Flaky && t.Status == Pass:
			tt.Flaky++
		case t.Status == Pass:
			tt.Passed++
		case t.Status == Fail:
			tt.Failed++
		case t.Status == Skip:
			tt.Skipped++
		}
	}
	tt.Problems = len(s.Problems)
	return tt
}

// Leaves returns the tests that are counted: every test except a Go parent whose subtests ran,
// unless the parent failed while all its subtests passed (it failed on its own).
func (s *Suite) Leaves() []*Test {
	failedChild := map[string]bool{}
	for _, t := range s.Tests {
		if t.parent != "" && t.Status == Fail {
			failedChild[t.Package+"\x00"+t.parent] = true
		}
	}
	var out []*Test
	for _, t := range s.Tests {
		if t.children > 0 && !(t.Status == Fail && !failedChild[t.Key()]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// Failed returns the counted tests whose last run failed.
func (s *Suite) Failed() []*Test {
	var out []*Test
	for _, t := range s.Leaves() {
		if t.Status == Fail {
			out = append(out, t)
		}
	}
	return out
}

// Slowest returns the n counted tests that took longest (first run), longest first.
func (s *Suite) Slowest(n int) []*Test {
	ts := append([]*Test(nil), s.Leaves()...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Elapsed > ts[j].Elapsed })
	var out []*Test
	for _, t := range ts {
		if len(out) == n || t.Status == Skip {
			continue
		}
		out = append(out, t)
	}
	return out
}

// ErrNoTests is returned when a run or a set of reports holds no test at all: a gate that
// tested nothing has not passed.
var ErrNoTests = errors.New("no tests found")

// ErrMalformed is wrapped by the errors of reports that cannot be read.
var ErrMalformed = errors.New("malformed test report")

// PositionError is a malformed report: the file, the position and what is wrong.
type PositionError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *PositionError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	b.WriteString(": " + e.Msg + " [malformed report]")
	return b.String()
}

func (e *PositionError) Unwrap() error { return ErrMalformed }
