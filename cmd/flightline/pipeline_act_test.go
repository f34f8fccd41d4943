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

// jobOutputs collects the ::set-output:: lines act logs for one job of the pipeline.
func jobOutputs(log, job string) map[string]string {
	out := map[string]string{}
	prefix := "[pipeline/Flightline pipeline/" + job + " "
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		_, kv, ok := strings.Cut(line, "::set-output:: ")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

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
	assert.Error(t, res.Err, "the run fails: the release was rolled back")
	// act stops a run at its first failed job (the rollback job fails the run on purpose once
	// it has reverted), so the jobs' outputs are read from their ::set-output lines.
	build, promoted := jobOutputs(res.Log, "build"), jobOutputs(res.Log, "promote")
	watch, rolled := jobOutputs(res.Log, "canary"), jobOutputs(res.Log, "rollback")
	assert.Equal(t, "1.7.0", build["version"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, build["digest"])
	assert.Equal(t, e.Image+"@"+build["digest"], build["image"])
	assert.Equal(t, "flightline/promote/"+forgetest.Policy+"/1.7.0", promoted["pr-url"])
	assert.Equal(t, "1.7.0", promoted["range"])
	assert.Equal(t, "merged", promoted["operation"])
	assert.Equal(t, "rollback", watch["decision"])
	assert.Equal(t, "reverted", rolled["operation"], res.Log)
	assert.Equal(t, "1.4.0", rolled["restored-range"])
	assert.Contains(t, rolled["revert-pr-url"], "flightline/revert/"+forgetest.Policy+"/")
	assert.Equal(t, e.Original, e.File("main"), "the revert restored the platform file byte for byte")
	assert.Contains(t, res.Log, "the canary failed and the promotion was rolled back (reverted: ")

	ref, err := name.ParseReference(e.Image + ":1.7.0")
	require.NoError(t, err)
	desc, err := remote.Head(ref)
	require.NoError(t, err, "the release was pushed")
	assert.Equal(t, build["digest"], desc.Digest.String())
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
