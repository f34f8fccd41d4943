package testreport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

// repoRoot is this repository's root: the fixtures' annotations are relative to it.
func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Dir(filepath.Dir(wd))
}

func goFixture(t *testing.T, o Options) Options {
	dir, err := filepath.Abs(filepath.Join("testdata", "gofixture"))
	require.NoError(t, err)
	o.Dir = dir
	o.Locator = Locator{Root: repoRoot(t)}
	o.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	o.Env = append(o.Env, o.Env[:0:0]...)
	o.Logf = t.Logf
	return o
}

func testByName(t *testing.T, s *Suite, name string) *Test {
	for _, tt := range s.Tests {
		if tt.Name == name {
			return tt
		}
	}
	t.Fatalf("no test %q", name)
	return nil
}

// The acceptance case for Go: one failing test is annotated at its file and line (relative to
// the repository root) and the verdict fails.
func TestRun_GoFailureAnnotatedAtItsLine(t *testing.T) {
	rep, err := Run(context.Background(), goFixture(t, Options{Packages: []string{"./fail"}}))
	require.NoError(t, err)
	assert.Equal(t, Totals{Tests: 4, Passed: 2, Failed: 2}, rep.Totals)
	ok, reasons := rep.Verdict(false)
	assert.False(t, ok)
	assert.Equal(t, []string{"2 test(s) failed"}, reasons)

	m, _, _ := actionsEnvFiles(t)
	var stdout bytes.Buffer
	rt := actions.New(actions.WithGetenv(func(k string) string { return m[k] }), actions.WithStdout(&stdout), actions.WithStderr(&bytes.Buffer{}))
	rep.Annotate(rt)
	assert.Contains(t, stdout.String(), "::error file=pkg/testreport/testdata/gofixture/fail/fail_test.go,line=8,title=TestAdd failed::    fail_test.go:6: adding%0A    fail_test.go:8: 1+1 = 2, want 3\n")
	assert.Contains(t, stdout.String(), "::error file=pkg/testreport/testdata/gofixture/fail/fail_test.go,line=19,title=TestTable/negative failed::")
}

func actionsEnvFiles(t *testing.T) (map[string]string, string, string) {
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum}, out, sum
}

// A test that fails on its first run only is flaky after a rerun: counted and listed, not
// passed; a test that fails every time stays failed; only failed tests are rerun.
func TestRun_GoRerunFindsFlaky(t *testing.T) {
	o := goFixture(t, Options{Packages: []string{"./flaky"}, RerunFailed: 2})
	o.Env = append(o.Env, "FIXTURE_FLAKY_DIR="+t.TempDir())
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, Totals{Tests: 3, Passed: 1, Failed: 1, Flaky: 1}, rep.Totals)
	flaky := testByName(t, rep.Suite, "TestFlaky")
	assert.True(t, flaky.Flaky)
	assert.Equal(t, []Status{Fail, Pass}, flaky.Attempts)
	assert.Equal(t, "pkg/testreport/testdata/gofixture/flaky/flaky_test.go", flaky.File)
	assert.Contains(t, flaky.Output, "first run fails", "the failing run's output is kept")
	assert.Equal(t, []Status{Fail, Fail, Fail}, testByName(t, rep.Suite, "TestAlwaysFails").Attempts)
	assert.Equal(t, []Status{Pass}, testByName(t, rep.Suite, "TestStable").Attempts, "passing tests are not rerun")

	ok, reasons := rep.Verdict(true)
	assert.False(t, ok)
	assert.Contains(t, reasons, "1 test(s) were flaky and fail-on-flaky is set")
	sum := rep.Summary(false).String()
	assert.Contains(t, sum, "#### Flaky tests")
	assert.Contains(t, sum, "fail → pass")
}

// Rerunning a failed subtest runs only it: -run '^TestTable$/^negative$'.
func TestRun_GoRerunSubtest(t *testing.T) {
	rep, err := Run(context.Background(), goFixture(t, Options{Packages: []string{"./fail"}, RerunFailed: 1}))
	require.NoError(t, err)
	assert.Equal(t, []Status{Fail, Fail}, testByName(t, rep.Suite, "TestTable/negative").Attempts)
	assert.Equal(t, []Status{Pass}, testByName(t, rep.Suite, "TestTable/positive").Attempts)
	assert.Equal(t, []Status{Fail, Fail}, testByName(t, rep.Suite, "TestAdd").Attempts)
	assert.Equal(t, []Status{Pass}, testByName(t, rep.Suite, "TestOK").Attempts)
}

// The acceptance case for behavioural tests, on real processes: with p0 = 0.9 and δ = 0.05
// the fixture's tests with true pass rates 0.5 and 0.85 fail, 0.93 and 0.99 pass. The test
// binary is compiled once; each run is -test.run '^Name$' (per subtest level). The fixture's
// draws are pseudo-random from a fixed seed, so the run is reproducible.
func TestRun_GoBehaviouralJudged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture a few hundred times")
	}
	testenv.CIOnly(t, "runs the fixture a few hundred times (the decision rules are sprt's unit tests)")
	o := goFixture(t, Options{Packages: []string{"./behave"}, Behavioural: "TestAnswer|TestPrompts/.*",
		Design: sprt.Design{P0: 0.9, Delta: 0.05, Alpha: 0.05, Beta: 0.05, MaxRuns: 1000}})
	o.Env = append(o.Env, "FIXTURE_BEHAVE_DIR="+t.TempDir(), "FIXTURE_SEED=13",
		"FIXTURE_RATE_TestAnswer=0.99", "FIXTURE_RATE_TestPrompts_greeting=0.5",
		"FIXTURE_RATE_TestPrompts_refund=0.93", "FIXTURE_RATE_TestPrompts_cancel=0.85")
	var clock time.Time
	o.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	got := map[string]sprt.Decision{}
	for _, b := range rep.Behavioural {
		got[b.Name] = b.Decision
		t.Logf("%s: %s after %d runs, %d passed", b.Name, b.Decision, b.Runs, b.Passes)
		assert.Less(t, b.Runs, rep.Design.FixedN, "%s: fewer runs than the fixed-N design", b.Name)
		assert.LessOrEqual(t, b.Low, b.Rate)
		assert.GreaterOrEqual(t, b.High, b.Rate)
	}
	assert.Equal(t, map[string]sprt.Decision{"TestAnswer": sprt.Pass, "TestPrompts/greeting": sprt.Fail,
		"TestPrompts/refund": sprt.Pass, "TestPrompts/cancel": sprt.Fail}, got)
	// The suite's run leaves the behavioural tests out (-skip): TestUnit, and TestPrompts
	// without its subtests.
	assert.Equal(t, Totals{Tests: 2, Passed: 2}, rep.Totals)
	assert.Equal(t, 474, rep.Design.FixedN)
	assert.Equal(t, 1.0, rep.Duration, "the injected clock")

	sum := rep.Summary(false).String()
	assert.Contains(t, sum, "| test | runs | passed | pass rate | 95 % Wilson interval | decision |")
	assert.Contains(t, sum, "TestPrompts/greeting")
	ok, reasons := rep.Verdict(false)
	assert.False(t, ok)
	assert.Len(t, reasons, 2)
	for _, b := range rep.Behavioural {
		if b.Decision == sprt.Fail {
			assert.Equal(t, "pkg/testreport/testdata/gofixture/behave/behave_test.go", b.File, b.Name)
			assert.Contains(t, b.Output, "wrong (draw")
		}
	}
}

func TestRun_BadInput(t *testing.T) {
	ctx := context.Background()
	_, err := Run(ctx, goFixture(t, Options{Packages: []string{"./pass"}, Run: "^TestNothingLikeThis$"}))
	require.ErrorIs(t, err, ErrNoTests)
	assert.ErrorContains(t, err, `the run pattern "^TestNothingLikeThis$" matches no test`)

	_, err = Run(ctx, goFixture(t, Options{Packages: []string{"./behave"}, Behavioural: "TestNoSuchBehaviour",
		Design: sprt.Design{P0: 0.9, Delta: 0.1, Alpha: 0.05, Beta: 0.05, MaxRuns: 10}}))
	require.ErrorIs(t, err, ErrNoTests)
	assert.ErrorContains(t, err, `the behavioural pattern "TestNoSuchBehaviour" matches no test`)

	rep, err := Run(ctx, goFixture(t, Options{Packages: []string{"./nosuchpackage"}}))
	require.NoError(t, err, "go test ran and reported a setup failure")
	require.Len(t, rep.Problems, 1)
	assert.Contains(t, rep.Problems[0].Message, "nosuchpackage: directory not found")
	ok, _ := rep.Verdict(false)
	assert.False(t, ok)

	_, err = Run(ctx, goFixture(t, Options{Run: "Test(["}))
	assert.ErrorContains(t, err, `run "Test([": not a Go test pattern`)

	_, err = Run(ctx, goFixture(t, Options{Behavioural: "TestX", Design: sprt.Design{P0: 1.5}}))
	assert.ErrorIs(t, err, sprt.ErrDesign)

	_, err = Run(ctx, Options{Runner: "jest"})
	assert.EqualError(t, err, `runner "jest": valid runners are go, pytest`)
}

func TestRead_BadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	loc := Locator{Root: dir, WorkDir: dir}
	ctx := context.Background()

	write("broken.xml", "<testsuites>\n  <testsuite name=\"x\">\n    <testcase name=\"a\">\n  </testsuite>\n</testsuites>\n")
	_, err := Read(ctx, []string{"broken.xml"}, loc)
	require.ErrorIs(t, err, ErrMalformed)
	var pe *PositionError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "broken.xml", pe.File)
	assert.Equal(t, 4, pe.Line)
	assert.Regexp(t, `^broken\.xml:4: invalid JUnit XML: .* \[malformed report\]$`, err.Error())

	write("broken.jsonl", "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"TestA\",\"Elapsed\":oops}\n")
	_, err = Read(ctx, []string{"broken.jsonl"}, loc)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, [2]int{2, 57}, [2]int{pe.Line, pe.Col}, "the column of the bad byte")
	assert.ErrorContains(t, err, "broken.jsonl:2:57: invalid go test -json event")

	write("other.xml", "<html><body/></html>")
	_, err = Read(ctx, []string{"other.xml"}, loc)
	assert.EqualError(t, err, "other.xml:1: root element <html>: want <testsuites> or <testsuite> [malformed report]")

	write("empty.xml", "<testsuites></testsuites>")
	_, err = Read(ctx, []string{"empty.xml"}, loc)
	assert.ErrorIs(t, err, ErrNoTests)

	write("blank.xml", "   \n")
	_, err = Read(ctx, []string{"blank.xml"}, loc)
	assert.ErrorContains(t, err, "blank.xml:1: empty file")

	_, err = Read(ctx, []string{"reports/*.xml"}, loc)
	assert.ErrorContains(t, err, `report pattern "reports/*.xml" matches no file`)
}

// Reading report files: both formats in one set, globs, reruns in a concatenated stream.
func TestRead_FilesOfBothFormats(t *testing.T) {
	root, err := filepath.Abs("testdata")
	require.NoError(t, err)
	// pytest's paths are relative to its rootdir, the working directory.
	loc := Locator{Root: root, WorkDir: filepath.Join(root, "pyfixture"), ModulePath: "example.com/fixture", ModuleDir: filepath.Join(root, "gofixture")}
	rep, err := Read(context.Background(), []string{"../go/fail.jsonl", "../junit/*.xml"}, loc)
	require.NoError(t, err)
	assert.Equal(t, 4+9, rep.Totals.Tests)
	assert.Equal(t, "gofixture/fail/fail_test.go", testByName(t, rep.Suite, "TestAdd").File)
	pyFail := testByName(t, rep.Suite, "tests/test_sample.py::test_fails")
	assert.Equal(t, "pyfixture/tests/test_sample.py", pyFail.File)
	assert.Equal(t, 15, pyFail.Line)
	helper := testByName(t, rep.Suite, "tests/test_sample.py::test_fails_in_helper")
	assert.Equal(t, 19, helper.Line, "the frame in the test's own file, not the helper's")

	// A stream holding a failed run and then a passing rerun (gotestsum --rerun-fails style).
	data, err := os.ReadFile(filepath.Join("testdata", "go", "fail.jsonl"))
	require.NoError(t, err)
	rerun := `{"Action":"run","Package":"example.com/fixture/fail","Test":"TestAdd"}` + "\n" +
		`{"Action":"pass","Package":"example.com/fixture/fail","Test":"TestAdd","Elapsed":0.01}` + "\n"
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "both.jsonl"), append(data, rerun...), 0o644))
	rep, err = Read(context.Background(), []string{filepath.Join(dir, "both.jsonl")}, loc)
	require.NoError(t, err)
	add := testByName(t, rep.Suite, "TestAdd")
	assert.True(t, add.Flaky)
	assert.Equal(t, Totals{Tests: 4, Passed: 2, Failed: 1, Flaky: 1}, rep.Totals)
}

// Test output is untrusted: nothing a test prints may start a workflow command, in the log,
// the annotations or the summary.
func TestOutputCannotStartWorkflowCommands(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "go", "forge.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	s, err := ParseGoJSON("forge", f)
	require.NoError(t, err)
	fixtureLocator.Locate(s)
	rep := &Report{V: 1, Suite: s, Totals: s.Totals()}

	m, _, sum := actionsEnvFiles(t)
	var stdout, stderr bytes.Buffer
	rt := actions.New(actions.WithGetenv(func(k string) string { return m[k] }), actions.WithStdout(&stdout), actions.WithStderr(&stderr))
	rep.Annotate(rt)
	require.NoError(t, rt.WriteSummary(rep.Summary(false)))
	summary, err := os.ReadFile(sum)
	require.NoError(t, err)
	for _, out := range []string{stdout.String(), stderr.String(), string(summary)} {
		for _, line := range strings.Split(out, "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "::") {
				assert.True(t, strings.HasPrefix(trimmed, "::error file=") || strings.HasPrefix(trimmed, "::error title="), "only our own annotation: %q", line)
				assert.NotContains(t, trimmed[2:], "\n")
			}
		}
	}
	assert.Contains(t, stdout.String(), "%0A", "the annotation's newlines are escaped")
	assert.Contains(t, string(summary), ":\u200b:set-output name=passed::999")
	assert.Equal(t, "a|b &lt;img src=x&gt; \\*x\\*", md("a|b <img src=x> *x*"), "markdown and HTML from a test are escaped in tables")
	assert.Equal(t, "  :\u200b:error x\n#\u200b#[group]\nok ::", Safe("  ::error x\r##[group]\nok ::"))
}
