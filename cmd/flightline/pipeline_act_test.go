package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/promtest"
)

// pipelineCall writes the caller workflow with the test's values in place of @NAME@.
func pipelineCall(t *testing.T, values map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(acttest.RepoRoot(t), "cmd/flightline/testdata/pipeline-call.yml"))
	require.NoError(t, err)
	s := string(b)
	for k, v := range values {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	require.NotContains(t, s, "'@", "every placeholder is substituted")
	p := filepath.Join(t.TempDir(), "pipeline-call.yml")
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	return p
}

// The canary analysis the pipeline watches with: the runbook's success-rate gate at test speed.
const pipelineCanary = `apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent}
spec:
  analysis:
    interval: 2s
    iterations: 3
    threshold: 2
    selector: 'job="agent",instance=%q'
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 4s
`

// The whole pipeline under act, as an app repository calls it on a release: the jobs that need
// no remote action and no Docker run for real - lint and test (examples/agent), the go build
// pushed to a loopback registry, the promotion merged in a local platform repository, the canary
// against a real Prometheus scraping a failing agent, and the rollback it triggers - each with
// Flightline's actions checked out at the pipeline's own commit.
func TestPipeline_ReleaseUnderAct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline under act")
	}
	acttest.Act(t)
	e, dir := localPlatform(t)
	bad := promtest.NewAgent(t, "1.7.0")
	bad.SetErrorRate(0.5)
	prom := promtest.Start(t, bad.Addr)
	wf := pipelineCall(t, map[string]string{
		"LINTERS": "go-vet", "TEST_RUN": "TestChat", "IMAGE": e.Image, "PLATFORM_DIR": dir,
		"POLICY": forgetest.Policy, "FILE": forgetest.PlatformFile, "PROM_URL": prom.URL,
	})
	res := acttest.Run(t, acttest.Options{
		Workflow: wf,
		Files:    map[string]string{"deploy/canary.yaml": fmt.Sprintf(pipelineCanary, bad.Addr)},
		Timeout:  25 * time.Minute,
	})
	assert.Error(t, res.Err, "the pipeline fails: its canary decided rollback")
	out := res.Outputs
	assert.Equal(t, "1.7.0", out["version"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, out["digest"])
	assert.Equal(t, e.Image+"@"+out["digest"], out["image"])
	assert.Equal(t, "flightline/promote/"+forgetest.Policy+"/1.7.0", out["promotion-pr-url"])
	assert.Equal(t, "1.7.0", out["range"])
	assert.Equal(t, "rollback", out["canary-decision"])
	assert.Equal(t, "reverted", out["rollback-operation"], res.Log)
	assert.Contains(t, out["revert-pr-url"], "flightline/revert/"+forgetest.Policy+"/")
	assert.Equal(t, e.Original, e.File("main"), "the revert restored the platform file byte for byte")

	ref, err := name.ParseReference(e.Image + ":1.7.0")
	require.NoError(t, err)
	desc, err := remote.Head(ref)
	require.NoError(t, err, "the release was pushed")
	assert.Equal(t, out["digest"], desc.Digest.String())
	for _, job := range []string{"Locate Flightline", "lint", "test", "build", "promote", "canary", "rollback"} {
		assert.Contains(t, res.Log, job, "job %s ran", job)
	}
}

// A pull request runs lint, test and a build that pushes nothing; it never promotes.
func TestPipeline_PullRequestUnderAct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline under act")
	}
	acttest.Act(t)
	e, dir := localPlatform(t)
	wf := pipelineCall(t, map[string]string{
		"LINTERS": "go-vet", "TEST_RUN": "TestChat", "IMAGE": e.Image, "PLATFORM_DIR": dir,
		"POLICY": forgetest.Policy, "FILE": forgetest.PlatformFile, "PROM_URL": "http://127.0.0.1:9",
	})
	res := acttest.Run(t, acttest.Options{Workflow: wf, Event: "pull_request", Timeout: 20 * time.Minute,
		EventJSON: `{"pull_request": {"number": 7, "base": {"ref": "main", "sha": "@HEAD@"}, "head": {"ref": "feature", "sha": "@HEAD@"}}}`})
	require.NoError(t, res.Err, res.Log)
	out := res.Outputs
	assert.Equal(t, "success", out["result"])
	assert.Equal(t, "", out["promotion-pr-url"], "a pull request never promotes")
	assert.Equal(t, "", out["canary-decision"])
	assert.Equal(t, e.Original, e.File("main"), "the platform repository is untouched")
	ref, err := name.ParseReference(e.Image + ":1.7.0")
	require.NoError(t, err)
	_, err = remote.Head(ref)
	assert.Error(t, err, "a pull request pushes nothing")
}
