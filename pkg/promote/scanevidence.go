package promote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/labrats-work/flightline/pkg/marker"
)

// Errors of the scan-evidence check (wrapped with the digest and what to do).
var (
	// ErrScanMissing: no readable scan report is attached to the digest.
	ErrScanMissing = errors.New("no scan of the digest")
	// ErrScanFailed: the newest scan of the digest failed.
	ErrScanFailed = errors.New("the scan of the digest failed")
	// ErrScanStale: the newest scan of the digest is older than the limit.
	ErrScanStale = errors.New("the scan of the digest is too old")
)

// DefaultMaxScanAge is how old a passing scan may be when ScanCheck.MaxAge is 0.
const DefaultMaxScanAge = 7 * 24 * time.Hour

// ScanEvidence is one scan report attached to an image digest (an OCI referrer).
type ScanEvidence struct {
	Referrer string         // the report's manifest digest
	Verdict  string         // passed | failed
	Time     time.Time      // when the scan ran
	Counts   map[string]int // findings by severity
	Err      error          // why the report cannot be used (unreadable, for another digest)
}

// ScanFinder lists the scan reports attached to repo@digest (pkg/scan.FindEvidence over the
// registry).
type ScanFinder interface {
	FindScans(ctx context.Context, repo, digest string) ([]ScanEvidence, error)
}

// ScanCheck is how promote checks the scan evidence of the promoted digest. The zero value
// checks nothing and records the newest verdict it can read (none without a Finder); the
// promote command requires a scan by default.
type ScanCheck struct {
	Require bool          // refuse a digest without a passing, readable scan younger than MaxAge
	MaxAge  time.Duration // default DefaultMaxScanAge
	Finder  ScanFinder
	Now     func() time.Time // default time.Now
}

// checkScan looks for the scan evidence of repo@digest and returns the verdict for the marker
// (passed, failed or unknown) with the evidence it came from. With Require, it refuses a digest
// whose newest readable scan is missing, failed or older than MaxAge.
func checkScan(ctx context.Context, c ScanCheck, repo, digest string) (string, *ScanEvidence, error) {
	if c.Finder == nil {
		if c.Require {
			return marker.ScanUnknown, nil, fmt.Errorf("%w: require-scan is set but no registry is given to look for the scan", ErrInvalidInput)
		}
		return marker.ScanUnknown, nil, nil
	}
	if digest == "" {
		return marker.ScanUnknown, nil, fmt.Errorf("%w: no digest to check the scan of", ErrInvalidInput)
	}
	now, maxAge := time.Now, c.MaxAge
	if c.Now != nil {
		now = c.Now
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxScanAge
	}
	howTo := fmt.Sprintf("scan it first (flightline scan --image %s@%s, or the scan action), or set require-scan: false to promote without a scan", repo, digest)
	all, err := c.Finder.FindScans(ctx, repo, digest)
	if err != nil {
		if !c.Require {
			return marker.ScanUnknown, nil, nil
		}
		return marker.ScanUnknown, nil, fmt.Errorf("looking for the scan of %s@%s: %w", repo, digest, err)
	}
	var usable []ScanEvidence
	var bad []string
	for _, e := range all {
		switch {
		case e.Err != nil:
			bad = append(bad, fmt.Sprintf("%s: %s", e.Referrer, clip(e.Err.Error(), 200)))
		case e.Time.After(now().Add(5 * time.Minute)):
			bad = append(bad, fmt.Sprintf("%s: dated %s, in the future", e.Referrer, e.Time.UTC().Format(time.RFC3339)))
		default:
			usable = append(usable, e)
		}
	}
	sort.SliceStable(usable, func(i, j int) bool { return usable[i].Time.After(usable[j].Time) })
	if len(usable) == 0 {
		if !c.Require {
			return marker.ScanUnknown, nil, nil
		}
		if len(bad) > 0 {
			return marker.ScanUnknown, nil, fmt.Errorf("%w: %s@%s has no readable scan report (%s); %s", ErrScanMissing, repo, digest, strings.Join(bad, "; "), howTo)
		}
		return marker.ScanUnknown, nil, fmt.Errorf("%w: %s@%s has no scan report attached; %s", ErrScanMissing, repo, digest, howTo)
	}
	newest := usable[0]
	verdict := marker.ScanUnknown
	switch newest.Verdict {
	case marker.ScanPassed, marker.ScanFailed:
		verdict = newest.Verdict
	}
	if !c.Require {
		return verdict, &newest, nil
	}
	if verdict != marker.ScanPassed {
		return verdict, &newest, fmt.Errorf("%w: the newest scan of %s@%s (%s, referrer %s) is %s: %s; fix the findings and promote a new build, or set require-scan: false",
			ErrScanFailed, repo, digest, newest.Time.UTC().Format(time.RFC3339), newest.Referrer, newest.Verdict, countsText(newest.Counts))
	}
	if age := now().Sub(newest.Time); age > maxAge {
		return verdict, &newest, fmt.Errorf("%w: the newest scan of %s@%s passed %s ago (%s), over max-scan-age %s; scan it again (new advisories appear daily), raise max-scan-age, or set require-scan: false",
			ErrScanStale, repo, digest, age.Round(time.Minute), newest.Time.UTC().Format(time.RFC3339), maxAge)
	}
	return verdict, &newest, nil
}

var severityOrder = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// countsText is "CRITICAL 1, HIGH 0, …" in severity order.
func countsText(c map[string]int) string {
	var parts []string
	for _, s := range severityOrder {
		if n, ok := c[s]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(parts) == 0 {
		return "no counts"
	}
	return strings.Join(parts, ", ")
}

// scanCell is the PR body's scan row: the verdict, the counts and the referrer digest.
func scanCell(verdict string, e *ScanEvidence) string {
	if e == nil {
		return verdict + " (no scan report attached to the digest)"
	}
	return fmt.Sprintf("%s (%s; report `%s`, %s)", verdict, countsText(e.Counts), e.Referrer, e.Time.UTC().Format(time.RFC3339))
}

// clip drops control characters from text read from a registry and cuts it to max runes.
func clip(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// ScanFinderFunc is a function that finds scans, as a ScanFinder.
type ScanFinderFunc func(ctx context.Context, repo, digest string) ([]ScanEvidence, error)

// FindScans calls f.
func (f ScanFinderFunc) FindScans(ctx context.Context, repo, digest string) ([]ScanEvidence, error) {
	return f(ctx, repo, digest)
}
