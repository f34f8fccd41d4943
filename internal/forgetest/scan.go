package forgetest

import (
	"context"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/promote"
)

// scanTime is when the passing scan ran: one time per test binary, so a re-run finds the same
// evidence and writes the same PR body.
var scanTime = time.Now().Add(-time.Minute).UTC().Truncate(time.Second)

// PassedScan is a scan check that requires a scan and finds a passing one, made a minute ago,
// for any digest (the registry-backed check is tested in pkg/scan and cmd/flightline).
func PassedScan() promote.ScanCheck {
	return promote.ScanCheck{Require: true, Finder: promote.ScanFinderFunc(func(context.Context, string, string) ([]promote.ScanEvidence, error) {
		return []promote.ScanEvidence{{Referrer: "sha256:" + strings.Repeat("5", 64), Verdict: "passed", Time: scanTime,
			Counts: map[string]int{"CRITICAL": 0, "HIGH": 0}}}, nil
	})}
}

// NoScan requires a scan and finds none.
func NoScan() promote.ScanCheck {
	return promote.ScanCheck{Require: true, Finder: promote.ScanFinderFunc(func(context.Context, string, string) ([]promote.ScanEvidence, error) {
		return nil, nil
	})}
}
