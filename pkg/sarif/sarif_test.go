package sarif

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

func sampleRuns() []Run {
	return []Run{
		{
			Tool: "golangci-lint", Version: "2.15.0", InformationURI: "https://golangci-lint.run",
			Rules: []Rule{
				{ID: "errcheck", Name: "errcheck", ShortDescription: "unchecked error", HelpURI: "https://golangci-lint.run/docs/linters/", Level: "error",
					Properties: map[string]any{"tags": []string{"bug"}, "precision": "high"}},
				{ID: "unused", Level: "warning"}, // not used by any result: left out
			},
			Results: []Result{
				{RuleID: "govet", Message: "printf: wrong verb", File: "cmd/x/main.go", Line: 12, Col: 3},
				{RuleID: "errcheck", Message: "Error return value is not checked", File: "pkg/a b/c.go", Line: 4, Col: 9, EndLine: 5, Fingerprint: "abc123"},
			},
		},
		{
			Tool: "flake8", Version: "5.0.4",
			Results: []Result{
				{RuleID: "F401", Level: "error", Message: "'os' imported but unused", File: `app\main.py`, Line: 1, Col: 1},
				{RuleID: "E501", Level: "info", Message: "line too long", File: "./app/main.py", Line: 0},
				{RuleID: "E999", Message: "no file", File: ""},
			},
		},
		{Tool: "yamllint"}, // no results: an empty run says the tool ran and found nothing
	}
}

func TestWrite_GoldenAndValid(t *testing.T) {
	var buf bytes.Buffer
	rep, err := WriteReport(&buf, sampleRuns()...)
	require.NoError(t, err)
	golden(t, "sample.sarif", buf.Bytes())
	require.NoError(t, Validate(buf.Bytes()))

	assert.Equal(t, buf.Len(), rep.Bytes)
	require.Len(t, rep.Cuts, 3)
	assert.Equal(t, Cut{Tool: "flake8", Results: 3, Kept: 2, NoLocation: 1}, rep.Cuts[1])
	assert.Equal(t, "flake8: kept 2 of 3 results; cut 1 without a file", rep.Cuts[1].String())
	assert.Empty(t, rep.Cuts[0].String())
}

func TestWrite_GitHubShape(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sampleRuns()...))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	runs := doc["runs"].([]any)
	require.Len(t, runs, 3)
	for _, r := range runs {
		run := r.(map[string]any)
		rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
		for _, x := range run["results"].([]any) {
			res := x.(map[string]any)
			require.NotEmpty(t, res["ruleId"])
			idx := int(res["ruleIndex"].(float64))
			assert.Equal(t, res["ruleId"], rules[idx].(map[string]any)["id"], "ruleIndex points at the rule")
			loc := res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
			art := loc["artifactLocation"].(map[string]any)
			assert.Equal(t, "%SRCROOT%", art["uriBaseId"])
			assert.False(t, strings.HasPrefix(art["uri"].(string), "/"))
			assert.GreaterOrEqual(t, loc["region"].(map[string]any)["startLine"].(float64), 1.0)
		}
	}
	first := runs[0].(map[string]any)["results"].([]any)
	assert.Equal(t, "errcheck", first[0].(map[string]any)["ruleId"], "errors sort before warnings")
	assert.Equal(t, "pkg/a%20b/c.go", first[0].(map[string]any)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)["uri"])
}

func TestWrite_BadInput(t *testing.T) {
	tests := []struct {
		name string
		runs []Run
		want string
	}{
		{"no tool", []Run{{}}, "run without a tool name"},
		{"no rule id", []Run{{Tool: "t", Results: []Result{{File: "a.go", Line: 1, Message: "m"}}}}, "t: result 1 (a.go:1) has no rule id"},
		{"bad level", []Run{{Tool: "t", Results: []Result{{RuleID: "r", Level: "fatal", File: "a.go"}}}}, `unknown SARIF level "fatal"`},
		{"absolute", []Run{{Tool: "t", Results: []Result{{RuleID: "r", File: "/home/runner/work/a.go"}}}}, "is absolute"},
		{"escapes", []Run{{Tool: "t", Results: []Result{{RuleID: "r", File: "a/../../b.go"}}}}, "outside the repository root"},
		{"too many runs", make([]Run, MaxRuns+1), "21 runs in one SARIF file, GitHub accepts at most 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.runs...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Zero(t, buf.Len(), "nothing is written on error")
		})
	}
}

func TestWrite_CutsResultsOverLimitKeepingErrors(t *testing.T) {
	run := Run{Tool: "big"}
	for i := 0; i < MaxResultsPerRun+10; i++ {
		lvl := "note"
		if i%1000 == 999 {
			lvl = "error"
		}
		run.Results = append(run.Results, Result{RuleID: fmt.Sprintf("R%d", i%7), Level: lvl, Message: "m", File: "f.go", Line: i + 1})
	}
	var buf bytes.Buffer
	rep, err := WriteReport(&buf, run)
	require.NoError(t, err)
	require.NoError(t, Validate(buf.Bytes()))
	assert.Equal(t, 10, rep.Cuts[0].OverLimit)
	assert.Equal(t, MaxResultsPerRun, rep.Cuts[0].Kept)
	var doc struct {
		Runs []struct {
			Invocations []struct {
				ToolExecutionNotifications []struct{ Message struct{ Text string } }
			}
			Results []struct{ Level string }
		}
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	errorsKept := 0
	for _, r := range doc.Runs[0].Results {
		if r.Level == "error" {
			errorsKept++
		}
	}
	assert.Equal(t, 25, errorsKept, "every error survives the cut")
	assert.Contains(t, doc.Runs[0].Invocations[0].ToolExecutionNotifications[0].Message.Text, "cut 10 beyond the 25000 results GitHub accepts per run")
}

func TestWrite_CutsToFitUploadSize(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var runs []Run
	for r := 0; r < 2; r++ {
		run := Run{Tool: fmt.Sprintf("tool%d", r)}
		for i := 0; i < 1000; i++ {
			// Random messages compress badly: 1,000 × 7,000 bytes per run is well over 10 MiB gzipped.
			msg := make([]byte, 7000)
			for k := range msg {
				msg[k] = byte('!' + rng.Intn(90))
			}
			run.Results = append(run.Results, Result{RuleID: "R", Message: string(msg), File: fmt.Sprintf("f%d.go", i), Line: 1})
		}
		runs = append(runs, run)
	}
	var buf bytes.Buffer
	rep, err := WriteReport(&buf, runs...)
	require.NoError(t, err)
	assert.LessOrEqual(t, rep.GzipBytes, MaxUploadBytes)
	assert.Equal(t, buf.Len(), rep.Bytes)
	for _, c := range rep.Cuts {
		assert.Positive(t, c.OverSize)
		assert.Equal(t, c.Results, c.Kept+c.OverSize)
		assert.Contains(t, c.String(), "to keep the file under 10 MiB compressed")
	}
	require.NoError(t, Validate(buf.Bytes()))
}

func TestWrite_TagsCut(t *testing.T) {
	tags := make([]string, 25)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	var buf bytes.Buffer
	rep, err := WriteReport(&buf, Run{Tool: "t", Rules: []Rule{{ID: "r", Properties: map[string]any{"tags": tags}}},
		Results: []Result{{RuleID: "r", File: "a.go", Line: 1, Message: "m"}}})
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Cuts[0].Tags)
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ Properties struct{ Tags []string } }
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	assert.Equal(t, tags[:20], doc.Runs[0].Tool.Driver.Rules[0].Properties.Tags)
}

func TestValidate_Rejects(t *testing.T) {
	valid := func() map[string]any {
		var buf bytes.Buffer
		require.NoError(t, Write(&buf, sampleRuns()...))
		var doc map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
		return doc
	}
	result := func(doc map[string]any) map[string]any {
		return doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
	}
	tests := []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"bad level", func(d map[string]any) { result(d)["level"] = "fatal" }, "does not match the 2.1.0 schema"},
		{"unknown top-level property", func(d map[string]any) { d["extra"] = 1 }, "does not match the 2.1.0 schema"},
		{"no message", func(d map[string]any) { delete(result(d), "message") }, "does not match the 2.1.0 schema"},
		{"line zero", func(d map[string]any) {
			result(d)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		}, "does not match the 2.1.0 schema"},
		{"no ruleId", func(d map[string]any) { delete(result(d), "ruleId"); delete(result(d), "ruleIndex") }, "no ruleId"},
		{"absolute uri", func(d map[string]any) {
			a := result(d)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)
			a["uri"] = "file:///home/runner/x.go"
			delete(a, "uriBaseId")
		}, "absolute uri"},
		{"old version", func(d map[string]any) { d["version"] = "2.0.0" }, "does not match the 2.1.0 schema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := valid()
			tc.mutate(doc)
			data, err := json.Marshal(doc)
			require.NoError(t, err)
			err = Validate(data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	assert.ErrorContains(t, Validate([]byte("{")), "not JSON")
}

func ExampleWrite() {
	var buf bytes.Buffer
	err := Write(&buf, Run{
		Tool: "flake8", Version: "5.0.4",
		Results: []Result{{RuleID: "F401", Level: "error", Message: "'os' imported but unused", File: "app/main.py", Line: 1, Col: 1}},
	})
	fmt.Println(err, Validate(buf.Bytes()))
	// Output: <nil> <nil>
}
