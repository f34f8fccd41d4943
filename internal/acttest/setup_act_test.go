package acttest

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
)

var setupTime = regexp.MustCompile(`verified against release/SHA256SUMS and set up in ([0-9.]+)s`)

// The download path, as a job that pins a release runs it: the set-up finds the release in the
// action's own tree, downloads the asset for the runner from the release host, checks it against
// the committed hash, and puts it on PATH; the second use in the job only re-verifies. The job's
// Go is the same before and after.
func TestSetup_Release_GoodHash(t *testing.T) {
	res := Run(t, Options{Workflow: filepath.Join(RepoRoot(t), "internal/acttest/testdata/setup.yml")})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, ReleaseVersion, res.Outputs["version"])
	assert.Equal(t, ReleaseVersion, res.Outputs["second"])
	assert.Equal(t, "lean", res.Outputs["edition"])
	assert.Contains(t, res.Outputs["on-path"], "/release/"+ReleaseVersion+"/")
	assert.Equal(t, res.Outputs["go-before"], res.Outputs["go-after"], "the set-up changed the Go that later steps see")
	assert.Contains(t, res.Log, "fetch-verified: ")
	assert.Contains(t, res.Log, "flightline: already set up in this job", "the second use is a no-op")
	m := setupTime.FindStringSubmatch(res.Log)
	require.NotNil(t, m, "the set-up reports how long it took:\n%s", res.Log)
	t.Logf("set-up through the download path under act: %ss (download, SHA-256, digest of the tree)", m[1])
	for _, l := range strings.Split(res.Log, "\n") {
		if strings.Contains(l, "Set up flightline") || strings.Contains(l, "fetch-verified") || strings.Contains(l, "flightline: ") {
			t.Log(l)
		}
	}
}

// A release host that serves other bytes than the committed hash: the job stops at the set-up,
// with both hashes in the log, and no later step runs.
func TestSetup_Release_BadHashStopsTheJob(t *testing.T) {
	swapped := []byte("not the binary that was released\n")
	res := Run(t, Options{
		Workflow: filepath.Join(RepoRoot(t), "internal/acttest/testdata/setup.yml"),
		releaseHost: func(path string, _ []byte) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != path {
					http.NotFound(w, r)
					return
				}
				_, _ = w.Write(swapped)
			})
		},
	})
	require.Error(t, res.Err, "a bad hash must fail the job")
	assert.Contains(t, res.Log, "SHA-256 mismatch")
	assert.Regexp(t, `expected: [0-9a-f]{64}`, res.Log)
	assert.Contains(t, res.Log, "got:      "+sha256Hex(swapped))
	assert.Contains(t, res.Log, "do not retry blindly")
	assert.NotContains(t, res.Outputs, "version", "no step after the set-up ran")
}

// A release that lacks the runner's asset (404): the job stops and says what to do.
func TestSetup_Release_MissingAssetStopsTheJob(t *testing.T) {
	res := Run(t, Options{
		Workflow: filepath.Join(RepoRoot(t), "internal/acttest/testdata/setup.yml"),
		releaseHost: func(string, []byte) http.Handler {
			return http.NotFoundHandler()
		},
	})
	require.Error(t, res.Err, "a missing asset must fail the job")
	assert.Contains(t, res.Log, "HTTP 404")
	assert.Contains(t, res.Log, "FLIGHTLINE_BUILD_FROM_SOURCE")
	assert.NotContains(t, res.Outputs, "version", "no step after the set-up ran")
}

// A tree without a release builds from the action's source with the Go of release/go-version,
// in private caches, leaving the job's Go as it was. A cold compile: CI only.
func TestSetup_Source_BuildsWithThePinnedGoAndLeavesTheJobsGo(t *testing.T) {
	testenv.CIOnly(t, "a cold compile of the lean binary with a downloaded Go (minutes on 2 cores)")
	res := Run(t, Options{
		Workflow: filepath.Join(RepoRoot(t), "internal/acttest/testdata/setup.yml"),
		Setup:    SetupSource,
		Timeout:  20 * time.Minute,
	})
	require.NoError(t, res.Err, res.Log)
	assert.Equal(t, "dev", res.Outputs["version"])
	assert.Equal(t, "lean", res.Outputs["edition"])
	assert.Contains(t, res.Log, "building from the action's source: this tree holds no release")
	assert.Contains(t, res.Outputs["on-path"], "/source/")
	assert.Equal(t, res.Outputs["go-before"], res.Outputs["go-after"], "the set-up changed the Go that later steps see")
	assert.Contains(t, res.Log, "flightline: already set up in this job")
	assert.True(t, strings.Contains(res.Log, "flightline: built "), res.Log)
}
