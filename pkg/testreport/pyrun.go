package testreport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

type pyRunner struct {
	o   *Options
	tmp string
	n   int
}

// pytest's exit codes (pytest.ExitCode).
const (
	pytestOK          = 0
	pytestTestsFailed = 1
	pytestNoTests     = 5
)

// pytest runs pytest with a JUnit report (xunit1, for file and line) and returns the report
// and pytest's exit code.
func (p *pyRunner) pytest(ctx context.Context, env []string, args ...string) (*Suite, int, string, error) {
	if p.tmp == "" {
		dir, err := os.MkdirTemp("", "flightline-pytest-")
		if err != nil {
			return nil, 0, "", err
		}
		p.tmp = dir
	}
	p.n++
	xml := filepath.Join(p.tmp, "report-"+strconv.Itoa(p.n)+".xml")
	full := append(append([]string(nil), p.o.Pytest[1:]...), "-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml="+xml)
	full = append(append(full, p.o.Args...), args...)
	out, stderr, err := command(ctx, p.o.Dir, env, p.o.Pytest[0], full...)
	if ctx.Err() != nil {
		return nil, 0, "", ctx.Err()
	}
	code := 0
	var ee *exec.ExitError
	if err != nil {
		if !errors.As(err, &ee) {
			return nil, 0, "", fmt.Errorf("running %s: %w", p.o.Pytest[0], err)
		}
		code = ee.ExitCode()
	}
	text := string(out) + stderr
	f, ferr := os.Open(xml)
	if ferr != nil {
		if code == pytestNoTests {
			return &Suite{}, code, text, nil
		}
		return nil, code, text, fmt.Errorf("pytest exited %d and wrote no report:\n%s", code, tail(text, 20))
	}
	defer f.Close()
	s, perr := ParseJUnit("pytest report", f, p.o.Locator)
	if perr != nil {
		return nil, code, text, perr
	}
	if code != pytestOK && code != pytestTestsFailed && code != pytestNoTests {
		// Interrupted (collection errors), internal or usage error: the report may hold the
		// collection errors as test cases; keep pytest's own words too.
		s.Problems = append(s.Problems, &Problem{Kind: "pytest", Message: fmt.Sprintf("pytest exited %d", code), Output: tail(text, 40)})
	}
	return s, code, text, nil
}

func (p *pyRunner) close() {
	if p.tmp != "" {
		os.RemoveAll(p.tmp)
	}
}

func (p *pyRunner) suite(ctx context.Context) (*Suite, error) {
	var args []string
	if p.o.Run != "" {
		args = append(args, "-k", p.o.Run)
	}
	if p.o.Behavioural != "" {
		args = append(args, "-m", "not ("+p.o.Behavioural+")")
	}
	args = append(args, p.o.Packages...)
	p.o.Logf("%s %s", strings.Join(p.o.Pytest, " "), strings.Join(append(append([]string(nil), p.o.Args...), args...), " "))
	s, code, text, err := p.pytest(ctx, p.o.Env, args...)
	if err != nil {
		return nil, err
	}
	if code == pytestNoTests && p.o.Behavioural != "" {
		return &Suite{}, nil // everything collected is behavioural
	}
	if code == pytestNoTests || (len(s.Tests) == 0 && len(s.Problems) == 0) {
		return nil, fmt.Errorf("%w\n%s", p.noTests(), tail(text, 10))
	}
	return s, nil
}

func (p *pyRunner) rerun(ctx context.Context, failed []*Test) (*Suite, error) {
	var ids []string
	for _, t := range failed {
		if t.ID != "" {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return &Suite{}, nil
	}
	s, _, _, err := p.pytest(ctx, p.o.Env, ids...)
	return s, err
}

func (p *pyRunner) noTests() error {
	msg := "pytest collected no test"
	if len(p.o.Packages) > 0 {
		msg += " in " + strings.Join(p.o.Packages, " ")
	}
	if p.o.Run != "" {
		msg += fmt.Sprintf(": -k %q matches no test", p.o.Run)
	}
	return fmt.Errorf("%w: %s (a gate that tested nothing has not passed)", ErrNoTests, msg)
}

// behavioural collects the node ids with the marker expression, then runs each node id alone
// until the design decides.
func (p *pyRunner) behavioural(ctx context.Context) ([]*Behaviour, error) {
	args := append(append([]string(nil), p.o.Pytest[1:]...), "-p", "no:cacheprovider", "--collect-only", "-q", "-m", p.o.Behavioural)
	args = append(append(args, p.o.Args...), p.o.Packages...)
	out, stderr, err := command(ctx, p.o.Dir, p.o.Env, p.o.Pytest[0], args...)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("running %s: %w", p.o.Pytest[0], err)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			break // the node ids end at the first blank line
		}
		if strings.Contains(line, "::") {
			ids = append(ids, line)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: the behavioural marker expression %q selects no test\n%s", ErrNoTests, p.o.Behavioural, tail(string(out)+stderr, 10))
	}
	var bs []*Behaviour
	for _, id := range ids {
		b := &Behaviour{Name: id, ID: id}
		bs = append(bs, b)
		res, err := p.o.Design.Run(ctx, nil, func(ctx context.Context, run int) (bool, error) {
			env := append(append([]string(nil), p.o.Env...), "FLIGHTLINE_TEST_ITERATION="+strconv.Itoa(run))
			s, _, text, err := p.pytest(ctx, env, id)
			if err != nil {
				return false, err
			}
			if len(s.Tests) != 1 {
				return false, fmt.Errorf("run %d of %s reported %d tests, want 1:\n%s", run, id, len(s.Tests), tail(text, 10))
			}
			t := s.Tests[0]
			switch t.Status {
			case Skip:
				return false, fmt.Errorf("%w: %s", errSkipped, t.SkipReason)
			case Fail:
				b.Output, b.File, b.Line = t.Output, t.File, t.Line
			}
			return t.Status == Pass, nil
		})
		if err := p.o.judged(ctx, b, res, err); err != nil {
			return bs, err
		}
	}
	return bs, nil
}
