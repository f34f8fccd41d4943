package promote

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckScan(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	digest := "sha256:" + strings.Repeat("a", 64)
	ref := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	passed := ScanEvidence{Referrer: ref("1"), Verdict: "passed", Time: now.Add(-time.Hour), Counts: map[string]int{"CRITICAL": 0, "HIGH": 0}}
	failed := ScanEvidence{Referrer: ref("2"), Verdict: "failed", Time: now.Add(-time.Minute), Counts: map[string]int{"CRITICAL": 1, "HIGH": 0}}
	stale := ScanEvidence{Referrer: ref("3"), Verdict: "passed", Time: now.Add(-8 * 24 * time.Hour)}
	unreadable := ScanEvidence{Referrer: ref("4"), Err: errors.New("unreadable scan report: invalid character")}
	future := ScanEvidence{Referrer: ref("5"), Verdict: "passed", Time: now.Add(time.Hour)}
	tests := []struct {
		name        string
		evidence    []ScanEvidence
		require     bool
		wantVerdict string
		wantErr     error
		wantMsg     string
	}{
		{"passing", []ScanEvidence{passed}, true, "passed", nil, ""},
		{"none", nil, true, "unknown", ErrScanMissing, "has no scan report attached; scan it first (flightline scan --image ghcr.io/o/a@" + digest},
		{"none, not required", nil, false, "unknown", nil, ""},
		{"newest failed", []ScanEvidence{passed, failed}, true, "failed", ErrScanFailed, "CRITICAL 1, HIGH 0"},
		{"failed, not required: recorded", []ScanEvidence{failed}, false, "failed", nil, ""},
		{"stale", []ScanEvidence{stale}, true, "passed", ErrScanStale, "over max-scan-age 168h0m0s"},
		{"unreadable only", []ScanEvidence{unreadable}, true, "unknown", ErrScanMissing, "no readable scan report (" + ref("4") + ": unreadable scan report"},
		{"unreadable beside a passing one", []ScanEvidence{unreadable, passed}, true, "passed", nil, ""},
		{"dated in the future", []ScanEvidence{future}, true, "unknown", ErrScanMissing, "in the future"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ScanCheck{Require: tc.require, Now: func() time.Time { return now },
				Finder: ScanFinderFunc(func(_ context.Context, repo, d string) ([]ScanEvidence, error) {
					assert.Equal(t, "ghcr.io/o/a", repo)
					assert.Equal(t, digest, d)
					return tc.evidence, nil
				})}
			v, ev, err := checkScan(context.Background(), c, "ghcr.io/o/a", digest)
			assert.Equal(t, tc.wantVerdict, v)
			if tc.wantErr == nil {
				require.NoError(t, err)
				if v != "unknown" {
					require.NotNil(t, ev)
				}
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.wantErr), err)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.Contains(t, err.Error(), "require-scan", "says how to opt out")
		})
	}
}

func TestCheckScan_RegistryErrorAndNoFinder(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	boom := ScanFinderFunc(func(context.Context, string, string) ([]ScanEvidence, error) { return nil, errors.New("registry down") })
	_, _, err := checkScan(context.Background(), ScanCheck{Require: true, Finder: boom}, "r", digest)
	assert.ErrorContains(t, err, "registry down")
	v, _, err := checkScan(context.Background(), ScanCheck{Finder: boom}, "r", digest)
	require.NoError(t, err, "not required: an unreachable referrers API records unknown")
	assert.Equal(t, "unknown", v)
	_, _, err = checkScan(context.Background(), ScanCheck{Require: true}, "r", digest)
	assert.True(t, errors.Is(err, ErrInvalidInput))
	assert.Equal(t, "passed (CRITICAL 0; report `sha256:x`, 2026-12-01T00:00:00Z)", scanCell("passed", &ScanEvidence{Referrer: "sha256:x", Counts: map[string]int{"CRITICAL": 0}, Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}))
}
