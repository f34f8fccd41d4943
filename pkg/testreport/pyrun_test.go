package testreport

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/testreport/sprt"
)

func pyFixture(t *testing.T, o Options) Options {
	pytest := testenv.LookPath(t, "pytest", "apt-get install python3-pytest")
	dir, err := filepath.Abs(filepath.Join("testdata", "pyfixture"))
	require.NoError(t, err)
	o.Runner, o.Pytest, o.Dir = RunnerPytest, []string{pytest}, dir
	o.Locator = Locator{Root: repoRoot(t)}
	o.Env = os.Environ()
	o.Logf = t.Logf
	return o
}

// pytest: a test that fails on its first run only is flaky after a rerun by node id; the
// failures are located in the test's file.
func TestRun_PytestRerunFindsFlaky(t *testing.T) {
	o := pyFixture(t, Options{Packages: []string{"tests/test_sample.py"}, RerunFailed: 1})
	o.Env = append(o.Env, "FIXTURE_FLAKY_DIR="+t.TempDir())
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, Totals{Tests: 9, Passed: 3, Failed: 4, Skipped: 1, Flaky: 1}, rep.Totals)
	fl := testByName(t, rep.Suite, "tests/test_sample.py::test_flaky")
	assert.Equal(t, []Status{Fail, Pass}, fl.Attempts)
	assert.True(t, fl.Flaky)
	assert.Equal(t, "pkg/testreport/testdata/pyfixture/tests/test_sample.py", fl.File)
	assert.Equal(t, []Status{Fail, Fail}, testByName(t, rep.Suite, "tests/test_sample.py::test_fails").Attempts)
	assert.Equal(t, []Status{Pass}, testByName(t, rep.Suite, "tests/test_sample.py::test_passes").Attempts)
}

// pytest behavioural tests: selected by marker, left out of the suite's run, each node id run
// alone until decided.
func TestRun_PytestBehavioural(t *testing.T) {
	o := pyFixture(t, Options{Packages: []string{"tests/test_behave.py"}, Behavioural: "behavioural",
		Design: sprt.Design{P0: 0.9, Delta: 0.2, Alpha: 0.05, Beta: 0.05, MaxRuns: 100}})
	o.Env = append(o.Env, "FIXTURE_BEHAVE_DIR="+t.TempDir(), "FIXTURE_SEED=13",
		"FIXTURE_RATE_greeting=0.99", "FIXTURE_RATE_refund=0.5")
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, rep.Behavioural, 2)
	got := map[string]sprt.Decision{}
	for _, b := range rep.Behavioural {
		got[b.Name] = b.Decision
		assert.Equal(t, b.Runs, len(b.Sequence))
	}
	assert.Equal(t, map[string]sprt.Decision{"tests/test_behave.py::test_answer[greeting]": sprt.Pass,
		"tests/test_behave.py::test_answer[refund]": sprt.Fail}, got)
	assert.Equal(t, 0, rep.Totals.Tests, "every test collected is behavioural")
	refund := rep.Behavioural[1]
	assert.Equal(t, "pkg/testreport/testdata/pyfixture/tests/test_behave.py", refund.File)
	assert.Equal(t, 24, refund.Line, "the assert")
}

func TestRun_PytestNoTests(t *testing.T) {
	_, err := Run(context.Background(), pyFixture(t, Options{Packages: []string{"tests/test_sample.py"}, Run: "nothing_like_this"}))
	require.ErrorIs(t, err, ErrNoTests)
	assert.ErrorContains(t, err, `-k "nothing_like_this" matches no test`)
}
