package testreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of a go test -json stream (cmd/test2json's TestEvent, with the build events
// of Go 1.24+).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
	ImportPath  string
}

// MaxOutput caps the output kept per test (the head and the tail are kept).
const MaxOutput = 64 << 10

// ParseGoJSON reads a go test -json stream. name is the file name for error positions. Lines
// that are not JSON objects (such as "go: downloading …" when stderr was merged in) are skipped;
// a line that starts like a JSON object but does not decode is an error with its position. A
// test seen more than once (go test -count, a concatenation of reruns) gets one attempt per run.
func ParseGoJSON(name string, r io.Reader) (*Suite, error) {
	p := &goParser{suite: &Suite{}, build: map[string]*strings.Builder{}, pkgOut: map[string]*strings.Builder{},
		running: map[string]*Test{}, pkgFailed: map[string]bool{}, pkgHadFail: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] != '{' {
			continue
		}
		var ev event
		if err := json.Unmarshal(b, &ev); err != nil {
			col := 1
			var se *json.SyntaxError
			if errors.As(err, &se) {
				col = int(se.Offset) // the bad byte, counted from 1
			}
			return nil, &PositionError{File: name, Line: line, Col: col, Msg: "invalid go test -json event: " + err.Error()}
		}
		if ev.Action == "" {
			return nil, &PositionError{File: name, Line: line, Col: 1, Msg: `go test -json event without "Action"`}
		}
		p.event(ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	p.finish()
	return p.suite, nil
}

type goParser struct {
	suite      *Suite
	build      map[string]*strings.Builder // build output per ImportPath
	pkgOut     map[string]*strings.Builder // package-level output
	running    map[string]*Test            // tests whose current run has not ended, by key
	pkgFailed  map[string]bool
	pkgHadFail map[string]bool // a test of the package failed
	outputs    map[*Test]*strings.Builder
	order      []string
}

func (p *goParser) test(pkg, name string) *Test {
	key := pkg + "\x00" + name
	if t := p.running[key]; t != nil {
		return t
	}
	// A new run of the test: a fresh record, merged into the suite when it ends.
	t := &Test{Package: pkg, Name: name, ID: name, format: "go"}
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		t.parent = name[:i]
	}
	p.running[key] = t
	if p.outputs == nil {
		p.outputs = map[*Test]*strings.Builder{}
	}
	p.outputs[t] = &strings.Builder{}
	p.order = append(p.order, key)
	if t.parent != "" {
		if par := p.running[pkg+"\x00"+t.parent]; par != nil {
			par.children++
		} else if par := p.suite.lookup(pkg, t.parent); par != nil {
			par.children++
		}
	}
	return t
}

func (p *goParser) event(ev event) {
	switch ev.Action {
	case "build-output":
		appendCapped(builder(p.build, ev.ImportPath), ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			appendCapped(builder(p.pkgOut, ev.Package), ev.Output)
		case "fail":
			p.pkgFailed[ev.Package] = true
			if ev.FailedBuild != "" {
				out := ""
				if b := p.build[ev.FailedBuild]; b != nil {
					out = b.String()
				}
				msg := "build failed: " + ev.FailedBuild
				for _, l := range strings.Split(out, "\n") {
					if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
						msg = "build failed: " + l
						break
					}
				}
				p.suite.Problems = append(p.suite.Problems, &Problem{Package: ev.Package, Kind: "build", Message: msg, Output: out})
				p.pkgHadFail[ev.Package] = true // not a package-level mystery
			}
		}
		return
	}
	t := p.test(ev.Package, ev.Test)
	switch ev.Action {
	case "output":
		appendCapped(p.outputs[t], ev.Output)
	case "pass", "fail", "skip":
		t.Status = Status(ev.Action)
		t.Elapsed = ev.Elapsed
		if ev.Action == "fail" {
			p.pkgHadFail[ev.Package] = true
		}
		p.end(t)
	}
}

// end closes the current run of t and records it in the suite.
func (p *goParser) end(t *Test) {
	key := t.Key()
	delete(p.running, key)
	out := p.outputs[t].String()
	delete(p.outputs, t)
	t.Output = out
	t.Attempts = []Status{t.Status}
	if t.Status == Skip {
		t.SkipReason = skipReason(out)
	}
	if prev := p.suite.lookup(t.Package, t.Name); prev != nil {
		prev.children = max(prev.children, t.children)
		prev.record(t)
		return
	}
	p.suite.add(t)
}

func (p *goParser) finish() {
	// Tests that started and never ended: the test binary died under them (os.Exit, a signal,
	// a crash that test2json could not attribute).
	for _, key := range p.order {
		t := p.running[key]
		if t == nil {
			continue
		}
		t.Status = Fail
		if p.outputs[t].Len() == 0 {
			p.outputs[t].WriteString("(the test started but never reported a result: the test binary exited under it)\n")
		}
		p.pkgHadFail[t.Package] = true
		p.end(t)
	}
	// Packages that failed with no failing test and no build failure: TestMain, init, a
	// timeout, os.Exit(0) before the results.
	var pkgs []string
	for pkg := range p.pkgFailed {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		if p.pkgHadFail[pkg] {
			continue
		}
		out := ""
		if b := p.pkgOut[pkg]; b != nil {
			out = b.String()
		}
		p.suite.Problems = append(p.suite.Problems, &Problem{Package: pkg, Kind: "package",
			Message: "package failed without a failing test (TestMain, init, a timeout or os.Exit)", Output: out})
	}
}

// skipReason is what a skipped test printed, without the framing lines.
func skipReason(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		s := strings.TrimSpace(l)
		if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- SKIP") {
			continue
		}
		if m := logLine.FindStringSubmatch(l); m != nil {
			s = strings.TrimSpace(m[3])
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, " ")
}

func appendCapped(b *strings.Builder, s string) {
	if b.Len() >= MaxOutput {
		return
	}
	if b.Len()+len(s) > MaxOutput {
		s = s[:MaxOutput-b.Len()] + "\n… (output cut)\n"
	}
	b.WriteString(s)
}

func builder(m map[string]*strings.Builder, key string) *strings.Builder {
	b := m[key]
	if b == nil {
		b = &strings.Builder{}
		m[key] = b
	}
	return b
}
