package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrMissing is returned (wrapped, in a linter's Result) when its program is not installed.
var ErrMissing = errors.New("linter not installed")

// ErrCrashed is returned (wrapped, in a linter's Result) when a linter exits with a code that
// means failure rather than findings, or prints what cannot be read.
var ErrCrashed = errors.New("linter failed")

// Options configure Run.
type Options struct {
	// Linters are the names to run, "auto" for every linter that applies (the default).
	Linters []string
	// Args are extra arguments per linter name, placed before the file list.
	Args map[string][]string
	// LookPath finds a program. Default: exec.LookPath.
	LookPath func(string) (string, error)
	// Env is the environment of the linter processes (nil: this process's).
	Env []string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Result is one linter's run.
type Result struct {
	Linter   *Linter
	Version  string // as run ("" when it could not run)
	Findings []Finding
	Counts   Counts
	// Err is the linter's own failure: not installed (ErrMissing), crashed or unreadable
	// (ErrCrashed), or nothing to lint when asked for explicitly. Other linters still report.
	Err error
	// Elapsed is the wall time of the linter's processes (version and runs), one after another.
	Elapsed time.Duration
	// Spans are the intervals during which one of its processes ran.
	Spans []Span
}

// Span is an interval during which a linter process ran.
type Span struct{ Start, End time.Time }

// Report is what Run found.
type Report struct {
	Results []Result
	// Wall is Run's own wall time; InLinters the time during which at least one linter
	// process ran (the union of every Span), so Wall-InLinters is Flightline's own time.
	Wall, InLinters time.Duration
}

// Findings returns every finding, in linter order.
func (rep *Report) Findings() []Finding {
	var out []Finding
	for _, r := range rep.Results {
		out = append(out, r.Findings...)
	}
	return out
}

// Errors returns every linter's failure, joined, or nil.
func (rep *Report) Errors() error {
	var errs []error
	for _, r := range rep.Results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// Run runs the selected linters at once over the repository and collects their findings. An
// unknown linter name fails the whole run before anything starts; a linter that is missing or
// crashes is that linter's Result.Err, and the others still report.
func Run(ctx context.Context, repo *Repo, o Options) (*Report, error) {
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for name := range o.Args {
		if _, err := Lookup(name); err != nil {
			return nil, fmt.Errorf("args: %w", err)
		}
	}
	linters, err := Select(repo, o.Linters)
	if err != nil {
		return nil, err
	}
	start := o.Now()
	rep := &Report{Results: make([]Result, len(linters))}
	var wg sync.WaitGroup
	for i, l := range linters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Results[i] = runOne(ctx, repo, l, o)
		}()
	}
	wg.Wait()
	rep.Wall = o.Now().Sub(start)
	var spans []Span
	for _, r := range rep.Results {
		spans = append(spans, r.Spans...)
	}
	rep.InLinters = union(spans)
	return rep, ctx.Err()
}

func runOne(ctx context.Context, repo *Repo, l *Linter, o Options) (res Result) {
	res.Linter = l
	defer func() {
		for _, f := range res.Findings {
			res.Counts.Add(f.Severity)
		}
		for _, s := range res.Spans {
			res.Elapsed += s.End.Sub(s.Start)
		}
	}()
	invs := l.Plan(repo, o.Args[l.Name])
	if len(invs) == 0 {
		res.Err = fmt.Errorf("%s: nothing to lint in %s (%s)", l.Name, repo.Dir, l.About)
		return res
	}
	prog, err := o.LookPath(l.Program)
	if err != nil {
		res.Err = fmt.Errorf("%s: %s is not on PATH; install it with: %s: %w", l.Name, l.Program, l.Install, ErrMissing)
		return res
	}
	out, span, err := execute(ctx, prog, l.VersionArgs, repo.Dir, o)
	res.Spans = append(res.Spans, span)
	if err != nil {
		res.Err = fmt.Errorf("%s: running %s %s: %w", l.Name, l.Program, strings.Join(l.VersionArgs, " "), err)
		return res
	}
	res.Version = parseVersion(string(out.Stdout) + "\n" + string(out.Stderr))
	for _, inv := range invs {
		dir := filepath.Join(repo.Dir, filepath.FromSlash(inv.Dir))
		out, span, err := execute(ctx, prog, inv.Args, dir, o)
		res.Spans = append(res.Spans, span)
		if err != nil {
			res.Err = fmt.Errorf("%s: %w", l.Name, err)
			return res
		}
		where := ""
		if inv.Dir != "." {
			where = " in " + inv.Dir
		}
		if !l.OK(out.Code) {
			res.Err = fmt.Errorf("%s%s exited with code %d: %s: %w", l.Name, where, out.Code, tail(out), ErrCrashed)
			return res
		}
		fs, err := l.Parse(repo, inv, out)
		if err != nil {
			res.Err = fmt.Errorf("%s%s: %w (stderr: %s): %w", l.Name, where, err, tail(out), ErrCrashed)
			return res
		}
		// A code that may mean findings, no findings, and something on stderr: the tool failed
		// (a rejected config, say) rather than found nothing.
		if out.Code != 0 && len(fs) == 0 && len(bytes.TrimSpace(out.Stderr)) > 0 {
			res.Err = fmt.Errorf("%s%s exited with code %d and reported no findings: %s: %w", l.Name, where, out.Code, tail(out), ErrCrashed)
			return res
		}
		res.Findings = append(res.Findings, fs...)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return res
}

func execute(ctx context.Context, prog string, args []string, dir string, o Options) (Output, Span, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = o.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	span := Span{Start: o.Now()}
	err := cmd.Run()
	span.End = o.Now()
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		out.Code = ee.ExitCode()
	default:
		if ctx.Err() != nil {
			return out, span, fmt.Errorf("%s: %w", filepath.Base(prog), ctx.Err())
		}
		return out, span, fmt.Errorf("%s did not run to the end (%v): %s: %w", filepath.Base(prog), err, tail(out), ErrCrashed)
	}
	return out, span, nil
}

// tail is the last lines of a failed tool's stderr (or stdout), for an error message.
func tail(out Output) string {
	s := strings.TrimSpace(string(out.Stderr))
	if s == "" {
		s = strings.TrimSpace(string(out.Stdout))
	}
	if s == "" {
		return "no output"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	s = strings.Join(lines, " | ")
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// union is the total length of the union of the spans.
func union(spans []Span) time.Duration {
	s := slices.Clone(spans)
	sort.Slice(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	var total time.Duration
	var cur Span
	for i, sp := range s {
		if i == 0 || sp.Start.After(cur.End) {
			total += cur.End.Sub(cur.Start)
			cur = sp
			continue
		}
		if sp.End.After(cur.End) {
			cur.End = sp.End
		}
	}
	total += cur.End.Sub(cur.Start)
	return total
}
