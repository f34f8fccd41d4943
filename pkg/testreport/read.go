package testreport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Read reads report files instead of running tests: each is a JUnit XML report or a go test
// -json stream, told apart by its first byte ('<' or '{'). patterns may be globs. A pattern
// that matches nothing, a malformed file (with its position) and a set of files with no test
// at all are errors.
func Read(ctx context.Context, patterns []string, loc Locator) (*Report, error) {
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(absPath(loc.WorkDir, p))
		if err != nil {
			return nil, fmt.Errorf("report pattern %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("report pattern %q matches no file (in %s)", p, loc.WorkDir)
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	suite := &Suite{}
	format := ""
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading report: %w", err)
		}
		name := f
		if r, err := filepath.Rel(loc.WorkDir, f); err == nil && loc.WorkDir != "" {
			name = r
		}
		var s *Suite
		switch trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); {
		case len(trimmed) == 0:
			return nil, &PositionError{File: name, Line: 1, Msg: "empty file: want JUnit XML or a go test -json stream"}
		case trimmed[0] == '<':
			s, err = ParseJUnit(name, bytes.NewReader(data), loc)
			format = "junit"
		default:
			s, err = ParseGoJSON(name, bytes.NewReader(data))
			format = "go"
		}
		if err != nil {
			return nil, err
		}
		suite.Merge(s)
	}
	if len(suite.Tests) == 0 && len(suite.Problems) == 0 {
		return nil, fmt.Errorf("%w in %d report file(s): a gate that tested nothing has not passed", ErrNoTests, len(files))
	}
	loc.Locate(suite)
	runner := "junit"
	if format == "go" {
		runner = "go"
	}
	return &Report{V: 1, Runner: runner, Suite: suite, Totals: suite.Totals()}, nil
}
