package testreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

type junitSuites struct {
	XMLName xml.Name
	Suites  []junitSuite `xml:"testsuite"`
	// A bare <testsuite> root has its cases directly.
	Name  string      `xml:"name,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitSuite struct {
	Name   string       `xml:"name,attr"`
	Cases  []junitCase  `xml:"testcase"`
	Suites []junitSuite `xml:"testsuite"` // nested suites (some runners)
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      string        `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failures  []junitResult `xml:"failure"`
	Errors    []junitResult `xml:"error"`
	Skipped   *junitResult  `xml:"skipped"`
	SystemOut string        `xml:"system-out"`
	SystemErr string        `xml:"system-err"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// ParseJUnit reads a JUnit XML report (<testsuites> or a bare <testsuite>), as pytest, Maven
// Surefire, Jest and most runners write it. Failures and errors both fail a test; <skipped>
// skips it with its message as the reason. File and line come from the file/line attributes
// (pytest's xunit1 family; pytest's line attribute counts from 0) and, for a failure, from the
// traceback: the last frame in the test's own file. The node id for reruns is built from file,
// classname and name when the file is known. A malformed file is an error with its position.
func ParseJUnit(name string, r io.Reader, loc Locator) (*Suite, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root junitSuites
	if err := dec.Decode(&root); err != nil {
		line, col := dec.InputPos()
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
			col = 0
		}
		if errors.Is(err, io.EOF) {
			return nil, &PositionError{File: name, Line: 1, Msg: "empty file: want a JUnit XML report"}
		}
		return nil, &PositionError{File: name, Line: line, Col: col, Msg: "invalid JUnit XML: " + err.Error()}
	}
	switch root.XMLName.Local {
	case "testsuites":
	case "testsuite":
		root.Suites = []junitSuite{{Name: root.Name, Cases: root.Cases}}
	default:
		return nil, &PositionError{File: name, Line: 1, Msg: fmt.Sprintf("root element <%s>: want <testsuites> or <testsuite>", root.XMLName.Local)}
	}
	s := &Suite{}
	var walk func(js junitSuite)
	walk = func(js junitSuite) {
		for _, c := range js.Cases {
			t := junitTest(js.Name, c, loc)
			if prev := s.lookup(t.Package, t.Name); prev != nil {
				prev.record(t)
				continue
			}
			s.add(t)
		}
		for _, sub := range js.Suites {
			walk(sub)
		}
	}
	for _, js := range root.Suites {
		walk(js)
	}
	return s, nil
}

func junitTest(suite string, c junitCase, loc Locator) *Test {
	t := &Test{Package: suite, Status: Pass, format: "junit"}
	t.Name = c.Name
	if c.Classname != "" {
		t.Name = c.Classname + "::" + c.Name
	}
	t.Elapsed, _ = strconv.ParseFloat(strings.TrimSpace(c.Time), 64)
	if c.File != "" {
		t.File = loc.File(c.File)
		if n, err := strconv.Atoi(c.Line); err == nil && n >= 0 {
			t.Line = n + 1 // pytest writes the 0-based line of the test function
		}
		t.ID = nodeID(c)
		t.Name = t.ID // what pytest users know a test by
	}
	var out strings.Builder
	var text string
	switch {
	case len(c.Failures) > 0 || len(c.Errors) > 0:
		t.Status = Fail
		for _, f := range append(append([]junitResult(nil), c.Failures...), c.Errors...) {
			if t.Message == "" {
				t.Message = firstLine(f.Message)
			}
			if f.Message != "" {
				out.WriteString(f.Message + "\n")
			}
			if strings.TrimSpace(f.Text) != "" {
				out.WriteString(strings.TrimRight(f.Text, "\n") + "\n")
			}
			text += f.Text + "\n"
		}
		if len(c.Failures) == 0 {
			t.Message = "error: " + t.Message
		}
	case c.Skipped != nil:
		t.Status = Skip
		t.SkipReason = strings.TrimSpace(c.Skipped.Message)
		if t.SkipReason == "" {
			t.SkipReason = firstLine(strings.TrimSpace(c.Skipped.Text))
		}
	}
	for _, o := range []string{c.SystemOut, c.SystemErr} {
		if strings.TrimSpace(o) != "" {
			out.WriteString(strings.TrimRight(o, "\n") + "\n")
		}
	}
	b := &strings.Builder{}
	appendCapped(b, out.String())
	t.Output = b.String()
	t.Attempts = []Status{t.Status}
	if t.Status == Fail {
		if f, n := loc.locatePy(t, text); f != "" {
			t.File, t.Line = f, n
		}
	}
	return t
}

// nodeID rebuilds pytest's node id from the xunit1 attributes: the file, the classes after the
// module in classname, the name.
func nodeID(c junitCase) string {
	file := path.Clean(strings.ReplaceAll(c.File, "\\", "/"))
	mod := strings.ReplaceAll(strings.TrimSuffix(file, ".py"), "/", ".")
	id := file
	if rest, ok := strings.CutPrefix(c.Classname, mod); ok {
		for _, cls := range strings.Split(strings.TrimPrefix(rest, "."), ".") {
			if cls != "" {
				id += "::" + cls
			}
		}
	}
	return id + "::" + c.Name
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
