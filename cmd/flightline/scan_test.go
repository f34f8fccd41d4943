package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/internal/trivytest"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/sarif"
	"github.com/labrats-work/flightline/pkg/scan"
)

var criticalPkgs = map[string]string{"openssl": "3.1.4-r0", "musl": "1.2.4-r5"} // CVE-2099-0001 CRITICAL only

// scanEnv is a Trivy, a fresh fixture DB and the environment the CLI gets.
func scanEnv(t *testing.T) (trivy, cache string, env map[string]string) {
	t.Helper()
	trivy, cache = trivytest.Binary(t), t.TempDir()
	trivytest.DB(t, cache, trivytest.Meta(time.Now()))
	return trivy, cache, map[string]string{"HOME": os.Getenv("HOME"), "PATH": os.Getenv("PATH")}
}

func sarifResults(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, sarif.Validate(data), "valid SARIF 2.1.0 as code scanning accepts it")
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(data, &log))
	var ids []string
	for _, r := range log.Runs[0].Results {
		ids = append(ids, r.RuleID)
	}
	return ids
}

// The acceptance: a critical finding fails at --severity CRITICAL and passes when the threshold
// excludes it; exit code, verdict, SARIF and summary agree; the report is a referrer of the
// scanned digest on both registries (referrers API, and the fallback tag on docker-registry).
func TestScanCmd_ThresholdExitCodeSARIFSummaryAgree(t *testing.T) {
	trivy, cache, env := scanEnv(t)
	for regName, reg := range map[string]*registrytest.Registry{
		"in-process":      registrytest.NewWith(t, ggcrregistry.WithReferrersSupport(true)),
		"docker-registry": registrytest.Distribution(t),
	} {
		t.Run(regName, func(t *testing.T) {
			ref := trivytest.Push(t, reg.Ref("acme/agent:1.0.0"), trivytest.Alpine(t, "linux/amd64", criticalPkgs))
			out := filepath.Join(t.TempDir(), "out.sarif")
			base := []string{"scan", "--image", ref, "--sarif", out, "--trivy-path", trivy, "--cache-dir", cache} // no .trivyignore.yaml in cmd/flightline: no ignores

			code, stdout, stderr := runCLI(t, env, append(base, "--severity", "CRITICAL")...)
			assert.Equal(t, exitScanFailed, code, stderr)
			outs, err := actions.ParseOutputs(stdout)
			require.NoError(t, err)
			assert.Equal(t, "failed", outs["verdict"])
			assert.JSONEq(t, `{"CRITICAL":1,"HIGH":0,"MEDIUM":0,"LOW":0,"UNKNOWN":0}`, outs["counts"])
			assert.Equal(t, []string{"CVE-2099-0001"}, sarifResults(t, out))
			assert.Contains(t, stderr, "❌ Scan failed")
			assert.Regexp(t, `\| CRITICAL \| \[?CVE-2099-0001[^|]*\| openssl \| 3\.1\.4-r0 \| 3\.1\.5-r0 \|`, stderr)
			assert.Contains(t, stderr, "flightline: scan failed: 1 finding(s) of severity [CRITICAL]")
			failedRef := outs["referrer"]
			require.NotEmpty(t, failedRef)

			code, stdout, stderr = runCLI(t, env, append(base, "--severity", "HIGH")...)
			assert.Equal(t, 0, code, stderr)
			outs, err = actions.ParseOutputs(stdout)
			require.NoError(t, err)
			assert.Equal(t, "passed", outs["verdict"])
			assert.Empty(t, sarifResults(t, out), "what code scanning shows is what gated: nothing")
			assert.Contains(t, stderr, "✅ Scan passed")
			assert.NotRegexp(t, `\| CRITICAL \| \[?CVE-2099-0001`, stderr, "the summary lists gating findings only")

			d, err := name.NewDigest(ref)
			require.NoError(t, err)
			idx, err := remote.Referrers(d)
			require.NoError(t, err)
			im, err := idx.IndexManifest()
			require.NoError(t, err)
			var got []string
			for _, m := range im.Manifests {
				assert.Equal(t, scan.ArtifactType, m.ArtifactType)
				got = append(got, m.Digest.String()+"="+m.Annotations[scan.AnnotationVerdict])
			}
			assert.ElementsMatch(t, []string{failedRef + "=failed", outs["referrer"] + "=passed"}, got)
		})
	}
}

// attach pushes rep (or, with raw, those bytes) as a scan referrer of repo@digest.
func attach(t *testing.T, repo, digest string, rep scan.Report, raw []byte) {
	t.Helper()
	c := registry.New()
	res, err := c.Resolve(context.Background(), repo+"@"+digest)
	require.NoError(t, err)
	a, err := scan.NewArtifact(rep)
	require.NoError(t, err)
	if raw != nil {
		a.Blobs[0].Data = raw
	}
	_, err = c.Attach(context.Background(), res, a)
	require.NoError(t, err)
}

func scanReport(digest, verdict string, at time.Time) scan.Report {
	r := scan.Report{V: 1, Image: "x", Digest: digest, Verdict: verdict, CreatedAt: at, Trivy: scan.TrivyVersion,
		Result:       scan.Verdict{Policy: scan.Policy{Severities: []string{"HIGH", "CRITICAL"}}, Counts: map[string]int{"CRITICAL": 0, "HIGH": 0}},
		TrivyReports: []json.RawMessage{json.RawMessage(`{"SchemaVersion":2,"ArtifactName":"x","ArtifactType":"container_image"}`)}}
	if verdict == "failed" {
		r.Result.Counts["CRITICAL"] = 1
		r.Result.Gating = []scan.Finding{{ID: "CVE-2099-0001", Severity: "CRITICAL", Package: "openssl", Installed: "3.1.4-r0"}}
	}
	return r
}

// promote refuses an unscanned, failed, stale digest, one whose report is for another digest or
// unreadable, and accepts a freshly passed one; the marker's scan field and the PR body come
// from the referrer.
func TestPromoteCmd_ScanEvidence(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, e *forgetest.Env)
		wantErr string
	}{
		{"none", func(*testing.T, *forgetest.Env) {}, "has no scan report attached; scan it first (flightline scan --image"},
		{"failed", func(t *testing.T, e *forgetest.Env) {
			attach(t, e.Image, e.Digests["1.5.0"], scanReport(e.Digests["1.5.0"], "failed", time.Now().Add(-time.Minute)), nil)
		}, "is failed: CRITICAL 1, HIGH 0"},
		{"stale", func(t *testing.T, e *forgetest.Env) {
			attach(t, e.Image, e.Digests["1.5.0"], scanReport(e.Digests["1.5.0"], "passed", time.Now().Add(-8*24*time.Hour)), nil)
		}, "over max-scan-age 168h0m0s"},
		{"another digest's", func(t *testing.T, e *forgetest.Env) {
			attach(t, e.Image, e.Digests["1.4.0"], scanReport(e.Digests["1.4.0"], "passed", time.Now()), nil)
			attach(t, e.Image, e.Digests["1.5.0"], scanReport(e.Digests["1.4.0"], "passed", time.Now()), nil)
		}, "the report is for " + "sha256:"},
		{"unparsable", func(t *testing.T, e *forgetest.Env) {
			attach(t, e.Image, e.Digests["1.5.0"], scanReport(e.Digests["1.5.0"], "passed", time.Now()), []byte("{not json"))
		}, "no readable scan report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, dir := localPlatform(t)
			tc.setup(t, e)
			code, _, stderr := runCLI(t, nil, "promote", "--platform-dir", dir, "--file", forgetest.PlatformFile, "--policy", forgetest.Policy,
				"--version", "1.5.0", "--image", e.Image+"@"+e.Digests["1.5.0"])
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.wantErr)
			assert.Contains(t, stderr, "require-scan")
			assert.Equal(t, e.Original, e.File("main"))
			assert.Empty(t, e.PRBranches(), "a refused promotion leaves nothing behind")
		})
	}

	t.Run("freshly passed, scanned by flightline scan", func(t *testing.T) {
		trivy, cache, env := scanEnv(t)
		e, dir := localPlatform(t)
		ref := e.Image + "@" + e.Digests["1.5.0"]
		code, stdout, stderr := runCLI(t, env, "scan", "--image", ref, "--trivy-path", trivy, "--cache-dir", cache)
		require.Equal(t, 0, code, stderr)
		outs, err := actions.ParseOutputs(stdout)
		require.NoError(t, err)
		code, _, stderr = runCLI(t, nil, "promote", "--platform-dir", dir, "--file", forgetest.PlatformFile, "--policy", forgetest.Policy,
			"--version", "1.5.0", "--image", ref)
		require.Equal(t, 0, code, stderr)
		prs := e.PRBranches()
		require.Len(t, prs, 1)
		open, err := e.P.Forge().Find(context.Background(), forge.Query{Base: "main", State: forge.StateOpen})
		require.NoError(t, err)
		require.Len(t, open, 1)
		m, err := marker.ParsePromotion(open[0].Body)
		require.NoError(t, err)
		assert.Equal(t, "passed", m.Scan, "set from the referrer")
		assert.Contains(t, open[0].Body, "| scan | passed (CRITICAL 0, HIGH 0, MEDIUM 0, LOW 0, UNKNOWN 0; report `"+outs["referrer"]+"`")
	})
}

func TestScanCmd_TrivyRelease_AndHashMismatch(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "scan", "trivy-release", "--os", "linux", "--arch", "amd64")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a", outs["sha256"])
	assert.Equal(t, "trivy_0.74.0_Linux-64bit.tar.gz", outs["archive"])
	code, _, stderr = runCLI(t, nil, "scan", "trivy-release", "--os", "windows", "--arch", "amd64")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no committed Trivy release for this platform")

	// The action's install step: a download whose bytes do not hash to the committed value
	// stops with both hashes printed and leaves nothing behind (scripts/fetch-verified.sh).
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("not the trivy release")) }))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "trivy.tar.gz")
	cmd := exec.Command("bash", filepath.Join(acttest.RepoRoot(t), "scripts/fetch-verified.sh"), srv.URL+"/"+outs["archive"], outs["sha256"], dest)
	cmd.Env = append(os.Environ(), "FETCH_VERIFIED_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), outs["sha256"])
	assert.Regexp(t, `[0-9a-f]{64}[\s\S]*[0-9a-f]{64}`, string(out), "expected and actual hash")
	_, err = os.Stat(dest)
	assert.True(t, os.IsNotExist(err), "nothing written")
}

// actions/scan under act: inputs through env:, outputs to the workflow, the failed verdict fails
// the step, the SARIF is written and the report attached.
func TestScanAction_UnderAct(t *testing.T) {
	acttest.Act(t)
	trivy, cache, _ := scanEnv(t)
	reg := registrytest.NewWith(t, ggcrregistry.WithReferrersSupport(true))
	ref := trivytest.Push(t, reg.Ref("acme/agent:1.0.0"), trivytest.Alpine(t, "linux/amd64", criticalPkgs))
	outDir := t.TempDir()
	res := acttest.Run(t, acttest.Options{
		Workflow: filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/scan-action.yml"),
		Env:      map[string]string{"IMAGE": ref, "TRIVY": trivy, "CACHE_DIR": cache, "OUT_DIR": outDir},
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "failure", res.Outputs["outcome"], "a failed verdict fails the step")
	assert.Equal(t, "failed", res.Outputs["verdict"])
	assert.JSONEq(t, `{"CRITICAL":1,"HIGH":0,"MEDIUM":0,"LOW":0,"UNKNOWN":0}`, res.Outputs["counts"])
	assert.Equal(t, filepath.Join(outDir, "scan.sarif"), res.Outputs["sarif"])
	assert.Equal(t, []string{"CVE-2099-0001"}, sarifResults(t, res.Outputs["sarif"]))
	assert.NotEmpty(t, res.Outputs["referrer"])
	assert.Equal(t, strings.SplitN(ref, "@", 2)[1], res.Outputs["digest"])
	assert.Contains(t, res.Summary, "Scan failed")
}
