package testreport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

type goRunner struct {
	o         *Options
	test2json string // a test2json binary built once (go tool test2json costs a build check per call)
}

func (g *goRunner) goTest(ctx context.Context, extra []string, pkgs []string) (*Suite, error) {
	args := append([]string{"test", "-json"}, g.o.Args...)
	args = append(append(args, extra...), pkgs...)
	out, stderr, err := command(ctx, g.o.Dir, g.o.Env, g.o.Go, args...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("running go test: %w", err)
	}
	s, perr := ParseGoJSON("go test -json", bytes.NewReader(out))
	if perr != nil {
		return nil, perr
	}
	if err != nil && len(s.Tests) == 0 && len(s.Problems) == 0 {
		// go test itself failed (a pattern matching no package, a bad flag): say what it said.
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr+string(out), 20))
	}
	return s, nil
}

func (g *goRunner) suite(ctx context.Context) (*Suite, error) {
	var extra []string
	if g.o.Run != "" {
		extra = append(extra, "-run", g.o.Run)
	}
	if g.o.Behavioural != "" {
		extra = append(extra, "-skip", g.o.Behavioural)
	}
	g.o.Logf("go test -json %s %s", strings.Join(append(append([]string(nil), g.o.Args...), extra...), " "), strings.Join(g.o.Packages, " "))
	s, err := g.goTest(ctx, extra, g.o.Packages)
	if err != nil {
		return nil, err
	}
	if len(s.Failed()) > 0 || len(s.Problems) > 0 {
		// Only failures are located: a green run costs no go list.
		if err := g.packageDirs(ctx, s); err != nil {
			g.o.Logf("locating packages: %v", err)
		}
	}
	return s, nil
}

// packageDirs asks go list where the packages of s are, for the locator.
func (g *goRunner) packageDirs(ctx context.Context, s *Suite) error {
	seen := map[string]bool{}
	var pkgs []string
	for _, t := range s.Tests {
		if !seen[t.Package] {
			seen[t.Package] = true
			pkgs = append(pkgs, t.Package)
		}
	}
	for _, p := range s.Problems {
		if p.Package != "" && !seen[p.Package] {
			seen[p.Package] = true
			pkgs = append(pkgs, p.Package)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	dirs, err := g.list(ctx, pkgs)
	if err != nil {
		return err
	}
	if g.o.Locator.PackageDirs == nil {
		g.o.Locator.PackageDirs = map[string]string{}
	}
	for _, p := range dirs {
		g.o.Locator.PackageDirs[p.importPath] = p.dir
	}
	return nil
}

type goPackage struct {
	importPath, dir string
	tests           bool
}

func (g *goRunner) list(ctx context.Context, patterns []string) ([]goPackage, error) {
	args := append([]string{"list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, patterns...)
	out, stderr, err := command(ctx, g.o.Dir, g.o.Env, g.o.Go, args...)
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, tail(stderr, 10))
	}
	var pkgs []goPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		pkgs = append(pkgs, goPackage{importPath: f[0], dir: f[1], tests: f[2] != "0" || f[3] != "0"})
	}
	return pkgs, nil
}

func (g *goRunner) rerun(ctx context.Context, failed []*Test) (*Suite, error) {
	byPkg := map[string][]string{}
	for _, t := range failed {
		byPkg[t.Package] = append(byPkg[t.Package], t.Name)
	}
	pkgs := make([]string, 0, len(byPkg))
	for p := range byPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	all := &Suite{}
	for _, p := range pkgs {
		s, err := g.goTest(ctx, []string{"-count=1", "-run", exactGoPattern(byPkg[p])}, []string{p})
		if err != nil {
			return nil, err
		}
		all.Merge(s)
	}
	return all, nil
}

func (g *goRunner) noTests() error {
	msg := fmt.Sprintf("go test ran no test in %s", strings.Join(g.o.Packages, " "))
	if g.o.Run != "" {
		msg += fmt.Sprintf(": the run pattern %q matches no test", g.o.Run)
	}
	return fmt.Errorf("%w: %s (a gate that tested nothing has not passed)", ErrNoTests, msg)
}

// behavioural compiles each package's test binary once, finds the behavioural tests by
// running the binary with the pattern (that run is the first trial of each), then runs each
// test alone, -test.run '^Name$' (with '/' per subtest level), until the design decides.
func (g *goRunner) behavioural(ctx context.Context) ([]*Behaviour, error) {
	pkgs, err := g.list(ctx, g.o.Packages)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "flightline-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	g.test2json = filepath.Join(tmp, "test2json")
	if _, stderr, err := command(ctx, g.o.Dir, g.o.Env, g.o.Go, "build", "-o", g.test2json, "cmd/test2json"); err != nil {
		return nil, fmt.Errorf("building test2json: %w\n%s", err, tail(stderr, 10))
	}
	if g.o.Locator.PackageDirs == nil {
		g.o.Locator.PackageDirs = map[string]string{}
	}
	for _, p := range pkgs {
		g.o.Locator.PackageDirs[p.importPath] = p.dir
	}
	depth := goPatternDepth(g.o.Behavioural)
	var out []*Behaviour
	listed := 0
	for i, p := range pkgs {
		if !p.tests {
			continue
		}
		bin := filepath.Join(tmp, fmt.Sprintf("pkg%d.test", i))
		args := append(append([]string{"test", "-c", "-o", bin}, buildFlags(g.o.Args)...), p.importPath)
		if _, stderr, err := command(ctx, g.o.Dir, g.o.Env, g.o.Go, args...); err != nil {
			return out, fmt.Errorf("compiling the tests of %s: %w\n%s", p.importPath, err, tail(stderr, 20))
		}
		top := splitGoPattern(g.o.Behavioural)
		var firsts []string
		for _, alt := range top {
			firsts = append(firsts, alt[0])
		}
		lo, _, err := command(ctx, p.dir, g.o.Env, bin, "-test.list", strings.Join(firsts, "|"))
		if err != nil {
			return out, fmt.Errorf("listing the tests of %s: %w", p.importPath, err)
		}
		if strings.TrimSpace(string(lo)) == "" {
			continue
		}
		listed++
		first, err := g.trial(ctx, p, bin, g.o.Behavioural, 1)
		if err != nil {
			return out, err
		}
		units := behaviouralUnits(first, g.o.Behavioural, depth)
		for _, u := range units {
			b := &Behaviour{Package: p.importPath, Name: u.Name, ID: u.Name}
			out = append(out, b)
			if u.Status == Skip {
				b.Result = g.o.Design.Summarise(nil)
				b.Decision = sprt.Undecided
				b.Note = "it skipped itself: " + u.SkipReason
				g.o.Logf("behavioural %s: skipped (%s)", u.Name, u.SkipReason)
				continue
			}
			g.note(b, u)
			pattern := exactGoPattern([]string{u.Name})
			res, err := g.o.Design.Run(ctx, []bool{u.Status == Pass}, func(ctx context.Context, run int) (bool, error) {
				s, err := g.trial(ctx, p, bin, pattern, run)
				if err != nil {
					return false, err
				}
				t := s.lookup(p.importPath, u.Name)
				if t == nil {
					return false, fmt.Errorf("run %d did not run %s (a subtest whose name changes from run to run cannot be judged)", run, u.Name)
				}
				if t.Status == Skip {
					return false, fmt.Errorf("%w: %s", errSkipped, t.SkipReason)
				}
				g.note(b, t)
				return t.Status == Pass, nil
			})
			if err := g.o.judged(ctx, b, res, err); err != nil {
				return out, err
			}
		}
	}
	if listed == 0 || len(out) == 0 {
		return out, fmt.Errorf("%w: the behavioural pattern %q matches no test in %s", ErrNoTests, g.o.Behavioural, strings.Join(g.o.Packages, " "))
	}
	return out, nil
}

// note keeps the output and location of a behavioural test's last failing run.
func (g *goRunner) note(b *Behaviour, t *Test) {
	if t.Status != Fail {
		return
	}
	b.Output = t.Output
	if f, n := g.o.Locator.locateGo(t); f != "" {
		b.File, b.Line = f, n
	}
}

// trial runs the compiled tests matching pattern once, through test2json, in the
// package's directory as go test does, with FLIGHTLINE_TEST_ITERATION set to the run number.
func (g *goRunner) trial(ctx context.Context, p goPackage, bin, pattern string, run int) (*Suite, error) {
	env := append(append([]string(nil), g.o.Env...), "FLIGHTLINE_TEST_ITERATION="+strconv.Itoa(run))
	args := append([]string{"-t", "-p", p.importPath, bin, "-test.v=test2json", "-test.count=1",
		"-test.run", pattern}, testFlags(g.o.Args)...)
	out, stderr, err := command(ctx, p.dir, env, g.test2json, args...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("running %s: %w", p.importPath, err)
	}
	s, perr := ParseGoJSON(p.importPath, bytes.NewReader(out))
	if perr != nil {
		return nil, perr
	}
	if err != nil && len(s.Tests) == 0 {
		return nil, fmt.Errorf("running the tests of %s: %w\n%s", p.importPath, err, tail(stderr+string(out), 20))
	}
	return s, nil
}

// behaviouralUnits picks the tests judged one by one from the first run: each test at the
// pattern's depth, or shallower when it has no subtests.
func behaviouralUnits(s *Suite, pattern string, depth int) []*Test {
	var out []*Test
	for _, t := range s.Tests {
		d := strings.Count(t.Name, "/") + 1
		if !matchGoPattern(pattern, t.Name) {
			continue
		}
		if d == depth || (d < depth && t.children == 0) {
			out = append(out, t)
		}
	}
	return out
}

// testFlags are the arguments of Args that the test binary takes (-timeout, -short, -v …),
// rewritten to the binary's -test. form; buildFlags are the others, for go test -c.
func testFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !isTestFlag(name) || !strings.HasPrefix(args[i], "-") {
			continue
		}
		out = append(out, "-test."+strings.TrimLeft(args[i], "-"))
		if !hasValue && testFlagTakesValue(name) && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

func buildFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if isTestFlag(name) {
			if !hasValue && testFlagTakesValue(name) {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func isTestFlag(name string) bool {
	switch name {
	case "timeout", "short", "v", "failfast", "parallel", "cpu", "shuffle", "count", "run", "skip", "list":
		return true
	}
	return false
}

func testFlagTakesValue(name string) bool {
	switch name {
	case "timeout", "parallel", "cpu", "shuffle", "count", "run", "skip", "list":
		return true
	}
	return false
}
