package rollback_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/rollback"
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
	promo := marker.Promotion{V: 1, Policy: "apps/agent", File: "images.yaml", PreviousRange: "1.4.0", Range: "1.5.0", Tag: "1.5.0"}
	exact := rollback.Result{Operation: rollback.Reverted, Policy: "apps/agent", File: "images.yaml", Base: "main",
		Reverted:  forge.PR{Number: 42, URL: "https://github.com/o/platform/pull/42", State: forge.StateMerged},
		Revert:    forge.PR{Number: 43, URL: "https://github.com/o/platform/pull/43", State: forge.StateMerged},
		Promotion: promo, RestoredRange: "1.4.0", RestoredTag: "1.4.0", Exact: true, Merged: true, Verified: true,
		Trigger: "canary", Reason: "request-success-rate below 99 | 5 failed checks",
		Message: "rolled back #42: apps/agent now pins \"1.4.0\" on main (#43)"}
	ranged := exact
	ranged.RestoredRange, ranged.RestoredTag, ranged.Exact, ranged.Trigger, ranged.Reason = "~1.4.0", "1.4.3", false, "manual", "bad release"
	ranged.Promotion.PreviousRange = "~1.4.0"
	refused := rollback.Result{Operation: rollback.Refused, Policy: "apps/agent", Trigger: "manual", Promotion: promo, RestoredRange: "1.4.0", Exact: true,
		Message:  "promotion superseded: #44 (promote apps/agent to 1.6.0) has merged since #42; roll back the newest promotion instead, or set force to revert #42 anyway",
		Reverted: forge.PR{Number: 42, URL: "https://github.com/o/platform/pull/42"},
		Newer:    []forge.PR{{Number: 44, Title: "promote apps/agent to 1.6.0"}},
		Warnings: []string{"could not resolve the restored range \"1.4.0\": registry unreachable"}}
	for name, r := range map[string]rollback.Result{"summary-exact-merged": exact, "summary-range": ranged, "summary-refused": refused} {
		t.Run(name, func(t *testing.T) { golden(t, name, r.Summary()) })
	}
}
