package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
)

const fixtures = "pkg/testreport/testdata"

// testEnv runs the command in Actions mode in the repository, with the real environment (the go
// and pytest the command starts need PATH, HOME and the Go caches).
func testEnv(t *testing.T, extra map[string]string) (map[string]string, string, string) {
	root := acttest.RepoRoot(t)
	dir := t.TempDir()
	env := terminalEnv(nil)
	for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": root,
		"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum"),
		"FLIGHTLINE_INPUT_REPORT": filepath.Join(dir, "report.json")} {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"]
}

func readOutputs(t *testing.T, path string) map[string]string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	outs, err := actions.ParseOutputs(string(b))
	require.NoError(t, err)
	return outs
}

// Acceptance: on a fixture with one failing Go test, flightline test annotates its file and
// line and exits non-zero.
func TestTestCmd_GoFailureAnnotated(t *testing.T) {
	root := acttest.RepoRoot(t)
	env, out, sum := testEnv(t, map[string]string{"GOFLAGS": "-mod=mod", "GOWORK": "off"})
	code, stdout, stderr := runCLI(t, env, "test", "--working-directory", filepath.Join(root, fixtures, "gofixture"), "--packages", "./fail")
	assert.Equal(t, exitTestsFailed, code, stderr)
	assert.Contains(t, stdout, "::error file=pkg/testreport/testdata/gofixture/fail/fail_test.go,line=8,title=TestAdd failed::")
	assert.Contains(t, stdout, "::error title=flightline test::tests failed: 2 test(s) failed")
	outs := readOutputs(t, out)
	assert.Equal(t, map[string]string{"passed": "2", "failed": "2", "skipped": "0", "flaky": "0", "report": env["FLIGHTLINE_INPUT_REPORT"]}, outs)
	s, err := os.ReadFile(sum)
	require.NoError(t, err)
	assert.Contains(t, string(s), "### Tests failed")
	assert.Contains(t, string(s), "`pkg/testreport/testdata/gofixture/fail/fail_test.go:8`")
	_, err = os.Stat(outs["report"])
	assert.NoError(t, err)
}

// Acceptance: the same through JUnit, on a pytest fixture run by Debian's pytest.
func TestTestCmd_PytestFailureAnnotated(t *testing.T) {
	pytest := testenv.LookPath(t, "pytest", "apt-get install python3-pytest")
	root := acttest.RepoRoot(t)
	env, out, _ := testEnv(t, nil)
	code, stdout, stderr := runCLI(t, env, "test", "--runner", "pytest", "--pytest", pytest,
		"--working-directory", filepath.Join(root, fixtures, "pyfixture"), "--behavioural", "behavioural", "--pass-rate", "0.9",
		"--packages", "tests/test_sample.py", "--max-runs", "1")
	// The behavioural tests are in test_behave.py, which is not in --packages: none is selected.
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stdout, `the behavioural marker expression "behavioural" selects no test`)

	code, stdout, stderr = runCLI(t, env, "test", "--runner", "pytest", "--pytest", pytest,
		"--working-directory", filepath.Join(root, fixtures, "pyfixture"), "--packages", "tests/test_sample.py")
	assert.Equal(t, exitTestsFailed, code, stderr)
	assert.Contains(t, stdout, "::error file=pkg/testreport/testdata/pyfixture/tests/test_sample.py,line=15,title=tests/test_sample.py%3A%3Atest_fails failed::AssertionError: the answer is off by one")
	assert.Contains(t, stdout, "::error file=pkg/testreport/testdata/pyfixture/tests/test_sample.py,line=24,title=tests/test_sample.py%3A%3Atest_setup_error failed::")
	outs := readOutputs(t, out)
	assert.Equal(t, "4", outs["failed"])
	assert.Equal(t, "2", outs["skipped"])
}

func TestTestCmd_ReadsReportFiles(t *testing.T) {
	root := acttest.RepoRoot(t)
	env, out, _ := testEnv(t, nil)
	code, stdout, stderr := runCLI(t, env, "test", "--working-directory", filepath.Join(root, fixtures, "pyfixture"),
		"--junit", "../junit/pytest.xml")
	assert.Equal(t, exitTestsFailed, code, stderr)
	assert.Contains(t, stdout, "::error file=pkg/testreport/testdata/pyfixture/tests/test_sample.py,line=15,")
	assert.Equal(t, "3", readOutputs(t, out)["passed"])
}

func TestTestCmd_BadInput(t *testing.T) {
	root := acttest.RepoRoot(t)
	env, _, _ := testEnv(t, map[string]string{"GITHUB_ACTIONS": "", "GOFLAGS": "-mod=mod", "GOWORK": "off"})
	fx := filepath.Join(root, fixtures, "gofixture")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"behavioural without pass-rate":  {[]string{"--behavioural", "TestAnswer"}, "behavioural needs pass-rate"},
		"junit and behavioural":          {[]string{"--junit", "x.xml", "--behavioural", "TestAnswer", "--pass-rate", "0.9"}, "behavioural needs to run the tests, and junit reads reports instead"},
		"a pattern that matches no test": {[]string{"--packages", "./pass", "--run", "^TestNope$"}, `no tests found: go test ran no test in ./pass: the run pattern "^TestNope$" matches no test`},
		"malformed report":               {[]string{"--junit", "../go/fail.golden.json"}, "../go/fail.golden.json:1:1: invalid go test -json event"},
		"bad pass-rate":                  {[]string{"--behavioural", "TestAnswer", "--pass-rate", "1.2"}, "pass-rate 1.2: want a rate strictly between 0 and 1"},
		"bad working directory":          {[]string{"--working-directory", "/nonexistent"}, `working-directory "/nonexistent" is not a directory`},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, env, append([]string{"test", "--working-directory", fx}, tc.args...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// The README's gate on examples/agent, whose answers vary at random (a fresh seed every run): a
// release that answers wrongly 40 % of the time fails, one that does 2 % of the time passes.
// Both outcomes have a chance of going the other way far below one in a thousand (the exact
// operating characteristic is in pkg/testreport/sprt).
func TestTestCmd_AgentBehaviouralGate(t *testing.T) {
	testenv.CIOnly(t, "runs the agent's behavioural test hundreds of times, twice")
	root := acttest.RepoRoot(t)
	for _, tc := range []struct {
		rate string
		code int
		want string
	}{{"0.4", exitTestsFailed, "**fail**"}, {"0.02", 0, "**pass**"}} {
		t.Run("wrong answers "+tc.rate, func(t *testing.T) {
			t.Setenv("AGENT_WRONG_ANSWER_RATE", tc.rate) // the test processes inherit the real environment
			env, _, sum := testEnv(t, nil)
			code, stdout, stderr := runCLI(t, env, "test", "--working-directory", root, "--packages", "./examples/agent",
				"--run", "TestChat", "--behavioural", "TestBehaviour", "--pass-rate", "0.9")
			assert.Equal(t, tc.code, code, "%s\n%s", stdout, stderr)
			s, err := os.ReadFile(sum)
			require.NoError(t, err)
			assert.Contains(t, string(s), "| TestBehaviour\\_AnswerIsGrounded |")
			assert.Contains(t, string(s), tc.want)
			assert.Contains(t, string(s), "A fixed-sample test with the same error rates would run each 135 times.")
		})
	}
}

// The tests run in the app's environment (not the process's), without the step's action inputs.
func TestTestCmd_ChildrenGetTheAppsEnvironmentWithoutInputs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module envcheck\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "env_test.go"), []byte(`package envcheck

import (
	"os"
	"testing"
)

func TestEnv(t *testing.T) {
	if os.Getenv("FLIGHTLINE_FROM_APP") != "yes" {
		t.Fatal("the app's environment did not reach the test")
	}
	if os.Getenv("FLIGHTLINE_INPUT_TOKEN") != "" {
		t.Fatal("an action input reached the test")
	}
}
`), 0o644))
	env, _, _ := testEnv(t, map[string]string{"FLIGHTLINE_FROM_APP": "yes", "FLIGHTLINE_INPUT_TOKEN": "s3cr3t", "GOWORK": "off"})
	require.Empty(t, os.Getenv("FLIGHTLINE_FROM_APP"), "only the app's environment has it")
	code, stdout, stderr := runCLI(t, env, "test", "--working-directory", dir, "--packages", "./...")
	assert.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.NotContains(t, stdout+stderr, "s3cr3t")
}
