package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/internal/trivytest"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/sarif"
	"github.com/labrats-work/flightline/pkg/scan"
)

// The fixture advisories (internal/trivytest/testdata/fixtures.yaml) against these packages:
// full has CVE-2099-0001 CRITICAL (openssl), -0006 CRITICAL and -0002 HIGH (busybox), -0005
// HIGH without a fix (curl), -0003 MEDIUM (zlib), -0004 LOW (musl); critical has -0001 only;
// clean has nothing.
var (
	full     = map[string]string{"openssl": "3.1.4-r0", "busybox": "1.36.1-r15", "zlib": "1.3-r0", "musl": "1.2.4-r2", "curl": "8.5.0-r0"}
	critical = map[string]string{"openssl": "3.1.4-r0", "busybox": "1.36.1-r30", "zlib": "1.3.1-r1", "musl": "1.2.4-r5"}
	clean    = map[string]string{"openssl": "3.1.5-r0", "musl": "1.2.4-r5"}
)

type env struct {
	trivy, cache string
}

// newEnv finds Trivy and builds the fixture DB in a fresh cache (no download).
func newEnv(t testing.TB) env {
	t.Helper()
	e := env{trivy: trivytest.Binary(t), cache: t.TempDir()}
	trivytest.DB(t, e.cache, trivytest.Meta(time.Now()))
	return e
}

func (e env) options(t testing.TB, image string) scan.Options {
	return scan.Options{Image: image, Trivy: scan.Trivy{Path: e.trivy, CacheDir: e.cache}, Registry: registry.New(),
		Getenv: os.Getenv, OutDir: t.TempDir(), IgnoreFile: filepath.Join(t.TempDir(), "absent.trivyignore.yaml"),
		Logf: func(f string, a ...any) { t.Logf(f, a...) }}
}

func referrersRegistry(t testing.TB) *registrytest.Registry {
	return registrytest.NewWith(t, ggcrregistry.WithReferrersSupport(true))
}

func ids(fs []scan.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestRun_OneVerdict_ExitSARIFSummaryAgree(t *testing.T) {
	e := newEnv(t)
	reg := referrersRegistry(t)
	ref := trivytest.Push(t, reg.Ref("acme/agent:1.0.0"), trivytest.Alpine(t, "linux/amd64", full))
	o := e.options(t, ref)
	o.Attach = true
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)

	assert.False(t, res.Passed)
	assert.Equal(t, "failed", res.Verdict.String())
	assert.Equal(t, []string{"CVE-2099-0001", "CVE-2099-0006", "CVE-2099-0002", "CVE-2099-0005"}, ids(res.Gating))
	assert.Equal(t, map[string]int{"CRITICAL": 2, "HIGH": 2, "MEDIUM": 1, "LOW": 1, "UNKNOWN": 0}, res.Counts)
	assert.Equal(t, "v0.74.0", res.Trivy)
	f := res.Gating[0]
	assert.Equal(t, scan.Finding{ID: "CVE-2099-0001", Severity: "CRITICAL", Package: "openssl", Installed: "3.1.4-r0", Fixed: "3.1.5-r0",
		Status: "fixed", Title: "openssl: fixture critical", URL: f.URL, Target: f.Target, File: "lib/apk/db/installed", Fingerprint: f.Fingerprint}, f)

	// SARIF: exactly the gating findings, valid against the SARIF 2.1.0 schema.
	var buf bytes.Buffer
	require.NoError(t, res.WriteSARIF(&buf))
	require.NoError(t, sarif.Validate(buf.Bytes()))
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
	var rules []string
	for _, r := range log.Runs[0].Results {
		rules = append(rules, r.RuleID)
		assert.Equal(t, "error", r.Level)
	}
	assert.Equal(t, ids(res.Gating), rules)

	// The summary: the same verdict, counts and findings; what did not gate is not in the table.
	sum := res.Summary().String()
	assert.Contains(t, sum, "❌ Scan failed")
	assert.Contains(t, sum, "| **2** | **2** | 1 | 1 | 0 | 0 |")
	for _, id := range ids(res.Gating) {
		assert.Contains(t, sum, id)
	}
	assert.NotContains(t, sum, "CVE-2099-0003", "MEDIUM does not gate at HIGH,CRITICAL")
	assert.Regexp(t, `\| CRITICAL \| \[?CVE-2099-0001[^|]*\| openssl \| 3\.1\.4-r0 \| 3\.1\.5-r0 \|`, sum)

	// The report: Flightline's verdict with Trivy's own report inside, attached to the digest.
	rep, err := os.ReadFile(res.ReportPath)
	require.NoError(t, err)
	parsed, err := scan.ParseReport(rep)
	require.NoError(t, err)
	assert.Equal(t, "failed", parsed.Verdict)
	require.NotEmpty(t, res.Referrer)
	d, err := name.NewDigest(ref)
	require.NoError(t, err)
	idx, err := remote.Referrers(d)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	assert.Equal(t, scan.ArtifactType, im.Manifests[0].ArtifactType)
	assert.Equal(t, res.Referrer, im.Manifests[0].Digest.String())
	assert.Equal(t, "failed", im.Manifests[0].Annotations[scan.AnnotationVerdict])
	assert.Equal(t, "v0.74.0", im.Manifests[0].Annotations[scan.AnnotationTrivy])
	assert.NotEmpty(t, im.Manifests[0].Annotations[scan.AnnotationDBUpdated])
	assert.NotEmpty(t, im.Manifests[0].Annotations[scan.AnnotationCreated])

	ev, err := scan.FindEvidence(context.Background(), registry.New(), d.Context().String(), d.DigestStr())
	require.NoError(t, err)
	require.Len(t, ev, 1)
	require.NoError(t, ev[0].Err)
	assert.Equal(t, "failed", ev[0].Verdict)
	assert.Equal(t, 2, ev[0].Counts["CRITICAL"])
}

func TestRun_SeverityThresholdAndIgnoreUnfixed(t *testing.T) {
	e := newEnv(t)
	reg := registrytest.New(t)
	ref := trivytest.Push(t, reg.Ref("acme/agent:1"), trivytest.Alpine(t, "linux/amd64", full))
	tests := []struct {
		name     string
		sev      []string
		unfixed  bool
		want     []string
		wantPass bool
	}{
		{"critical only", []string{"CRITICAL"}, false, []string{"CVE-2099-0001", "CVE-2099-0006"}, false},
		{"high, unfixed left out", []string{"high"}, true, []string{"CVE-2099-0002"}, false},
		{"low and medium", []string{"LOW", "MEDIUM"}, false, []string{"CVE-2099-0003", "CVE-2099-0004"}, false},
		{"unknown only", []string{"UNKNOWN"}, false, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := e.options(t, ref)
			o.Policy = scan.Policy{Severities: tc.sev, IgnoreUnfixed: tc.unfixed}
			res, err := scan.Run(context.Background(), o)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(res.Gating))
			assert.Equal(t, tc.wantPass, res.Passed)
			if tc.unfixed {
				assert.Equal(t, 1, res.Unfixed)
				assert.Equal(t, 0, res.Counts["HIGH"]-1, "CVE-2099-0005 has no fix: not counted")
			}
		})
	}
}

func TestRun_IgnoreFile_ExpiredStaleStatementless(t *testing.T) {
	e := newEnv(t)
	reg := registrytest.New(t)
	ref := trivytest.Push(t, reg.Ref("acme/agent:1"), trivytest.Alpine(t, "linux/amd64", full))
	o := e.options(t, ref)
	o.IgnoreFile, o.IgnoreFileRequired = "testdata/ignore-mixed.yaml", true
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)

	// CVE-2099-0002 is ignored (statement and expiry shown); -0006's entry expired and -0001's has
	// no statement: both gate again; -9999 matched nothing.
	assert.Equal(t, []string{"CVE-2099-0001", "CVE-2099-0006", "CVE-2099-0005"}, ids(res.Gating))
	require.Len(t, res.Ignored, 1)
	ig := res.Ignored[0]
	assert.Equal(t, "CVE-2099-0002", ig.ID)
	assert.Equal(t, "busybox is not reachable from the agent's entrypoint", ig.Statement)
	assert.Equal(t, "2999-01-01", ig.ExpiresAt.Format("2006-01-02"))
	assert.Equal(t, "testdata/ignore-mixed.yaml:3", ig.Where)
	require.Len(t, res.Expired, 1)
	assert.Equal(t, "CVE-2099-0006", res.Expired[0].ID)
	require.Len(t, res.Stale, 1)
	assert.Equal(t, "testdata/ignore-mixed.yaml:9", res.Stale[0].Where())
	require.Len(t, res.Rejected, 2)
	assert.Contains(t, res.Rejected[0].Problem, "no statement")
	assert.Contains(t, res.Rejected[1].Problem, "no expired_at")

	sum := res.Summary().String()
	assert.Regexp(t, `\| HIGH \| \[?CVE-2099-0002[^|]*\| busybox \| 1\.36\.1-r15 \| busybox is not reachable from the agent's entrypoint \| 2999-01-01 \| testdata/ignore-mixed\.yaml:3 \|`, sum)
	assert.Contains(t, sum, "`testdata/ignore-mixed.yaml:6` CVE-2099-0006: expired on 2020-01-01")
	assert.Contains(t, sum, "`testdata/ignore-mixed.yaml:9` CVE-2099-9999: stale")
	assert.Contains(t, sum, "`testdata/ignore-mixed.yaml:14` CVE-2099-0001: not honoured: no statement")
}

func TestRun_TwoPlatformIndex_WorstVerdict(t *testing.T) {
	e := newEnv(t)
	reg := referrersRegistry(t)
	ref := trivytest.PushIndex(t, reg.Ref("acme/agent:2.0.0"), map[string]v1.Image{
		"linux/amd64": trivytest.Alpine(t, "linux/amd64", critical),
		"linux/arm64": trivytest.Alpine(t, "linux/arm64", clean),
	})
	tagRef := reg.Ref("acme/agent:2.0.0")
	o := e.options(t, tagRef) // a tag: resolved to the index digest first
	o.Attach = true
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)
	d, _ := name.NewDigest(ref)
	assert.Equal(t, d.DigestStr(), res.Digest, "the tag is resolved; the index digest is what is recorded")
	assert.False(t, res.Passed)
	require.Len(t, res.Platforms, 2)
	assert.Equal(t, scan.PlatformResult{Platform: "linux/amd64", Digest: res.Platforms[0].Digest, Verdict: "failed", Gating: 1}, res.Platforms[0])
	assert.Equal(t, scan.PlatformResult{Platform: "linux/arm64", Digest: res.Platforms[1].Digest, Verdict: "passed", Gating: 0}, res.Platforms[1])
	require.Len(t, res.Gating, 1)
	assert.Equal(t, []string{"linux/amd64"}, res.Gating[0].Platforms)
	assert.Contains(t, res.Summary().String(), "| linux/arm64 | `"+res.Platforms[1].Digest+"` | passed | 0 |")

	// The report is a referrer of the index digest (what promote checks), not of a platform's.
	c := registry.New()
	ev, err := scan.FindEvidence(context.Background(), c, d.Context().String(), d.DigestStr())
	require.NoError(t, err)
	require.Len(t, ev, 1)
	assert.Equal(t, "failed", ev[0].Verdict)
	ev, err = scan.FindEvidence(context.Background(), c, d.Context().String(), res.Platforms[0].Digest)
	require.NoError(t, err)
	assert.Empty(t, ev)
}

func TestRun_DistributionRegistry_FallbackTag(t *testing.T) {
	e := newEnv(t)
	reg := registrytest.Distribution(t)
	ref := trivytest.Push(t, reg.Ref("acme/agent:1.0.0"), trivytest.Alpine(t, "linux/amd64", clean))
	o := e.options(t, ref)
	o.Attach = true
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)
	assert.True(t, res.Passed)
	d, _ := name.NewDigest(ref)
	tags, err := remote.List(d.Context())
	require.NoError(t, err)
	assert.Contains(t, tags, strings.Replace(d.DigestStr(), ":", "-", 1), "no referrers API: the sha256-<hex> fallback tag lists the report")
	ev, err := scan.FindEvidence(context.Background(), registry.New(), d.Context().String(), d.DigestStr())
	require.NoError(t, err)
	require.Len(t, ev, 1)
	assert.Equal(t, "passed", ev[0].Verdict)
	assert.Equal(t, res.Referrer, ev[0].Referrer)
}

func TestRun_FS_Lockfiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/example/vulnerable v1.0.0\n\tgithub.com/example/medium v0.8.0\n)\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("requests-fixture==1.0.0\n"), 0o644))
	o := e.options(t, "")
	o.Image, o.FS, o.Registry = "", dir, nil
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)
	assert.False(t, res.Passed)
	assert.Equal(t, []string{"CVE-2099-1001", "CVE-2099-2001"}, ids(res.Gating))
	assert.Equal(t, "go.mod", res.Gating[0].File)
	assert.Equal(t, "requirements.txt", res.Gating[1].File)
	assert.Equal(t, 1, res.Counts["MEDIUM"])
	assert.Empty(t, res.Referrer, "a directory has no digest to attach to")
}

func TestRun_DBDownload_RetriesA429_ThenNoDownloadWhenFresh(t *testing.T) {
	trivy := trivytest.Binary(t)
	reg := registrytest.New(t)
	dbRef := reg.Ref("aquasecurity/trivy-db:2")
	trivytest.PushDB(t, dbRef, trivytest.Meta(time.Now()))
	img := trivytest.Push(t, reg.Ref("acme/agent:1"), trivytest.Alpine(t, "linux/amd64", critical))
	reg.Reset()
	// Trivy itself tries a manifest 3 times: three 429s make its first run fail as a rate-limited
	// registry does, and Flightline's retry gets the DB.
	reg.Fail(http.MethodGet, `^/v2/aquasecurity/trivy-db/manifests/`, 0, 3, http.StatusTooManyRequests)

	cache := t.TempDir()
	e := env{trivy: trivy, cache: cache}
	o := e.options(t, img)
	o.DB = scan.DBOptions{Repositories: []string{dbRef}, Backoff: 10 * time.Millisecond}
	res, err := scan.Run(context.Background(), o)
	require.NoError(t, err)
	assert.True(t, res.DB.Downloaded)
	assert.Equal(t, 2, res.DB.Attempts, "Trivy's run failed on 429s: Flightline retried")
	assert.Equal(t, 3, reg.Stats().Faults)
	assert.Equal(t, []string{"CVE-2099-0001"}, ids(res.Gating), "the downloaded DB is the fixture DB")

	// A fresh cached DB: the registry sees no DB request at all.
	reg.Reset()
	res, err = scan.Run(context.Background(), o)
	require.NoError(t, err)
	assert.False(t, res.DB.Downloaded)
	assert.Zero(t, dbRequests(reg), "a fresh DB is not downloaded again")
}

// dbRequests counts what the registry served under /v2/aquasecurity/trivy-db/.
func dbRequests(reg *registrytest.Registry) int {
	return reg.Stats().PathRequests("/v2/aquasecurity/trivy-db/")
}

func TestRun_BadInput(t *testing.T) {
	e := newEnv(t)
	reg := registrytest.New(t)
	ref := trivytest.Push(t, reg.Ref("acme/agent:1"), trivytest.Alpine(t, "linux/amd64", clean))
	badIgnore := filepath.Join(t.TempDir(), ".trivyignore.yaml")
	require.NoError(t, os.WriteFile(badIgnore, []byte("vulnerabilities:\n  - id: CVE-1\n    statement: s\n    expired_at: soon\n"), 0o644))
	tests := []struct {
		name    string
		mod     func(o *scan.Options)
		wantErr error
		wantMsg string
	}{
		{"tag does not exist", func(o *scan.Options) { o.Image = reg.Ref("acme/agent:nope") }, registry.ErrNotFound, "acme/agent"},
		{"image not reachable", func(o *scan.Options) { o.Image = registrytest.Unreachable(t) + "/acme/agent:1" }, registry.ErrUnreachable, "check the address"},
		{"trivy missing", func(o *scan.Options) { o.Trivy.Path = filepath.Join(t.TempDir(), "trivy") }, scan.ErrTrivyMissing, "set trivy-path"},
		{"DB unavailable", func(o *scan.Options) {
			o.Trivy.CacheDir = t.TempDir()
			o.DB = scan.DBOptions{Repositories: []string{registrytest.Unreachable(t) + "/trivy-db:2"}, Attempts: 2, Backoff: time.Millisecond}
		}, scan.ErrDBUnavailable, "failed 2 times"},
		{"offline without a DB", func(o *scan.Options) { o.Trivy.CacheDir = t.TempDir(); o.DB.Offline = true }, scan.ErrDBUnavailable, "offline"},
		{"malformed ignore file", func(o *scan.Options) { o.IgnoreFile = badIgnore }, scan.ErrIgnoreFile, badIgnore + ":4: expired_at: \"soon\" is not a date"},
		{"bad severity", func(o *scan.Options) { o.Policy.Severities = []string{"SEVERE"} }, scan.ErrInvalidInput, "UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"},
		{"neither image nor fs", func(o *scan.Options) { o.Image = "" }, scan.ErrInvalidInput, "give image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := e.options(t, ref)
			tc.mod(&o)
			res, err := scan.Run(context.Background(), o)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.wantErr), "%v", err)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.False(t, res.Passed, "an error is never a pass")
		})
	}
}
