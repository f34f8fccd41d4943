package lint

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/sarif"
)

// copyFixture copies testdata/fixture into a new directory and makes it a git repository with
// one commit, as a checkout would be.
func copyFixture(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "fixture")
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
	git(t, dst, "init", "-q", "-b", "main")
	git(t, dst, "add", "-A")
	git(t, dst, "commit", "-q", "-m", "fixture")
	return dst
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// needTools skips (or under CI=true fails) when a linter's program is missing.
func needTools(t *testing.T, linters ...*Linter) {
	t.Helper()
	for _, l := range linters {
		testenv.LookPath(t, l.Program, l.Install)
	}
}

// The real tools on the fixture repository: every linter reports the known problems, with the
// file and the line, compared with golden findings.
func TestFixture_GoldenFindings(t *testing.T) {
	for _, l := range Registry {
		if l == ruff {
			continue // not installable here (no PyPI): covered by the recorded-output test
		}
		t.Run(l.Name, func(t *testing.T) {
			needTools(t, l)
			dir := copyFixture(t)
			repo, err := OpenRepo(context.Background(), dir, dir)
			require.NoError(t, err)
			rep, err := Run(context.Background(), repo, Options{Linters: []string{l.Name}})
			require.NoError(t, err)
			require.Len(t, rep.Results, 1)
			res := rep.Results[0]
			require.NoError(t, res.Err)
			assert.Regexp(t, `^\d+\.\d+`, res.Version)
			goldenJSON(t, filepath.Join("golden", l.Name+".json"), res.Findings)
		})
	}
}

// What the acceptance asks of the fixture: each expected finding with its file and line.
func TestFixture_AutoFindsEveryKnownProblem(t *testing.T) {
	needTools(t, goVet, golangci, flake8, black, isort, bandit, actionlint, shellcheck, yamllint)
	dir := copyFixture(t)
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	rep, err := Run(context.Background(), repo, Options{})
	require.NoError(t, err)
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Linter.Name)
		require.NoError(t, r.Err)
	}
	assert.Equal(t, []string{"go-vet", "golangci-lint", "flake8", "black", "isort", "bandit", "actionlint", "shellcheck", "yamllint"}, names,
		"auto picks every linter that applies, ruff only when configured")
	want := []struct {
		tool, file string
		line       int
		rule       string
	}{
		{"go-vet", "cmd/hello/main.go", 11, "printf"},
		{"golangci-lint", "cmd/hello/main.go", 12, "errcheck"},
		{"flake8", "app/main.py", 1, "F401"},
		{"flake8", "app/main.py", 8, "F821"},
		{"black", "app/main.py", 11, "format"},
		{"isort", "app/main.py", 1, "import-order"},
		{"bandit", "app/main.py", 7, "B602"},
		{"bandit", "app/main.py", 12, "B307"},
		{"actionlint", ".github/workflows/ci.yml", 7, "expression"},
		{"shellcheck", "scripts/deploy.sh", 3, "SC2164"},
		{"shellcheck", "scripts/deploy.sh", 4, "SC2086"},
		{"yamllint", "config.yaml", 4, "key-duplicates"},
		{"yamllint", "config.yaml", 5, "trailing-spaces"},
	}
	all := rep.Findings()
	for _, w := range want {
		found := false
		for _, f := range all {
			if f.Tool == w.tool && f.File == w.file && f.Line == w.line && f.Rule == w.rule {
				found = true
			}
		}
		assert.True(t, found, "expected %s %s at %s:%d", w.tool, w.rule, w.file, w.line)
	}
	v := Judge(rep, nil, false, FailOnError)
	assert.True(t, v.Failed)
	var buf strings.Builder
	sr, err := rep.WriteSARIF(&buf)
	require.NoError(t, err)
	require.NoError(t, sarif.Validate([]byte(buf.String())))
	assert.Len(t, sr.Cuts, len(rep.Results), "a SARIF run per linter")
	assert.Greater(t, rep.InLinters, rep.Wall/2, "most of the wall time is spent in the linters")
}

func TestSelect(t *testing.T) {
	dir := copyFixture(t)
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)

	_, err = Select(repo, []string{"flake8", "pylint"})
	require.EqualError(t, err, `unknown linter "pylint": valid linters are go-vet, golangci-lint, flake8, ruff, black, isort, bandit, actionlint, shellcheck, yamllint, or auto`)

	ls, err := Select(repo, []string{"yamllint", "FLAKE8", " flake8"})
	require.NoError(t, err)
	assert.Equal(t, []*Linter{flake8, yamllint}, ls, "registry order, no duplicates, case-insensitive")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "ruff.toml"), []byte("line-length = 100\n"), 0o644))
	repo, err = OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	ls, err = Select(repo, []string{"auto"})
	require.NoError(t, err)
	assert.Contains(t, ls, ruff, "ruff runs when configured")
	assert.NotContains(t, ls, flake8, "and replaces flake8")
	ls, err = Select(repo, []string{"auto", "flake8"})
	require.NoError(t, err)
	assert.Contains(t, ls, flake8, "unless asked for by name")
}

func TestOpenRepo_SkipsTestdataAndIgnored(t *testing.T) {
	dir := copyFixture(t)
	for _, f := range []string{"testdata/x.py", "pkg/testdata/y.sh", "node_modules/z.yml", "ignored.py", "new.py"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("ignored.py\n"), 0o644))
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"app/main.py", "new.py"}, pythonFiles(repo), "untracked files count, ignored ones and testdata do not")
	assert.Equal(t, []string{"scripts/deploy.sh"}, repo.ShellScripts())

	sub, err := OpenRepo(context.Background(), filepath.Join(dir, "app"), dir)
	require.NoError(t, err)
	assert.Equal(t, "app", sub.Prefix)
	assert.Equal(t, "app/main.py", sub.rel(".", "main.py"), "findings are relative to the repository root")

	_, err = OpenRepo(context.Background(), filepath.Join(dir, "nope"), dir)
	assert.ErrorContains(t, err, "is not a directory")
}

func TestRun_MissingLinterHasInstallHint(t *testing.T) {
	needTools(t, shellcheck)
	dir := copyFixture(t)
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	lookPath := func(name string) (string, error) {
		if name == "yamllint" {
			return "", exec.ErrNotFound
		}
		return exec.LookPath(name)
	}
	rep, err := Run(context.Background(), repo, Options{Linters: []string{"shellcheck", "yamllint"}, LookPath: lookPath})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	assert.NoError(t, rep.Results[0].Err)
	assert.NotEmpty(t, rep.Results[0].Findings, "the other linter still reports")
	yl := rep.Results[1]
	require.ErrorIs(t, yl.Err, ErrMissing)
	assert.EqualError(t, yl.Err, "yamllint: yamllint is not on PATH; install it with: pip install yamllint=="+YamllintVersion+": linter not installed")
	v := Judge(rep, nil, false, FailOnNone)
	assert.False(t, v.Failed, "fail-on none never fails")
	v = Judge(rep, nil, false, FailOnError)
	assert.True(t, v.Failed)
	assert.Contains(t, strings.Join(v.Reasons, "\n"), "yamllint is not on PATH")
}

// writeScript puts an executable shell script on disk and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func TestRun_CrashingLinterIsItsOwnError(t *testing.T) {
	needTools(t, yamllint)
	dir := copyFixture(t)
	bin := t.TempDir()
	// A shellcheck that prints its version, then dies on the real run.
	fake := writeScript(t, bin, "shellcheck", `case "$1" in --version) echo "version: 0.9.0";; *) echo "segmentation fault (core dumped)" >&2; exit 139;; esac`)
	lookPath := func(name string) (string, error) {
		if name == "shellcheck" {
			return fake, nil
		}
		return exec.LookPath(name)
	}
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	rep, err := Run(context.Background(), repo, Options{Linters: []string{"shellcheck", "yamllint"}, LookPath: lookPath})
	require.NoError(t, err)
	sc, yl := rep.Results[0], rep.Results[1]
	require.ErrorIs(t, sc.Err, ErrCrashed)
	assert.EqualError(t, sc.Err, "shellcheck exited with code 139: segmentation fault (core dumped): linter failed")
	assert.Equal(t, "0.9.0", sc.Version)
	require.NoError(t, yl.Err)
	assert.NotEmpty(t, yl.Findings, "yamllint still reports")
	assert.True(t, Judge(rep, nil, false, FailOnError).Failed)
}

func TestRun_ConfigTheLinterRejects(t *testing.T) {
	needTools(t, yamllint, flake8)
	dir := copyFixture(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".yamllint.yml"), []byte("rules:\n  no-such-rule: enable\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".flake8"), []byte("[flake8]\nmax-line-length = abc\n"), 0o644))
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	rep, err := Run(context.Background(), repo, Options{Linters: []string{"yamllint", "flake8"}})
	require.NoError(t, err)
	fl, yl := rep.Results[0], rep.Results[1]
	require.ErrorIs(t, yl.Err, ErrCrashed)
	assert.Contains(t, yl.Err.Error(), `invalid config: no such rule: "no-such-rule"`)
	require.ErrorIs(t, fl.Err, ErrCrashed, "flake8 exits 1 (its findings code) with a traceback and no findings: a failure, not a pass")
	assert.Contains(t, fl.Err.Error(), "invalid literal for int()")
}

func TestRun_ExplicitLinterWithNothingToLint(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644))
	repo, err := OpenRepo(context.Background(), dir, dir)
	require.NoError(t, err)
	rep, err := Run(context.Background(), repo, Options{Linters: []string{"flake8"}, LookPath: func(string) (string, error) { return "", errors.New("unused") }})
	require.NoError(t, err)
	assert.ErrorContains(t, rep.Results[0].Err, "flake8: nothing to lint")
	rep, err = Run(context.Background(), repo, Options{})
	require.NoError(t, err)
	assert.Empty(t, rep.Results, "auto on a repository with nothing to lint runs nothing")
}

func TestParseArgs(t *testing.T) {
	got, err := ParseArgs([]string{"flake8: --max-line-length=100 --extend-ignore 'E203, W503'", "", "# comment", "golangci-lint: --timeout=5m", "flake8: -j1"})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"flake8": {"--max-line-length=100", "--extend-ignore", "E203, W503", "-j1"}, "golangci-lint": {"--timeout=5m"}}, got)
	_, err = ParseArgs([]string{"pylint: -x"})
	assert.ErrorContains(t, err, `unknown linter "pylint"`)
	_, err = ParseArgs([]string{"--max-line-length=100"})
	assert.ErrorContains(t, err, "want NAME: ARGS")
	_, err = ParseArgs([]string{`black: "unterminated`})
	assert.ErrorContains(t, err, "unterminated")
}

func TestParseFailOn(t *testing.T) {
	for in, want := range map[string]FailOn{"": FailOnError, "Error": FailOnError, "warning": FailOnWarning, "none": FailOnNone} {
		got, err := ParseFailOn(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseFailOn("info")
	assert.EqualError(t, err, `fail-on "info": want error, warning or none`)
}

func TestJudge_FailOnLevels(t *testing.T) {
	rep := &Report{Results: []Result{{Linter: flake8, Findings: []Finding{
		{Tool: "flake8", File: "a.py", Line: 1, Severity: SevWarning},
		{Tool: "flake8", File: "a.py", Line: 2, Severity: SevInfo},
	}}}}
	assert.False(t, Judge(rep, nil, false, FailOnError).Failed)
	v := Judge(rep, nil, false, FailOnWarning)
	assert.True(t, v.Failed)
	assert.Equal(t, []string{"1 finding(s) at or above warning"}, v.Reasons)
	assert.False(t, Judge(rep, nil, false, FailOnNone).Failed)
}

// A service in a subdirectory of the repository's Go module (the pipeline's working-directory):
// go vet and golangci-lint run there, though its go.mod is above it.
func TestRepo_GoModules_SubdirectoryOfAModule(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n\ngo 1.26\n"), 0o644))
	sub := filepath.Join(root, "cmd", "agent")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	docs := filepath.Join(root, "docs")
	require.NoError(t, os.MkdirAll(docs, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(docs, "x.md"), []byte("x\n"), 0o644))

	r, err := OpenRepo(context.Background(), sub, root)
	require.NoError(t, err)
	assert.Equal(t, []string{"."}, r.GoModules())
	r, err = OpenRepo(context.Background(), docs, root)
	require.NoError(t, err)
	assert.Empty(t, r.GoModules(), "no Go files: nothing for the Go linters")
	r, err = OpenRepo(context.Background(), root, root)
	require.NoError(t, err)
	assert.Equal(t, []string{"."}, r.GoModules())

	alone := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(alone, "main.go"), []byte("package main\n"), 0o644))
	r, err = OpenRepo(context.Background(), alone, alone)
	require.NoError(t, err)
	assert.Empty(t, r.GoModules(), "Go files in no module")
}
