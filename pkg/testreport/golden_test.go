package testreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
)

var (
	update       = flag.Bool("update", false, "rerun the fixture suites with the real go test and pytest and rewrite testdata")
	updateGolden = flag.Bool("golden", false, "rewrite the .golden.json files from the recorded streams")
)

// goFixtures are real go test -json streams of the fixture module testdata/gofixture, recorded
// with -update (-trimpath keeps this machine's paths out of them).
var goFixtures = []struct {
	name  string
	flags []string
	pkgs  []string
}{
	{"pass", nil, []string{"./pass"}},
	{"fail", nil, []string{"./fail"}},
	{"panic", nil, []string{"./panic"}},
	{"buildfail", nil, []string{"./buildfail", "./pass"}},
	{"race", []string{"-race"}, []string{"./race"}},
	{"forge", nil, []string{"./forge"}},
}

// fixtureLocator places the fixture module at /repo/gofixture.
var fixtureLocator = Locator{Root: "/repo", WorkDir: "/repo/gofixture", ModulePath: "example.com/fixture", ModuleDir: "/repo/gofixture"}

type golden struct {
	Totals Totals `json:"totals"`
	*Suite
}

func goldenJSON(t *testing.T, s *Suite) []byte {
	b, err := json.MarshalIndent(golden{Totals: s.Totals(), Suite: s}, "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

func TestGolden_GoTestJSON(t *testing.T) {
	for _, fx := range goFixtures {
		t.Run(fx.name, func(t *testing.T) {
			stream := filepath.Join("testdata", "go", fx.name+".jsonl")
			if *update {
				args := append(append([]string{"test", "-json", "-count=1", "-trimpath"}, fx.flags...), fx.pkgs...)
				cmd := exec.Command("go", args...)
				cmd.Dir = filepath.Join("testdata", "gofixture")
				var out bytes.Buffer
				cmd.Stdout = &out
				cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
				_ = cmd.Run() // failing suites exit 1: that is the point
				require.NoError(t, os.MkdirAll(filepath.Dir(stream), 0o755))
				require.NoError(t, os.WriteFile(stream, out.Bytes(), 0o644))
			}
			f, err := os.Open(stream)
			require.NoError(t, err)
			defer f.Close()
			s, err := ParseGoJSON(stream, f)
			require.NoError(t, err)
			fixtureLocator.Locate(s)
			got := goldenJSON(t, s)
			want := filepath.Join("testdata", "go", fx.name+".golden.json")
			if *update || *updateGolden {
				require.NoError(t, os.WriteFile(want, got, 0o644))
			}
			w, err := os.ReadFile(want)
			require.NoError(t, err)
			assert.Equal(t, string(w), string(got))
		})
	}
}

// What the goldens say, spelled out: the cases the issue names.
func TestGoTestJSON_Cases(t *testing.T) {
	parse := func(name string) *Suite {
		f, err := os.Open(filepath.Join("testdata", "go", name+".jsonl"))
		require.NoError(t, err)
		defer f.Close()
		s, err := ParseGoJSON(name, f)
		require.NoError(t, err)
		fixtureLocator.Locate(s)
		return s
	}
	byName := func(s *Suite, name string) *Test {
		for _, tt := range s.Tests {
			if tt.Name == name {
				return tt
			}
		}
		t.Fatalf("no test %s", name)
		return nil
	}

	s := parse("fail")
	assert.Equal(t, Totals{Tests: 4, Passed: 2, Failed: 2}, s.Totals(), "TestTable counts through its subtests")
	add := byName(s, "TestAdd")
	assert.Equal(t, "gofixture/fail/fail_test.go", add.File)
	assert.Equal(t, 8, add.Line, "the t.Errorf line, not the t.Logf before it")
	neg := byName(s, "TestTable/negative")
	assert.Equal(t, Fail, neg.Status)
	assert.Equal(t, 19, neg.Line)

	s = parse("pass")
	assert.Equal(t, Totals{Tests: 5, Passed: 4, Skipped: 1}, s.Totals())
	assert.Equal(t, "needs a GPU", byName(s, "TestSkipped").SkipReason)
	assert.Equal(t, "TestSlow", s.Slowest(1)[0].Name)
	assert.NotNil(t, byName(s, "TestTable/two_words"))

	s = parse("panic")
	p := byName(s, "TestPanics")
	assert.Equal(t, Fail, p.Status)
	assert.Equal(t, "gofixture/panic/panic_test.go", p.File)
	assert.Equal(t, 9, p.Line, "the panicking line, from the stack")
	assert.Contains(t, p.Output, "assignment to entry in nil map")
	assert.Equal(t, Totals{Tests: 2, Passed: 1, Failed: 1}, s.Totals(), "TestNeverRuns never ran")

	s = parse("buildfail")
	require.Len(t, s.Problems, 1)
	bp := s.Problems[0]
	assert.Equal(t, "build", bp.Kind)
	assert.Equal(t, "gofixture/buildfail/buildfail_test.go", bp.File)
	assert.Equal(t, [2]int{6, 2}, [2]int{bp.Line, bp.Col})
	assert.Equal(t, "undefined: undefinedFunction", bp.Message)
	assert.Equal(t, 1, s.Totals().Problems)

	s = parse("race")
	r := byName(s, "TestRace")
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, "gofixture/race/race_test.go", r.File)
	assert.Contains(t, []int{9, 12}, r.Line, "a line of the race, from the report's stacks")
	assert.Contains(t, r.Output, "WARNING: DATA RACE")
}

// pytest's JUnit XML: recorded with Debian's real pytest (-update), and under CI=true (or
// wherever pytest is installed) produced afresh and read to the same result.
func TestGolden_PytestJUnit(t *testing.T) {
	fixture, err := filepath.Abs(filepath.Join("testdata", "pyfixture"))
	require.NoError(t, err)
	loc := Locator{Root: filepath.Dir(fixture), WorkDir: fixture}
	stored := filepath.Join("testdata", "junit", "pytest.xml")
	want := filepath.Join("testdata", "junit", "pytest.golden.json")
	read := func(path string) []byte {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		s, err := ParseJUnit(path, f, loc)
		require.NoError(t, err)
		for _, tt := range s.Tests {
			tt.Elapsed = 0 // differs run to run
		}
		return goldenJSON(t, s)
	}
	fresh := func() string {
		pytest := testenv.LookPath(t, "pytest", "apt-get install python3-pytest")
		out := filepath.Join(t.TempDir(), "pytest.xml")
		cmd := exec.Command(pytest, "-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml="+out, "-m", "not behavioural", "tests")
		cmd.Dir = fixture
		cmd.Env = append(os.Environ(), "FIXTURE_FLAKY_DIR=")
		b, _ := cmd.CombinedOutput() // failures exit 1
		_, err := os.Stat(out)
		require.NoError(t, err, "pytest wrote no report:\n%s", b)
		return out
	}
	if *update {
		data, err := os.ReadFile(fresh())
		require.NoError(t, err)
		// The skip texts hold this machine's path: keep it out of the repository.
		data = bytes.ReplaceAll(data, []byte(fixture+"/"), nil)
		require.NoError(t, os.MkdirAll(filepath.Dir(stored), 0o755))
		require.NoError(t, os.WriteFile(stored, data, 0o644))
	}
	if *update || *updateGolden {
		require.NoError(t, os.WriteFile(want, read(stored), 0o644))
	}
	w, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, string(w), string(read(stored)))

	got := read(fresh())
	assert.Equal(t, string(w), strings.ReplaceAll(string(got), fixture+"/", ""))
}
