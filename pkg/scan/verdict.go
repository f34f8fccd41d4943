package scan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy/pkg/types"
)

// Severities in Trivy's order, lowest first.
var Severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// DefaultSeverities gate by default.
var DefaultSeverities = []string{"HIGH", "CRITICAL"}

// ParseSeverities checks a severity list (case-insensitive) and returns it upper-cased in
// Trivy's order; empty means DefaultSeverities.
func ParseSeverities(list []string) ([]string, error) {
	if len(list) == 0 {
		return slices.Clone(DefaultSeverities), nil
	}
	set := map[string]bool{}
	for _, s := range list {
		u := strings.ToUpper(strings.TrimSpace(s))
		if !slices.Contains(Severities, u) {
			return nil, fmt.Errorf("severity %q: want a list of %s", s, strings.Join(Severities, ", "))
		}
		set[u] = true
	}
	var out []string
	for _, s := range Severities {
		if set[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Policy decides which findings gate.
type Policy struct {
	Severities    []string `json:"severities"`    // the severities that fail the scan
	IgnoreUnfixed bool     `json:"ignoreUnfixed"` // findings without a fixed version do not count
}

// Finding is one vulnerability of one package, merged across platforms.
type Finding struct {
	ID          string   `json:"id"`
	Severity    string   `json:"severity"`
	Package     string   `json:"package"`
	Installed   string   `json:"installed"`
	Fixed       string   `json:"fixed,omitempty"`
	Status      string   `json:"status,omitempty"`
	Title       string   `json:"title,omitempty"`
	URL         string   `json:"url,omitempty"`
	Target      string   `json:"target"`
	File        string   `json:"file"` // a relative path for SARIF and annotations
	Platforms   []string `json:"platforms,omitempty"`
	Fingerprint string   `json:"fingerprint"`
}

// Ignored is a finding that an ignore entry or a VEX statement set aside.
type Ignored struct {
	Finding
	Status    string    `json:"ignoreStatus"` // ignored (ignore file) or not_affected (VEX)
	Statement string    `json:"statement,omitempty"`
	Source    string    `json:"source,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Where     string    `json:"where,omitempty"` // file:line of the ignore entry
}

// Verdict is the one decision a scan makes; the exit code, the outputs, the SARIF, the
// annotations and the step summary are all written from it.
type Verdict struct {
	Passed   bool           `json:"-"`
	Policy   Policy         `json:"policy"`
	Counts   map[string]int `json:"counts"` // findings by severity after ignore-unfixed and ignores, gating or not
	Gating   []Finding      `json:"findings"`
	Ignored  []Ignored      `json:"ignored,omitempty"`
	Unfixed  int            `json:"unfixed,omitempty"` // findings left out by ignore-unfixed
	Expired  []IgnoreEntry  `json:"expired,omitempty"` // ignore entries past expired_at: no longer ignoring
	Stale    []IgnoreEntry  `json:"stale,omitempty"`   // honoured entries that matched nothing
	Rejected []IgnoreEntry  `json:"rejected,omitempty"`
}

// String is "passed" or "failed".
func (v Verdict) String() string {
	if v.Passed {
		return "passed"
	}
	return "failed"
}

// GatingCounts counts the gating findings by severity.
func (v Verdict) GatingCounts() map[string]int {
	out := map[string]int{}
	for _, s := range v.Policy.Severities {
		out[s] = v.Counts[s]
	}
	return out
}

// target is one Trivy report with what was scanned.
type target struct {
	Platform string // "" for a single image or a directory
	Report   types.Report
}

// decide applies the policy and the ignore file to the reports of every platform. Trivy has
// already matched the honoured ignore entries (and VEX statements): their findings come back as
// modified findings, which are kept with the statement and expiry.
func decide(targets []target, pol Policy, ign IgnoreFile) Verdict {
	v := Verdict{Policy: pol, Counts: map[string]int{}}
	for _, s := range Severities {
		v.Counts[s] = 0
	}
	gating := map[string]*Finding{}
	ignored := map[string]*Ignored{}
	matched := map[int]bool{}
	active := ign.Active()
	for _, t := range targets {
		for _, r := range t.Report.Results {
			for _, dv := range r.Vulnerabilities {
				f := finding(r, dv, t)
				if pol.IgnoreUnfixed && dv.Status != dbtypes.StatusFixed {
					v.Unfixed++
					continue
				}
				key := f.ID + "|" + f.Package + "|" + f.Installed + "|" + f.File
				if g, ok := gating[key]; ok {
					g.Platforms = appendPlatform(g.Platforms, t.Platform)
					continue
				}
				v.Counts[f.Severity]++
				if slices.Contains(pol.Severities, f.Severity) {
					gating[key] = &f
				}
			}
			for _, mf := range r.ModifiedFindings {
				dv, ok := mf.Finding.(types.DetectedVulnerability)
				if !ok {
					continue
				}
				f := finding(r, dv, t)
				key := f.ID + "|" + f.Package + "|" + f.Installed + "|" + f.File
				if g, ok := ignored[key]; ok {
					g.Platforms = appendPlatform(g.Platforms, t.Platform)
					continue
				}
				ig := Ignored{Finding: f, Status: string(mf.Status), Statement: mf.Statement, Source: mf.Source}
				for i, e := range active {
					if e.ID == dv.VulnerabilityID && e.Statement == mf.Statement {
						matched[i] = true
						ig.ExpiresAt, ig.Where, ig.Source = e.ExpiredAt, e.Where(), e.File
						break
					}
				}
				ignored[key] = &ig
			}
		}
	}
	for i, e := range active {
		if !matched[i] {
			v.Stale = append(v.Stale, e)
		}
	}
	for _, e := range ign.Entries {
		switch {
		case e.Problem == "":
		case strings.HasPrefix(e.Problem, "expired"):
			v.Expired = append(v.Expired, e)
		default:
			v.Rejected = append(v.Rejected, e)
		}
	}
	for _, g := range gating {
		v.Gating = append(v.Gating, *g)
	}
	for _, g := range ignored {
		v.Ignored = append(v.Ignored, *g)
	}
	slices.SortFunc(v.Gating, compareFindings)
	slices.SortFunc(v.Ignored, func(a, b Ignored) int { return compareFindings(a.Finding, b.Finding) })
	v.Passed = len(v.Gating) == 0
	return v
}

func appendPlatform(ps []string, p string) []string {
	if p == "" || slices.Contains(ps, p) {
		return ps
	}
	return append(ps, p)
}

// compareFindings orders by severity (highest first), then ID, package, file.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(slices.Index(Severities, b.Severity), slices.Index(Severities, a.Severity)),
		cmp.Compare(a.ID, b.ID), cmp.Compare(a.Package, b.Package), cmp.Compare(a.File, b.File))
}

func finding(r types.Result, dv types.DetectedVulnerability, t target) Finding {
	// The report's Severity is the one Trivy chose and filters by (its severity sources applied);
	// VendorSeverity only lists each source's own.
	sev := strings.ToUpper(dv.Severity) //nolint:staticcheck // SA1019: deprecated in the DB schema, but what Trivy reports and gates on
	if !slices.Contains(Severities, sev) {
		sev = "UNKNOWN"
	}
	f := Finding{ID: dv.VulnerabilityID, Severity: sev, Package: dv.PkgName, Installed: dv.InstalledVersion,
		Fixed: dv.FixedVersion, Status: dv.Status.String(), Title: dv.Title, URL: dv.PrimaryURL,
		Target: r.Target, File: fileOf(r, dv, t.Report)}
	f.Platforms = appendPlatform(nil, t.Platform)
	h := sha256.Sum256([]byte(f.ID + "\x00" + f.Package + "\x00" + f.Installed + "\x00" + f.File))
	f.Fingerprint = hex.EncodeToString(h[:16])
	return f
}

// osPackageDB is where each OS family records its installed packages: the file an OS package
// finding points at.
var osPackageDB = map[string]string{
	"alpine": "lib/apk/db/installed", "wolfi": "lib/apk/db/installed", "chainguard": "lib/apk/db/installed",
	"debian": "var/lib/dpkg/status", "ubuntu": "var/lib/dpkg/status",
	"redhat": "var/lib/rpm", "centos": "var/lib/rpm", "rocky": "var/lib/rpm", "alma": "var/lib/rpm",
	"fedora": "var/lib/rpm", "amazon": "var/lib/rpm", "oracle": "var/lib/rpm", "photon": "var/lib/rpm",
	"opensuse.leap": "var/lib/rpm", "sles": "var/lib/rpm", "azurelinux": "var/lib/rpm", "cbl-mariner": "var/lib/rpm",
}

// fileOf is a relative path for a finding: the lockfile or binary Trivy read it from, or the
// OS package database; GitHub code scanning needs a relative URI.
func fileOf(r types.Result, dv types.DetectedVulnerability, rep types.Report) string {
	p := dv.PkgPath
	if p == "" && r.Class != types.ClassOSPkg {
		p = r.Target
	}
	if p == "" && rep.Metadata.OS != nil {
		p = osPackageDB[string(rep.Metadata.OS.Family)]
	}
	if p == "" {
		p = "image"
	}
	p = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(p, "\\", "/")), "/")
	if p == "" || p == "." {
		return "image"
	}
	return p
}
