package testreport

import (
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Locator turns the file names that test output mentions into paths relative to the repository
// root, for annotations. Every field is optional; a path it cannot place inside Root is dropped
// (no annotation is better than one on a file that is not in the repository).
type Locator struct {
	// Root is the repository root (absolute); annotations are relative to it.
	Root string
	// WorkDir is where the tests ran (absolute): relative paths in build errors and in pytest
	// tracebacks are relative to it.
	WorkDir string
	// ModulePath and ModuleDir map Go import paths (and -trimpath file names) to directories.
	ModulePath, ModuleDir string
	// PackageDirs maps Go import paths to their directories (absolute), as go list reports
	// them; it wins over the module mapping.
	PackageDirs map[string]string
}

// rel returns abs relative to Root, or "" when it is outside.
func (l Locator) rel(abs string) string {
	if l.Root == "" || !filepath.IsAbs(abs) {
		return ""
	}
	r, err := filepath.Rel(l.Root, filepath.Clean(abs))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(r)
}

// packageDir returns the directory of a Go package, absolute, or "".
func (l Locator) packageDir(importPath string) string {
	if d := l.PackageDirs[importPath]; d != "" {
		return d
	}
	if l.ModulePath == "" || l.ModuleDir == "" {
		return ""
	}
	if importPath == l.ModulePath {
		return l.ModuleDir
	}
	if rest, ok := strings.CutPrefix(importPath, l.ModulePath+"/"); ok {
		return filepath.Join(l.ModuleDir, filepath.FromSlash(rest))
	}
	return ""
}

// File resolves a file name as Go or pytest prints it: absolute, relative to WorkDir, or (Go
// with -trimpath) prefixed by an import path.
func (l Locator) File(name string) string {
	if name == "" {
		return ""
	}
	if filepath.IsAbs(name) {
		return l.rel(name)
	}
	if l.ModulePath != "" && strings.HasPrefix(name, l.ModulePath+"/") {
		dir, base := path.Split(name)
		if d := l.packageDir(strings.TrimSuffix(dir, "/")); d != "" {
			return l.rel(filepath.Join(d, base))
		}
	}
	if l.WorkDir != "" {
		return l.rel(filepath.Join(l.WorkDir, filepath.FromSlash(name)))
	}
	return ""
}

// frameFile resolves a file name from a stack frame: absolute, or with -trimpath prefixed by an
// import path of the module. A bare relative name there is the standard library's.
func (l Locator) frameFile(name string) string {
	if filepath.IsAbs(name) || (l.ModulePath != "" && strings.HasPrefix(name, l.ModulePath+"/")) {
		return l.File(name)
	}
	return ""
}

var (
	// logLine is t.Log's and t.Error's prefix: "    name_test.go:12: message".
	logLine = regexp.MustCompile(`^\s+([A-Za-z0-9_.+-]+\.go):(\d+): ?(.*)$`)
	// frame is a stack frame's file line in a panic or a race report.
	frame = regexp.MustCompile(`^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)
	// errorTrace is testify's "Error Trace:" line.
	errorTrace = regexp.MustCompile(`Error Trace:\s+(\S+\.go):(\d+)`)
	// compileError is a compiler or vet message: "dir/x.go:12:3: message".
	compileError = regexp.MustCompile(`^(\S+\.go):(\d+)(?::(\d+))?: (.*)$`)
)

// locateGo finds where a failed Go test failed: testify's Error Trace, else for a panic or a
// data race the first stack frame inside the repository, else the last t.Error/t.Log line
// (its file is in the test's package directory).
func (l Locator) locateGo(t *Test) (file string, line int) {
	out := t.Output
	if m := errorTrace.FindStringSubmatch(out); m != nil {
		if f := l.frameFile(m[1]); f != "" {
			return f, atoi(m[2])
		}
	}
	lines := strings.Split(out, "\n")
	if strings.Contains(out, "\npanic: ") || strings.HasPrefix(out, "panic: ") || strings.Contains(out, "WARNING: DATA RACE") {
		for _, s := range lines {
			if m := frame.FindStringSubmatch(s); m != nil {
				if f := l.frameFile(m[1]); f != "" && !strings.HasSuffix(f, "_testmain.go") {
					return f, atoi(m[2])
				}
			}
		}
	}
	dir := l.packageDir(t.Package)
	for i := len(lines) - 1; i >= 0; i-- {
		m := logLine.FindStringSubmatch(lines[i])
		if m == nil || m[1] == "testing.go" {
			continue
		}
		if dir != "" {
			if f := l.rel(filepath.Join(dir, m[1])); f != "" {
				return f, atoi(m[2])
			}
		}
		return "", 0
	}
	return "", 0
}

// locateBuild finds the first compiler message in a build failure's output.
func (l Locator) locateBuild(out string) (file string, line, col int, msg string) {
	for _, s := range strings.Split(out, "\n") {
		if m := compileError.FindStringSubmatch(s); m != nil {
			if f := l.File(m[1]); f != "" {
				return f, atoi(m[2]), atoi(m[3]), m[4]
			}
		}
	}
	return "", 0, 0, ""
}

// pyFrame is a frame of a pytest traceback: "tests/test_x.py:12: AssertionError".
var pyFrame = regexp.MustCompile(`(?m)^(\S+\.py):(\d+): (.*)$`)

// locatePy finds where a pytest test failed: the last traceback frame in the test's own file,
// else the last frame inside the repository.
func (l Locator) locatePy(t *Test, text string) (file string, line int) {
	var lastAny string
	var lastAnyLine int
	for _, m := range pyFrame.FindAllStringSubmatch(text, -1) {
		f := l.File(m[1])
		if f == "" {
			continue
		}
		if f == t.File {
			file, line = f, atoi(m[2])
		}
		lastAny, lastAnyLine = f, atoi(m[2])
	}
	if file != "" {
		return file, line
	}
	return lastAny, lastAnyLine
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Locate fills in the file and line of every failed test and problem in s that has none.
func (l Locator) Locate(s *Suite) {
	for _, t := range s.Tests {
		if t.format != "go" || t.File != "" || (t.Status != Fail && !t.Flaky) {
			continue // JUnit tests are located as they are read
		}
		if f, n := l.locateGo(t); f != "" {
			t.File, t.Line = f, n
		}
	}
	for _, p := range s.Problems {
		if p.Kind == "build" && p.File == "" {
			if f, n, c, msg := l.locateBuild(p.Output); f != "" {
				p.File, p.Line, p.Col = f, n, c
				p.Message = msg
			}
		}
	}
}
