package actions

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// actionsEnv returns a getenv for a runner with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
func actionsEnv(t *testing.T, extra map[string]string) (map[string]string, string, string) {
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	m := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum}
	for k, v := range extra {
		m[k] = v
	}
	return m, out, sum
}

func read(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestSetOutput_ActionsFileRoundTrips(t *testing.T) {
	m, out, _ := actionsEnv(t, nil)
	var stdout bytes.Buffer
	r := New(WithGetenv(env(m)), WithStdout(&stdout))
	values := map[string]string{
		"simple":    "1.5.0",
		"multiline": "line one\nline two\n\nline four",
		"empty":     "",
		"equals":    "a=b=c",
		"heredoc":   "x<<EOF\nEOF\nforged=1",
	}
	for _, k := range SortedKeys(values) {
		require.NoError(t, r.SetOutput(k, values[k]))
	}
	got, err := ParseOutputs(read(t, out))
	require.NoError(t, err)
	assert.Equal(t, values, got)
	assert.Empty(t, stdout.String(), "in Actions, outputs go to the file only")
}

// go-githubactions writes outputs with a fixed delimiter; a value that contains it could end the
// block early and set other outputs. Ours are random per value.
func TestSetOutput_ValueCannotForgeOutputs(t *testing.T) {
	m, out, _ := actionsEnv(t, nil)
	r := New(WithGetenv(env(m)))
	forged := "x\n_GitHubActionsFileCommandDelimeter_\nrange=*\nghadelimiter_00000000000000000000000000000000\ndecision=success"
	require.NoError(t, r.SetOutput("reason", forged))
	got, err := ParseOutputs(read(t, out))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"reason": forged}, got)
}

func TestSetOutput_DelimiterRegeneratedWhenValueContainsIt(t *testing.T) {
	m, out, _ := actionsEnv(t, nil)
	// The random source yields zeros, then ones: the first delimiter is in the value.
	zeros, ones := bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{1}, 16)
	r := New(WithGetenv(env(m)), WithRandom(bytes.NewReader(append(zeros, ones...))))
	value := "a\nghadelimiter_00000000000000000000000000000000\nb"
	require.NoError(t, r.SetOutput("v", value))
	text := read(t, out)
	assert.Contains(t, text, "v<<ghadelimiter_01010101010101010101010101010101\n")
	got, err := ParseOutputs(text)
	require.NoError(t, err)
	assert.Equal(t, value, got["v"])
}

func TestSetOutput_LocalModePrintsLines(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := New(WithGetenv(env(nil)), WithStdout(&stdout), WithStderr(&stderr))
	require.NoError(t, r.SetOutput("tag", "1.5.0"))
	require.NoError(t, r.SetOutput("notes", "a\nb"))
	assert.True(t, strings.HasPrefix(stdout.String(), "tag=1.5.0\nnotes<<ghadelimiter_"), stdout.String())
	got, err := ParseOutputs(stdout.String())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"tag": "1.5.0", "notes": "a\nb"}, got)
	assert.Empty(t, stderr.String())
}

func TestSetOutput_RejectsBadNames(t *testing.T) {
	r := New(WithGetenv(env(nil)), WithStdout(&bytes.Buffer{}))
	for _, name := range []string{"", "a b", "x<<y", "a=b", "1st", "new\nline"} {
		assert.Error(t, r.SetOutput(name, "v"), name)
	}
}

func TestParseOutputs_Errors(t *testing.T) {
	_, err := ParseOutputs("a<<EOF\nnever closed")
	assert.ErrorContains(t, err, `never closes`)
	_, err = ParseOutputs("just text")
	assert.ErrorContains(t, err, "neither name=value nor name<<DELIM")
}

func TestInputs_TypedGetters(t *testing.T) {
	in := NewInputs(env(map[string]string{
		"FLIGHTLINE_INPUT_DRY_RUN":  "true",
		"FLIGHTLINE_INPUT_BAD_BOOL": "yes",
		"FLIGHTLINE_INPUT_N":        " 5 ",
		"FLIGHTLINE_INPUT_BAD_N":    "five",
		"FLIGHTLINE_INPUT_WAIT":     "1m30s",
		"FLIGHTLINE_INPUT_BAD_WAIT": "90",
		"FLIGHTLINE_INPUT_LIST":     "a, b\nc,,\n d ",
		"FLIGHTLINE_INPUT_RULES":    "type=semver,pattern={{version}}\ntype=sha\n",
		"FLIGHTLINE_INPUT_BLANK":    "   ",
	}))
	b, err := in.Bool("dry-run", false)
	require.NoError(t, err)
	assert.True(t, b)
	b, err = in.Bool("missing", true)
	require.NoError(t, err)
	assert.True(t, b, "absent takes the default")
	_, err = in.Bool("bad-bool", false)
	assert.EqualError(t, err, `input "bad-bool" (flag --bad-bool, env FLIGHTLINE_INPUT_BAD_BOOL): invalid value "yes": want true or false`)

	n, err := in.Int("n", 0)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	_, err = in.Int("bad-n", 0)
	assert.ErrorContains(t, err, `input "bad-n"`)
	assert.ErrorContains(t, err, `"five"`)

	d, err := in.Duration("wait", 0)
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d)
	_, err = in.Duration("bad-wait", 0)
	assert.ErrorContains(t, err, "want a duration such as 90s")

	assert.Equal(t, []string{"a", "b", "c", "d"}, in.List("list"))
	assert.Equal(t, []string{"type=semver,pattern={{version}}", "type=sha"}, in.Lines("rules"))
	assert.Nil(t, in.List("blank"))

	_, err = in.Required("blank")
	assert.EqualError(t, err, `missing required input "blank": set it in the action's with: (env FLIGHTLINE_INPUT_BLANK) or pass --blank`)
	v, err := in.Required("n")
	require.NoError(t, err)
	assert.Equal(t, "5", v)
}

type opts struct {
	policy string
	dryRun bool
	n      int
	wait   time.Duration
	labels []string
	tags   []string
}

func newCmd(o *opts) *cobra.Command {
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	f := cmd.Flags()
	f.StringVar(&o.policy, "policy", "", "")
	f.BoolVar(&o.dryRun, "dry-run", false, "")
	f.IntVar(&o.n, "n", 3, "")
	f.DurationVar(&o.wait, "wait", time.Minute, "")
	f.StringSliceVar(&o.labels, "labels", []string{"default"}, "")
	f.StringArrayVar(&o.tags, "tags", nil, "")
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

func TestBindFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    opts
		wantErr string
	}{
		{name: "inputs fill every type",
			env: map[string]string{"FLIGHTLINE_INPUT_POLICY": "prod/agent", "FLIGHTLINE_INPUT_DRY_RUN": "TRUE",
				"FLIGHTLINE_INPUT_N": "7", "FLIGHTLINE_INPUT_WAIT": "2m", "FLIGHTLINE_INPUT_LABELS": "a,b\nc",
				"FLIGHTLINE_INPUT_TAGS": "type=raw,value=x\ntype=sha"},
			want: opts{policy: "prod/agent", dryRun: true, n: 7, wait: 2 * time.Minute, labels: []string{"a", "b", "c"},
				tags: []string{"type=raw,value=x", "type=sha"}}},
		{name: "flags win over inputs", args: []string{"--policy", "a/b", "--n", "1"},
			env:  map[string]string{"FLIGHTLINE_INPUT_POLICY": "prod/agent", "FLIGHTLINE_INPUT_N": "7"},
			want: opts{policy: "a/b", n: 1, wait: time.Minute, labels: []string{"default"}}},
		{name: "defaults stay when inputs are empty", args: []string{"--policy", "a/b"},
			env:  map[string]string{"FLIGHTLINE_INPUT_N": "", "FLIGHTLINE_INPUT_WAIT": "  "},
			want: opts{policy: "a/b", n: 3, wait: time.Minute, labels: []string{"default"}}},
		{name: "missing required names input and flag", wantErr: `missing required input "policy": set it in the action's with: (env FLIGHTLINE_INPUT_POLICY) or pass --policy`},
		{name: "bad values are all reported",
			env:     map[string]string{"FLIGHTLINE_INPUT_POLICY": "p/q", "FLIGHTLINE_INPUT_DRY_RUN": "1", "FLIGHTLINE_INPUT_WAIT": "soon"},
			wantErr: `input "dry-run" (flag --dry-run, env FLIGHTLINE_INPUT_DRY_RUN): invalid value "1": want true or false` + "\n" + `input "wait" (flag --wait, env FLIGHTLINE_INPUT_WAIT): invalid value "soon": want a duration such as 90s, 5m or 1h30m`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o opts
			cmd := newCmd(&o)
			require.NoError(t, cmd.ParseFlags(tc.args))
			err := BindFlags(cmd, NewInputs(env(tc.env)))
			if tc.wantErr != "" {
				assert.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, o)
			assert.NoError(t, cmd.ValidateRequiredFlags(), "an input satisfies cobra's required check too")
		})
	}
}

func TestAnnotate_BudgetAndLocalFormat(t *testing.T) {
	m, _, sum := actionsEnv(t, nil)
	var stdout, stderr bytes.Buffer
	r := New(WithGetenv(env(m)), WithStdout(&stdout), WithStderr(&stderr))
	for i := 0; i < AnnotationBudget+3; i++ {
		r.Annotate(Warning, "range is not an exact pin", Annotation{File: "a.yaml", Line: 4, Col: 7, Title: "pin"})
	}
	r.Annotate(Error, "boom", Annotation{})
	assert.Equal(t, AnnotationBudget, strings.Count(stdout.String(), "::warning "))
	assert.Contains(t, stdout.String(), "::warning col=7,file=a.yaml,line=4,title=pin::range is not an exact pin")
	assert.Contains(t, stdout.String(), "::error::boom")
	assert.Equal(t, 3, strings.Count(stderr.String(), "a.yaml:4:7: warning: range is not an exact pin"), "over budget: logged")
	require.NoError(t, r.WriteSummary(&Summary{}))
	assert.Contains(t, read(t, sum), "3 more warning annotation(s) were not shown as annotations")

	var local bytes.Buffer
	l := New(WithGetenv(env(nil)), WithStdout(&bytes.Buffer{}), WithStderr(&local))
	l.Annotate(Error, "invalid range", Annotation{File: "p.yaml", Line: 12, Col: 14})
	assert.Equal(t, "p.yaml:12:14: error: invalid range\n", local.String())
}

func TestMask_RedactsEverywhere(t *testing.T) {
	m, out, sum := actionsEnv(t, nil)
	var stdout, stderr bytes.Buffer
	r := New(WithGetenv(env(m)), WithStdout(&stdout), WithStderr(&stderr))
	r.Mask("ghs_secret123")
	r.Mask("ab") // too short to mask safely: ignored
	assert.Equal(t, "::add-mask::ghs_secret123\n", stdout.String())
	r.Logf("token %s rejected", "ghs_secret123")
	r.Annotate(Error, "auth ghs_secret123 failed", Annotation{})
	require.NoError(t, r.SetOutput("x", "ghs_secret123"))
	require.NoError(t, r.WriteSummary(new(Summary).Para("t=ghs_secret123 ab")))
	for _, s := range []string{stderr.String(), read(t, out), read(t, sum), strings.TrimPrefix(stdout.String(), "::add-mask::ghs_secret123\n")} {
		assert.NotContains(t, s, "ghs_secret123")
	}
	assert.Contains(t, read(t, sum), "t=*** ab")
}

func TestSummary_Markdown(t *testing.T) {
	lo, hi := 90.0, 100.0
	s := new(Summary).
		Heading(2, "Promotion").
		Table([]string{"policy", "range"}, [][]string{{"prod/agent", "1.4.0 → 1.5.0"}, {"a|b", "x\ny"}}).
		Details("Diff <file>", "```diff\n-a\n+b\n```").
		Chart(Chart{Title: "request-success-rate", XLabels: []string{"08:00:01", "08:00:02"}, YLabel: "%",
			YMin: &lo, YMax: &hi, Series: []Series{{Name: "value", Values: []float64{99.5, math.NaN()}}, {Name: "min", Values: []float64{99, 99}}}})
	want := "## Promotion\n\n" +
		"| policy | range |\n| --- | --- |\n| prod/agent | 1.4.0 → 1.5.0 |\n| a\\|b | x<br>y |\n\n" +
		"<details><summary>Diff &lt;file&gt;</summary>\n\n```diff\n-a\n+b\n```\n\n</details>\n\n" +
		"_line 1: value · line 2: min_\n\n" +
		"```mermaid\nxychart-beta\n    title \"request-success-rate\"\n    x-axis [\"08:00:01\", \"08:00:02\"]\n    y-axis \"%\" 90 --> 100\n    line [99.5, 90]\n    line [99, 99]\n```\n\n"
	assert.Equal(t, want, s.String())
}

func TestWriteSummary_CappedUnderGitHubLimit(t *testing.T) {
	m, _, sum := actionsEnv(t, nil)
	r := New(WithGetenv(env(m)))
	require.NoError(t, os.WriteFile(sum, []byte(strings.Repeat("x", 1000)+"\n"), 0o644))
	s := new(Summary)
	for s.Len() < 2<<20 {
		s.Para(strings.Repeat("row ", 50))
	}
	require.NoError(t, r.WriteSummary(s))
	text := read(t, sum)
	assert.LessOrEqual(t, len(text), SummaryLimit)
	assert.Greater(t, len(text), SummaryLimit-1000)
	assert.Contains(t, text, "> Summary truncated:")
}

func TestWriteSummary_LocalGoesToStderr(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r := New(WithGetenv(env(nil)), WithStdout(&stdout), WithStderr(&stderr))
	require.NoError(t, r.WriteSummary(new(Summary).Heading(1, "Done")))
	assert.Equal(t, "# Done\n\n", stderr.String())
	assert.Empty(t, stdout.String())
}

func TestPosition(t *testing.T) {
	for _, c := range []struct {
		file      string
		line, col int
		want      string
	}{
		{"a.go", 3, 7, "a.go:3:7: "},
		{"a.go", 3, 0, "a.go:3: "},
		{"a.go", 0, 7, "a.go: "},
		{"", 3, 7, ""},
	} {
		assert.Equal(t, c.want, Position(c.file, c.line, c.col))
	}
}
