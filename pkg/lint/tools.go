package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Pinned versions installed by actions/lint on runners (see actions/lint/README.md).
const (
	GolangciVersion   = "v2.15.0"
	ActionlintVersion = "v1.7.12"
	Flake8Version     = "7.5.0"
	BlackVersion      = "26.10.1"
	IsortVersion      = "9.0.2"
	BanditVersion     = "1.9.4"
	RuffVersion       = "0.17.5"
	YamllintVersion   = "1.38.0"
	ShellcheckVersion = "0.9.0" // from the runner image's apt (ubuntu-latest ships it)
)

var goVet = &Linter{
	Name: "go-vet", Program: "go", InfoURI: "https://pkg.go.dev/cmd/vet",
	About:   "go vet: suspicious constructs in Go code (every Go module)",
	Install: "install Go (actions/setup-go)", Pinned: "the Go toolchain of go.mod",
	VersionArgs: []string{"version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return perModule(r, []string{"vet", "-json"}, extra, []string{"./..."})
	},
	OK:    codes(0),
	Parse: parseGoVet,
}

// parseGoVet reads go vet -json: per package, per analyzer, a list of diagnostics (or an
// object with an error), interleaved with "# package" lines.
func parseGoVet(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var body bytes.Buffer
	for _, line := range bytes.SplitAfter(out.Stderr, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("#")) {
			body.Write(line)
		}
	}
	body.Write(out.Stdout)
	var findings []Finding
	dec := json.NewDecoder(&body)
	for {
		var pkgs map[string]map[string]json.RawMessage
		err := dec.Decode(&pkgs)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading go vet -json: %w", err)
		}
		for _, analyzers := range pkgs {
			for analyzer, raw := range analyzers {
				var diags []struct {
					Posn, Message string
				}
				if err := json.Unmarshal(raw, &diags); err != nil {
					var e struct{ Error string }
					if json.Unmarshal(raw, &e) == nil && e.Error != "" {
						return nil, fmt.Errorf("go vet %s: %s", analyzer, e.Error)
					}
					return nil, fmt.Errorf("reading go vet -json (%s): %w", analyzer, err)
				}
				for _, d := range diags {
					f := Finding{Tool: "go-vet", Rule: analyzer, Severity: SevError, Message: d.Message}
					f.File, f.Line, f.Col = splitPos(d.Posn)
					f.File = r.rel(inv.Dir, f.File)
					findings = append(findings, f)
				}
			}
		}
	}
	return findings, nil
}

// splitPos splits "file:line:col" (col optional) from the right, so that a file name with a
// colon survives.
func splitPos(p string) (string, int, int) {
	parts := strings.Split(p, ":")
	nums := []int{}
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	file := strings.Join(parts, ":")
	switch len(nums) {
	case 2:
		return file, nums[0], nums[1]
	case 1:
		return file, nums[0], 0
	}
	return file, 0, 0
}

var golangci = &Linter{
	Name: "golangci-lint", Program: "golangci-lint", InfoURI: "https://golangci-lint.run",
	About:   "golangci-lint v2: Go linters aggregated, configured by the repository's .golangci.yml",
	Pinned:  GolangciVersion,
	Install: "go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@" + GolangciVersion,
	// "version" with no flags prints "golangci-lint has version 2.15.0 built with ...".
	VersionArgs: []string{"version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return perModule(r, []string{"run", "--output.json.path=stdout", "--output.text.path=stderr", "--show-stats=false", "--issues-exit-code=1", "--max-issues-per-linter=0", "--max-same-issues=0", "--allow-serial-runners"}, extra, []string{"./..."})
	},
	OK:    codes(0, 1),
	Parse: parseGolangci,
}

// parseGolangci reads golangci-lint's JSON report ({"Issues": [...]}).
func parseGolangci(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var rep struct {
		Issues []struct {
			FromLinter, Text, Severity string
			Pos                        struct {
				Filename     string
				Line, Column int
			}
		}
	}
	data := bytes.TrimSpace(out.Stdout)
	if len(data) == 0 {
		return nil, errors.New("golangci-lint printed no JSON report")
	}
	// The JSON report is the first line; a text report may follow on the same stream.
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[0] == '{' {
		data = data[:i]
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("reading golangci-lint's JSON report: %w", err)
	}
	var findings []Finding
	for _, is := range rep.Issues {
		sev := SevError
		if s := strings.ToLower(is.Severity); s == "warning" || s == "info" {
			sev = Severity(s)
		}
		findings = append(findings, Finding{Tool: "golangci-lint", Rule: is.FromLinter, Severity: sev, Message: is.Text,
			File: r.rel(inv.Dir, is.Pos.Filename), Line: is.Pos.Line, Col: is.Pos.Column})
	}
	return findings, nil
}

// flake8Severity: the codes GitHub's Python starter workflow treats as hard failures (syntax
// errors, undefined names, invalid comparisons and statements) are errors; the rest (style,
// complexity, unused imports) are warnings.
func flake8Severity(code string) Severity {
	for _, p := range []string{"E9", "F63", "F7", "F82"} {
		if strings.HasPrefix(code, p) {
			return SevError
		}
	}
	return SevWarning
}

var flake8 = &Linter{
	Name: "flake8", Program: "flake8", InfoURI: "https://flake8.pycqa.org",
	About:       "flake8: Python style and errors (pyflakes, pycodestyle), configured by setup.cfg, tox.ini or .flake8",
	Pinned:      Flake8Version,
	Install:     "pip install flake8==" + Flake8Version,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--format=%(path)s:%(row)d:%(col)d: %(code)s %(text)s"}, extra, pythonFiles(r))
	},
	OK:    codes(0, 1),
	Parse: parseFlake8,
}

var flake8Line = regexp.MustCompile(`^(.+?):(\d+):(\d+): ([A-Z]+[0-9]+) (.*)$`)

func parseFlake8(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var findings []Finding
	sc := bufio.NewScanner(bytes.NewReader(out.Stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := flake8Line.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("unexpected flake8 output line %q", line)
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		findings = append(findings, Finding{Tool: "flake8", File: r.rel(inv.Dir, m[1]), Line: ln, Col: col,
			Rule: m[4], Severity: flake8Severity(m[4]), Message: m[5]})
	}
	return findings, sc.Err()
}

var ruff = &Linter{
	Name: "ruff", Program: "ruff", InfoURI: "https://docs.astral.sh/ruff/",
	About:       "ruff check: Python linter; auto mode runs it (instead of flake8) when ruff.toml, .ruff.toml or [tool.ruff] configures it",
	Pinned:      RuffVersion,
	Install:     "pip install ruff==" + RuffVersion,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"check", "--output-format=json", "--no-fix", "--exit-zero"}, extra, pythonFiles(r))
	},
	OK:       codes(0, 1),
	Parse:    parseRuff,
	Replaces: []string{"flake8"},
	Auto:     ruffConfigured,
}

// parseRuff reads `ruff check --output-format=json`: an array of diagnostics with code (null
// for a syntax error), message, filename (absolute), location {row, column} and url.
func parseRuff(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var diags []struct {
		Code     *string `json:"code"`
		Message  string  `json:"message"`
		Filename string  `json:"filename"`
		Location struct {
			Row    int `json:"row"`
			Column int `json:"column"`
		} `json:"location"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Stdout), &diags); err != nil {
		return nil, fmt.Errorf("reading ruff's JSON output: %w", err)
	}
	var findings []Finding
	for _, d := range diags {
		f := Finding{Tool: "ruff", File: r.rel(inv.Dir, d.Filename), Line: d.Location.Row, Col: d.Location.Column, Message: d.Message}
		if d.Code == nil || *d.Code == "" {
			f.Rule, f.Severity = "syntax-error", SevError
		} else {
			f.Rule, f.Severity = *d.Code, flake8Severity(*d.Code)
		}
		findings = append(findings, f)
	}
	return findings, nil
}

var black = &Linter{
	Name: "black", Program: "black", InfoURI: "https://black.readthedocs.io",
	About:       "black --check --diff: Python formatting, one finding per block that would change",
	Pinned:      BlackVersion,
	Install:     "pip install black==" + BlackVersion,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--check", "--diff", "--no-color", "--quiet"}, extra, pythonFiles(r))
	},
	// 1: would reformat; 123: a file it could not parse (reported as a finding).
	OK: codes(0, 1, 123),
	Parse: func(r *Repo, inv Invocation, out Output) ([]Finding, error) {
		fs, err := parseDiff(r, inv, out.Stdout, "black", "format", "would reformat (black)")
		if err != nil {
			return nil, err
		}
		// "error: cannot format app/x.py: Cannot parse: 3:7: ..."
		for _, line := range strings.Split(string(out.Stderr), "\n") {
			rest, ok := strings.CutPrefix(line, "error: cannot format ")
			if !ok {
				continue
			}
			file, msg, _ := strings.Cut(rest, ": ")
			f := Finding{Tool: "black", File: r.rel(inv.Dir, file), Rule: "parse-error", Severity: SevError, Message: msg}
			if m := regexp.MustCompile(`Cannot parse[^:]*: (\d+):(\d+):`).FindStringSubmatch(msg); m != nil {
				f.Line, _ = strconv.Atoi(m[1])
				f.Col, _ = strconv.Atoi(m[2])
			}
			fs = append(fs, f)
		}
		return fs, nil
	},
}

var isort = &Linter{
	Name: "isort", Program: "isort", InfoURI: "https://pycqa.github.io/isort/",
	About:       "isort --check-only --diff: Python import order, one finding per block that would change",
	Pinned:      IsortVersion,
	Install:     "pip install isort==" + IsortVersion,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--check-only", "--diff"}, extra, pythonFiles(r))
	},
	OK: codes(0, 1),
	Parse: func(r *Repo, inv Invocation, out Output) ([]Finding, error) {
		return parseDiff(r, inv, out.Stdout, "isort", "import-order", "imports are incorrectly sorted (isort)")
	},
}

var hunkRE = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@`)

// parseDiff turns a unified diff (black --diff, isort --diff) into one finding per hunk, at the
// hunk's first changed line in the original file.
func parseDiff(r *Repo, inv Invocation, diff []byte, tool, rule, msg string) ([]Finding, error) {
	var findings []Finding
	file := ""
	oldLine := 0
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(diff))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- "):
			name := strings.TrimPrefix(line, "--- ")
			if i := strings.IndexByte(name, '\t'); i >= 0 {
				name = name[:i]
			}
			name = strings.TrimSuffix(name, ":before")
			file = r.rel(inv.Dir, strings.TrimPrefix(name, "a/"))
			inBlock = false
		case strings.HasPrefix(line, "+++ "):
			inBlock = false
		case strings.HasPrefix(line, "@@"):
			m := hunkRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("%s: unexpected diff hunk header %q", tool, line)
			}
			oldLine, _ = strconv.Atoi(m[1])
			if m[2] == "0" { // pure insertion after line N
				oldLine++
			}
			inBlock = false
		case strings.HasPrefix(line, "-") || strings.HasPrefix(line, "+"):
			if file == "" {
				return nil, fmt.Errorf("%s: diff line before a file header", tool)
			}
			if !inBlock {
				findings = append(findings, Finding{Tool: tool, File: file, Line: max(oldLine, 1), Rule: rule, Severity: SevError, Message: msg})
				inBlock = true
			}
			if line[0] == '-' {
				oldLine++
			}
		case strings.HasPrefix(line, " ") || line == "":
			oldLine++
		}
	}
	return findings, sc.Err()
}

var bandit = &Linter{
	Name: "bandit", Program: "bandit", InfoURI: "https://bandit.readthedocs.io",
	About:       "bandit: Python security issues (severity HIGH = error, MEDIUM = warning, LOW = info)",
	Pinned:      BanditVersion,
	Install:     "pip install bandit==" + BanditVersion,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--format=json", "--quiet"}, extra, pythonFiles(r))
	},
	OK:    codes(0, 1),
	Parse: parseBandit,
}

func parseBandit(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var rep struct {
		Errors []struct {
			Filename, Reason string
		} `json:"errors"`
		Results []struct {
			Filename        string `json:"filename"`
			LineNumber      int    `json:"line_number"`
			ColOffset       *int   `json:"col_offset"`
			TestID          string `json:"test_id"`
			TestName        string `json:"test_name"`
			IssueText       string `json:"issue_text"`
			IssueSeverity   string `json:"issue_severity"`
			IssueConfidence string `json:"issue_confidence"`
		} `json:"results"`
	}
	data := bytes.TrimSpace(out.Stdout)
	// Old bandit versions print a banner line before the JSON even with --quiet.
	if i := bytes.IndexByte(data, '{'); i > 0 {
		data = data[i:]
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("reading bandit's JSON report: %w", err)
	}
	var findings []Finding
	for _, e := range rep.Errors {
		findings = append(findings, Finding{Tool: "bandit", File: r.rel(inv.Dir, e.Filename), Rule: "error", Severity: SevError, Message: e.Reason})
	}
	for _, res := range rep.Results {
		sev := SevInfo
		switch strings.ToUpper(res.IssueSeverity) {
		case "HIGH":
			sev = SevError
		case "MEDIUM":
			sev = SevWarning
		}
		col := 0
		if res.ColOffset != nil {
			col = *res.ColOffset + 1
		}
		findings = append(findings, Finding{Tool: "bandit", File: r.rel(inv.Dir, res.Filename), Line: res.LineNumber, Col: col,
			Rule: res.TestID, Severity: sev,
			Message: fmt.Sprintf("%s (%s, confidence %s)", res.IssueText, res.TestName, strings.ToLower(res.IssueConfidence))})
	}
	return findings, nil
}

var actionlint = &Linter{
	Name: "actionlint", Program: "actionlint", InfoURI: "https://github.com/rhysd/actionlint",
	About:       "actionlint: GitHub Actions workflows (and the local actions they use), run: scripts through shellcheck",
	Pinned:      ActionlintVersion,
	Install:     "go install github.com/rhysd/actionlint/cmd/actionlint@" + ActionlintVersion + " (and shellcheck, for run: scripts)",
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"-format", "{{json .}}", "-no-color"}, extra, workflowFiles(r))
	},
	OK:    codes(0, 1),
	Parse: parseActionlint,
}

func parseActionlint(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var errs []struct {
		Message  string `json:"message"`
		Filepath string `json:"filepath"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
		Kind     string `json:"kind"`
	}
	data := bytes.TrimSpace(out.Stdout)
	if len(data) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(data, &errs); err != nil {
		return nil, fmt.Errorf("reading actionlint's JSON output: %w", err)
	}
	var findings []Finding
	for _, e := range errs {
		findings = append(findings, Finding{Tool: "actionlint", File: r.rel(inv.Dir, e.Filepath), Line: e.Line, Col: e.Column,
			Rule: e.Kind, Severity: SevError, Message: e.Message})
	}
	return findings, nil
}

var shellcheck = &Linter{
	Name: "shellcheck", Program: "shellcheck", InfoURI: "https://www.shellcheck.net",
	About:       "shellcheck: shell scripts (*.sh, *.bash, and sh/bash shebangs)",
	Pinned:      ShellcheckVersion,
	Install:     "apt-get install shellcheck",
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--format=json1"}, extra, r.ShellScripts())
	},
	OK:    codes(0, 1),
	Parse: parseShellcheck,
}

func parseShellcheck(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var rep struct {
		Comments []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Level   string `json:"level"`
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"comments"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Stdout), &rep); err != nil {
		return nil, fmt.Errorf("reading shellcheck's json1 output: %w", err)
	}
	var findings []Finding
	for _, c := range rep.Comments {
		sev := SevInfo // info and style
		switch c.Level {
		case "error":
			sev = SevError
		case "warning":
			sev = SevWarning
		}
		findings = append(findings, Finding{Tool: "shellcheck", File: r.rel(inv.Dir, c.File), Line: c.Line, Col: c.Column,
			Rule: fmt.Sprintf("SC%d", c.Code), Severity: sev, Message: c.Message})
	}
	return findings, nil
}

var yamllint = &Linter{
	Name: "yamllint", Program: "yamllint", InfoURI: "https://yamllint.readthedocs.io",
	About:       "yamllint: YAML files, configured by .yamllint(.yml|.yaml)",
	Pinned:      YamllintVersion,
	Install:     "pip install yamllint==" + YamllintVersion,
	VersionArgs: []string{"--version"},
	Plan: func(r *Repo, extra []string) []Invocation {
		return files([]string{"--format=parsable"}, extra, yamlFiles(r))
	},
	// 1: errors found; 2: warnings only with --strict.
	OK:    codes(0, 1, 2),
	Parse: parseYamllint,
}

var yamllintLine = regexp.MustCompile(`^(.+?):(\d+):(\d+): \[(error|warning)\] (.*?)(?: \(([a-z-]+)\))?$`)

func parseYamllint(r *Repo, inv Invocation, out Output) ([]Finding, error) {
	var findings []Finding
	for _, line := range strings.Split(string(out.Stdout), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := yamllintLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("unexpected yamllint output line %q", line)
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		rule := m[6]
		if rule == "" {
			rule = "syntax"
		}
		findings = append(findings, Finding{Tool: "yamllint", File: r.rel(inv.Dir, m[1]), Line: ln, Col: col,
			Rule: rule, Severity: Severity(m[4]), Message: m[5]})
	}
	return findings, nil
}
