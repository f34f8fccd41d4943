package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aquasecurity/trivy/pkg/types"

	"github.com/labrats-work/flightline/pkg/registry"
)

// ArtifactType is the artifactType of the scan report attached to an image, and the media type
// of its one layer (the Report as JSON).
const ArtifactType = "application/vnd.flightline.scan.v1+json"

// Annotations on the attached report's manifest.
const (
	AnnotationVerdict   = "dev.flightline.scan.verdict"    // passed | failed
	AnnotationCounts    = "dev.flightline.scan.counts"     // JSON counts by severity
	AnnotationSeverity  = "dev.flightline.scan.severities" // the gating severities, comma-separated
	AnnotationTrivy     = "dev.flightline.scan.trivy.version"
	AnnotationDBUpdated = "dev.flightline.scan.db.updated-at"
	AnnotationDBSchema  = "dev.flightline.scan.db.version"
	AnnotationCreated   = "org.opencontainers.image.created"
)

// ReportVersion is the version of the Report document.
const ReportVersion = 1

// Report is Flightline's scan report: the verdict with what it was made from, and Trivy's own
// JSON report of each scanned platform, byte for byte.
type Report struct {
	V         int              `json:"v"`
	Image     string           `json:"image"`            // repository, or the scanned directory
	Digest    string           `json:"digest,omitempty"` // the scanned digest (the index digest for multi-platform)
	Verdict   string           `json:"verdict"`
	CreatedAt time.Time        `json:"createdAt"`
	Trivy     string           `json:"trivy"`
	DB        DBInfo           `json:"db"`
	Platforms []PlatformResult `json:"platforms,omitempty"`
	Result    Verdict          `json:"result"`
	// Trivy's reports, one per platform (one for a single image or a directory), as Trivy wrote them.
	TrivyReports []json.RawMessage `json:"trivyReports"`
}

func newReport(res Result, raws []json.RawMessage) Report {
	return Report{V: ReportVersion, Image: res.Image, Digest: res.Digest, Verdict: res.Verdict.String(),
		CreatedAt: res.Time, Trivy: res.Trivy, DB: res.DB, Platforms: res.Platforms, Result: res.Verdict, TrivyReports: raws}
}

// NewArtifact is rep as the OCI artifact Run attaches: the report as its one layer, the verdict,
// counts, Trivy and DB versions and the time as manifest annotations.
func NewArtifact(rep Report) (registry.Artifact, error) {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return registry.Artifact{}, err
	}
	return artifact(rep, data), nil
}

func artifact(rep Report, data []byte) registry.Artifact {
	counts, _ := json.Marshal(rep.Result.Counts)
	sev := ""
	for i, s := range rep.Result.Policy.Severities {
		if i > 0 {
			sev += ","
		}
		sev += s
	}
	return registry.Artifact{
		ArtifactType: ArtifactType,
		Annotations: map[string]string{
			AnnotationVerdict: rep.Verdict, AnnotationCounts: string(counts), AnnotationSeverity: sev,
			AnnotationTrivy: rep.Trivy, AnnotationDBUpdated: rep.DB.UpdatedAt.UTC().Format(time.RFC3339),
			AnnotationDBSchema: strconv.Itoa(rep.DB.Version), AnnotationCreated: rep.CreatedAt.UTC().Format(time.RFC3339),
		},
		Blobs: []registry.Blob{{MediaType: ArtifactType, Data: data, Annotations: map[string]string{"org.opencontainers.image.title": "scan.json"}}},
	}
}

// ErrBadReport reports an attached scan report that cannot be read or does not hold together.
var ErrBadReport = errors.New("unreadable scan report")

// ParseReport reads a Report and checks that it holds together: version 1, a verdict of passed
// or failed that agrees with its findings, a creation time, and Trivy reports that Trivy's own
// types read.
func ParseReport(data []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if r.V != ReportVersion {
		return r, fmt.Errorf("%w: version %d, want %d", ErrBadReport, r.V, ReportVersion)
	}
	if r.Verdict != "passed" && r.Verdict != "failed" {
		return r, fmt.Errorf("%w: verdict %q", ErrBadReport, r.Verdict)
	}
	if (r.Verdict == "passed") != (len(r.Result.Gating) == 0) {
		return r, fmt.Errorf("%w: verdict %s with %d gating findings", ErrBadReport, r.Verdict, len(r.Result.Gating))
	}
	if r.CreatedAt.IsZero() {
		return r, fmt.Errorf("%w: no creation time", ErrBadReport)
	}
	if len(r.TrivyReports) == 0 {
		return r, fmt.Errorf("%w: no Trivy report", ErrBadReport)
	}
	for i, raw := range r.TrivyReports {
		var tr types.Report
		if err := json.Unmarshal(raw, &tr); err != nil {
			return r, fmt.Errorf("%w: Trivy report %d: %v", ErrBadReport, i+1, err)
		}
	}
	r.Result.Passed = r.Verdict == "passed"
	return r, nil
}

// Evidence is one scan report attached to a digest.
type Evidence struct {
	Referrer string    // the report artifact's manifest digest
	Verdict  string    // passed | failed
	Time     time.Time // when the scan ran
	Counts   map[string]int
	Policy   Policy
	Trivy    string
	Err      error // why the report could not be used (nil: it could)
}

// FindEvidence lists the scan reports attached to repo@digest, newest first. A report that
// cannot be read, or that names another digest, comes back with Err set (and no verdict).
func FindEvidence(ctx context.Context, c *registry.Client, repo, digest string) ([]Evidence, error) {
	ref, err := registry.ParseDigest(repo, digest)
	if err != nil {
		return nil, err
	}
	descs, err := c.Referrers(ctx, ref, ArtifactType)
	if err != nil {
		return nil, err
	}
	var out []Evidence
	for _, d := range descs {
		ev := Evidence{Referrer: d.Digest.String()}
		a, err := c.ReadArtifact(ctx, ref.Context().Digest(d.Digest.String()), ArtifactType)
		switch {
		case err != nil:
			ev.Err = err
		case len(a.Blobs) != 1 || a.Blobs[0].MediaType != ArtifactType:
			ev.Err = fmt.Errorf("%w: want one %s layer", ErrBadReport, ArtifactType)
		default:
			rep, err := ParseReport(a.Blobs[0].Data)
			switch {
			case err != nil:
				ev.Err = err
			case rep.Digest != digest:
				ev.Err = fmt.Errorf("%w: the report is for %s, attached to %s", ErrBadReport, rep.Digest, digest)
			case a.Annotations[AnnotationVerdict] != rep.Verdict:
				ev.Err = fmt.Errorf("%w: the manifest says %q, the report %q", ErrBadReport, a.Annotations[AnnotationVerdict], rep.Verdict)
			default:
				ev.Verdict, ev.Time, ev.Counts, ev.Policy, ev.Trivy = rep.Verdict, rep.CreatedAt, rep.Result.Counts, rep.Result.Policy, rep.Trivy
			}
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b Evidence) int { return b.Time.Compare(a.Time) })
	return out, nil
}
