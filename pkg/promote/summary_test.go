package promote_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/promote"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestSummary_Golden(t *testing.T) {
	base := promote.Result{Policy: "apps/agent", File: "images.yaml", Base: "main", PreviousRange: "1.4.0", Range: "1.5.0",
		Tag: "v1.5.0", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Image: "ghcr.io/o/agent", Scan: "passed",
		Diff: "--- a/images.yaml\n+++ b/images.yaml\n@@ -9 +9 @@\n-      range: 1.4.0\n+      range: 1.5.0\n"}
	github := base
	github.Operation = promote.Created
	github.PR = forge.PR{Number: 42, URL: "https://github.com/o/platform/pull/42", Title: "promote apps/agent to v1.5.0", State: forge.StateOpen}
	github.Superseded = []forge.PR{{Number: 41, URL: "https://github.com/o/platform/pull/41", Title: "promote apps/agent to v1.4.1"}}
	github.Message = "created the promotion of apps/agent from \"1.4.0\" to \"1.5.0\": #42"
	local := base
	local.Operation = promote.Merged
	local.PR = forge.PR{URL: "flightline/promote/apps/agent/1.5.0", Branch: "flightline/promote/apps/agent/1.5.0", MergeSHA: "89abcdef0123456789abcdef0123456789abcdef", State: forge.StateMerged}
	local.Message = "merged the promotion of apps/agent from \"1.4.0\" to \"1.5.0\""
	unchanged := promote.Result{Operation: promote.Unchanged, Policy: "apps/agent", PreviousRange: "1.5.0", Range: "1.5.0", Tag: "1.5.0",
		Message: "apps/agent already pins \"1.5.0\" on main: nothing to promote"}
	for name, r := range map[string]promote.Result{"summary-github-created": github, "summary-local-merged": local, "summary-unchanged": unchanged} {
		t.Run(name, func(t *testing.T) { golden(t, name, r.Summary()) })
	}
}
