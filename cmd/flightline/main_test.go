package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/actions"
)

// runCLI runs the binary's command tree in-process with env as the whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, func(k string) string { return env[k] }, environOf(env))
	return code, out.String(), errb.String()
}

// terminalEnv is a terminal's environment (this process's, which child processes such as go,
// git and the linters need: PATH, HOME, Go's caches) without Actions' variables and action
// inputs, plus extra.
func terminalEnv(extra map[string]string) map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "GITHUB_") && !strings.HasPrefix(k, actions.InputPrefix) {
			env[k] = v
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// environOf lists env as os.Environ does.
func environOf(env map[string]string) func() []string {
	return func() []string {
		out := make([]string, 0, len(env))
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
}

func TestVersion_LocalPrintsOutputs(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "version")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "dev", outs["version"])
	assert.Equal(t, "full", outs["edition"])
	assert.Contains(t, outs["go"], "go1.")
	assert.Contains(t, stderr, "### flightline dev")
}

func TestVersion_InActionsWritesFiles(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true",
		"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "sum")}
	code, stdout, _ := runCLI(t, env, "version")
	require.Equal(t, 0, code)
	assert.Empty(t, stdout)
	b, err := os.ReadFile(env["GITHUB_OUTPUT"])
	require.NoError(t, err)
	outs, err := actions.ParseOutputs(string(b))
	require.NoError(t, err)
	assert.Equal(t, "dev", outs["version"])
	s, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	require.NoError(t, err)
	assert.Contains(t, string(s), "| commit | go | platform | edition |")
}

func TestRun_ErrorsAreRedactedAndAnnotated(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "version", "extra")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `flightline: unknown command "extra"`)

	code, stdout, _ := runCLI(t, map[string]string{"GITHUB_ACTIONS": "true"}, "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "::error title=flightline nope::unknown command")
}

func TestMaskSecrets_CredentialFlagsNeverPrinted(t *testing.T) {
	var stdout, stderr bytes.Buffer
	rt := actions.New(actions.WithGetenv(func(string) string { return "" }), actions.WithStdout(&stdout), actions.WithStderr(&stderr))
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("token", "", "")
	fs.String("registry-password", "", "")
	fs.String("policy", "", "")
	require.NoError(t, fs.Parse([]string{"--token", "ghp_abcdef123456", "--registry-password", "hunter2hunter2", "--policy", "prod/agent"}))
	maskSecrets(rt, fs)
	assert.Equal(t, "auth *** and *** for prod/agent", rt.Redact("auth ghp_abcdef123456 and hunter2hunter2 for prod/agent"))
}
