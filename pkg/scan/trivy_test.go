package scan

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleaseFor(t *testing.T) {
	tests := []struct{ os, arch, archive string }{
		{"linux", "amd64", "trivy_0.74.0_Linux-64bit.tar.gz"},
		{"Linux", "X64", "trivy_0.74.0_Linux-64bit.tar.gz"}, // RUNNER_OS / RUNNER_ARCH
		{"linux", "arm64", "trivy_0.74.0_Linux-ARM64.tar.gz"},
		{"darwin", "amd64", "trivy_0.74.0_macOS-64bit.tar.gz"},
		{"macOS", "ARM64", "trivy_0.74.0_macOS-ARM64.tar.gz"},
	}
	for _, tc := range tests {
		r, err := ReleaseFor(tc.os, tc.arch)
		require.NoError(t, err, tc)
		assert.Equal(t, tc.archive, r.Archive)
		assert.Equal(t, "https://github.com/aquasecurity/trivy/releases/download/v0.74.0/"+tc.archive, r.URL)
		assert.Regexp(t, `^[0-9a-f]{64}$`, r.SHA256)
	}
	_, err := ReleaseFor("windows", "amd64")
	assert.True(t, errors.Is(err, ErrNoRelease), err)
	_, err = ReleaseFor("linux", "s390x")
	assert.ErrorContains(t, err, "give trivy-path")
}

// Every committed archive belongs to TrivyVersion and has a SHA-256: a version bump must
// replace the whole table.
func TestReleaseTable_MatchesVersion(t *testing.T) {
	require.Len(t, releaseSHA256, 4)
	for archive, sum := range releaseSHA256 {
		assert.True(t, strings.HasPrefix(archive, "trivy_"+strings.TrimPrefix(TrivyVersion, "v")+"_"), archive)
		assert.Regexp(t, `^[0-9a-f]{64}$`, sum, archive)
	}
}

func TestReleaseFor_RefusesEmptyHash(t *testing.T) {
	old := releaseSHA256["trivy_0.74.0_Linux-ARM64.tar.gz"]
	releaseSHA256["trivy_0.74.0_Linux-ARM64.tar.gz"] = ""
	defer func() { releaseSHA256["trivy_0.74.0_Linux-ARM64.tar.gz"] = old }()
	_, err := ReleaseFor("linux", "arm64")
	assert.ErrorContains(t, err, "has no committed SHA-256")
}

// Reading Trivy's report must not pull Trivy's scanner (or experimental JSON) into Flightline:
// pkg/scan imports github.com/aquasecurity/trivy/pkg/types only.
func TestDeps_NoScannerNoJSONv2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{"github.com/labrats-work/flightline/pkg/scan", "github.com/labrats-work/flightline/cmd/flightline"} {
		for _, tags := range []string{"", "lean"} {
			out, err := exec.Command("go", "list", "-tags", tags, "-deps", pkg).CombinedOutput()
			require.NoError(t, err, string(out))
			deps := strings.Fields(string(out))
			n := 0
			for _, d := range deps {
				if strings.HasPrefix(d, "github.com/aquasecurity/") {
					n++
				}
				for _, bad := range []string{
					"encoding/json/v2", "encoding/json/jsontext",
					"github.com/aquasecurity/trivy/pkg/scanner", "github.com/aquasecurity/trivy/pkg/fanal/analyzer",
					"github.com/aquasecurity/trivy/pkg/fanal/artifact", "github.com/aquasecurity/trivy/pkg/detector",
					"github.com/aquasecurity/trivy/pkg/commands", "github.com/aquasecurity/trivy/pkg/db",
					"github.com/aquasecurity/trivy/pkg/result", "github.com/aquasecurity/trivy/pkg/iac",
				} {
					if d == bad || strings.HasPrefix(d, bad+"/") {
						t.Errorf("%s (tags %q) depends on %s", pkg, tags, d)
					}
				}
			}
			assert.LessOrEqual(t, n, 12, "%s: Trivy packages beyond pkg/types and its few dependencies", pkg)
		}
	}
}

// .ci/run builds the same Trivy the scan pins.
func TestCIRun_BuildsThePinnedTrivy(t *testing.T) {
	data, err := os.ReadFile("../../.ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(data), "\ntrivy_version="+TrivyVersion+"\n")
}

func TestTrivyVersion(t *testing.T) {
	tv := Trivy{Path: "/nonexistent/trivy"}
	v, err := tv.version("0.74.0")
	require.NoError(t, err)
	assert.Equal(t, "v0.74.0", v)
	_, err = tv.version("0.70.0")
	assert.ErrorContains(t, err, `version "0.70.0", Flightline pins v0.74.0`)
	_, err = tv.version("dev")
	assert.ErrorContains(t, err, `version "dev"`, "a source build whose build info does not name Trivy v0.74.0")
}
