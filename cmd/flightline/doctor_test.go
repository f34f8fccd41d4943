package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/forge"
	ghforge "github.com/labrats-work/flightline/pkg/forge/github"
)

const (
	ghRepo    = "acme/platform"
	ownToken  = "ghs_suiteOwnToken000000000000000000"
	goodToken = "ghs_goodTokenValue1234567890abcdefXYZ"
)

// ghPlatform is the suite's platform file in an emulated GitHub repository.
type ghPlatform struct {
	s *githubtest.Server
	f *ghforge.Forge
}

func (p *ghPlatform) Forge() forge.Forge { return p.f }
func (p *ghPlatform) Base() string       { return "main" }
func (p *ghPlatform) Push(t testing.TB, files map[string][]byte, msg string) string {
	return p.s.Push(ghRepo, "main", files, msg)
}
func (p *ghPlatform) Branches(t testing.TB) []string { return p.s.Branches(ghRepo) }

// githubPlatform is the flow suites' world on the emulator; the suite's own forge uses
// ownToken, which can do everything.
func githubPlatform(t *testing.T) (*forgetest.Env, *githubtest.Server) {
	t.Helper()
	testenv.LookPath(t, "git", "apt-get install git")
	var srv *githubtest.Server
	e := forgetest.NewEnv(t, func(t testing.TB, files map[string][]byte) forgetest.Platform {
		srv = githubtest.New(t)
		srv.CreateRepo(ghRepo, files)
		srv.AddToken(ownToken, githubtest.Token{Write: true, Admin: true})
		f, err := ghforge.New(context.Background(), ghRepo, ownToken, ghforge.WithBaseURL(srv.URL))
		require.NoError(t, err)
		return &ghPlatform{s: srv, f: f}
	})
	return e, srv
}

func doctorArgs(token string, extra ...string) []string {
	return append([]string{"doctor", "--platform-repo", ghRepo, "--token", token, "--file", forgetest.PlatformFile}, extra...)
}

func TestDoctor_AllChecksPass(t *testing.T) {
	_, s := githubPlatform(t)
	s.AddToken(goodToken, githubtest.Token{Write: true, Admin: true})
	s.CreateLabel(ghRepo, "promotion")
	code, stdout, stderr := runCLI(t, map[string]string{"GITHUB_API_URL": s.URL},
		doctorArgs(goodToken, "--policy", forgetest.Policy, "--labels", "promotion,prod")...)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	assert.Equal(t, []string{
		"ok    token can read acme/platform",
		"ok    token can write to acme/platform (branches, PRs)",
		"ok    GitHub Actions may create pull requests in acme/platform",
		"ok    auto-merge allowed in acme/platform",
		"ok    labels promotion, prod exist or can be created in acme/platform: prod will be created on first use",
		"ok    ai-agents-image-automation.yaml is on main",
		`ok    ImagePolicy ai-agents-platform/ai-agents-prod is in ai-agents-image-automation.yaml (range "1.4.0")`,
	}, lines)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "0", outs["failed"])
	assert.Empty(t, s.Pulls(ghRepo))
	assert.Equal(t, []string{"main"}, s.Branches(ghRepo), "doctor changes nothing")
	assert.NotContains(t, stdout+stderr, goodToken)
}

func TestDoctor_FailuresSayWhatToFix(t *testing.T) {
	tests := []struct {
		name   string
		token  githubtest.Token
		args   []string
		want   []string // lines (prefixes) that must appear
		absent []string
	}{
		{name: "ReadOnlyToken", token: githubtest.Token{}, args: []string{"--labels", "rollback"},
			want: []string{"FAIL  token can write to acme/platform (branches, PRs): GitHub refused a write (403",
				"Contents: write and Pull requests: write",
				"FAIL  labels rollback exist or can be created in acme/platform: rollback missing and the token cannot create them"}},
		{name: "InstallationTokenWithoutWrite_Probed", token: githubtest.Token{Installation: true},
			want: []string{"FAIL  token can write to acme/platform"}},
		{name: "InstallationTokenWithWrite_Probed", token: githubtest.Token{Installation: true, Write: true, Admin: true},
			want: []string{"ok    token can write to acme/platform"}, absent: []string{"FAIL"}},
		{name: "RepoNotVisible", token: githubtest.Token{Repos: []string{"acme/app"}, Write: true},
			want: []string{"FAIL  token can read acme/platform:", "GITHUB_TOKEN is scoped to the workflow's own repository"}},
		{name: "PolicyMissing", token: githubtest.Token{Write: true, Admin: true}, args: []string{"--policy", "ai-agents-platform/nope"},
			want: []string{"ok    ai-agents-image-automation.yaml is on main", "FAIL  ImagePolicy ai-agents-platform/nope is in ai-agents-image-automation.yaml"}},
		{name: "FileMissing", token: githubtest.Token{Write: true, Admin: true}, args: []string{"--file", "nope.yaml"},
			want: []string{"FAIL  nope.yaml is on main", "set file to the file that holds the ImagePolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := githubPlatform(t)
			s.AddToken(goodToken, tt.token)
			code, stdout, stderr := runCLI(t, map[string]string{"GITHUB_API_URL": s.URL}, append(doctorArgs(goodToken), tt.args...)...)
			wantCode := 1
			if len(tt.absent) > 0 {
				wantCode = 0
			}
			assert.Equal(t, wantCode, code, stderr)
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, stderr, a)
			}
			if wantCode == 1 {
				assert.Contains(t, stderr, "flightline: doctor: ")
				assert.Contains(t, stderr, "checks failed")
			}
			assert.NotContains(t, stdout+stderr, goodToken, "the token is never printed")
			assert.Equal(t, []string{"main"}, s.Branches(ghRepo))
		})
	}
}

func TestDoctor_WarningsDoNotFail(t *testing.T) {
	_, s := githubPlatform(t)
	s.AddToken(goodToken, githubtest.Token{Write: true})
	s.Configure(ghRepo, func(st *githubtest.Settings) { st.AllowAutoMerge, st.ActionsCanCreatePRs = false, false })
	code, _, stderr := runCLI(t, map[string]string{"GITHUB_API_URL": s.URL}, doctorArgs(goodToken)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "unknown GitHub Actions may create pull requests in acme/platform: cannot see: reading this setting needs Administration: read")
	assert.Contains(t, stderr, `warn  auto-merge allowed in acme/platform: off: merge: auto will merge at once`)

	s.AddToken("admin-token", githubtest.Token{Write: true, Admin: true})
	code, _, stderr = runCLI(t, map[string]string{"GITHUB_API_URL": s.URL}, doctorArgs("admin-token")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `"Allow GitHub Actions to create and approve pull requests"`)

	// A read-only token does not see the merge settings: doctor says so, and does not guess.
	s.AddToken("read-token", githubtest.Token{})
	_, _, stderr = runCLI(t, map[string]string{"GITHUB_API_URL": s.URL}, doctorArgs("read-token")...)
	assert.Contains(t, stderr, "unknown auto-merge allowed in acme/platform: cannot see")
	assert.NotContains(t, stderr, "auto-merge allowed in acme/platform: off")
}

func TestDoctor_BadInput(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "doctor")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "give --platform-repo OWNER/REPO")
	code, _, stderr = runCLI(t, nil, "doctor", "--platform-repo", "not-a-repo", "--token", "x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `platform repository "not-a-repo": want OWNER/REPO`)
}

// The GitHub forge behind promote and rollback: --platform-repo and --token, GITHUB_API_URL.
func TestPromoteAndRollbackCmd_PlatformRepoOnGitHub(t *testing.T) {
	e, s := githubPlatform(t)
	s.AddToken(goodToken, githubtest.Token{Write: true})
	env := map[string]string{
		"GITHUB_API_URL":                 s.URL,
		"FLIGHTLINE_INPUT_PLATFORM_REPO": ghRepo,
		"FLIGHTLINE_INPUT_TOKEN":         goodToken,
		"FLIGHTLINE_INPUT_FILE":          forgetest.PlatformFile,
		"FLIGHTLINE_INPUT_POLICY":        forgetest.Policy,
		"FLIGHTLINE_INPUT_VERSION":       "1.5.0",
		"FLIGHTLINE_INPUT_LABELS":        "promotion",
	}
	code, stdout, stderr := runCLI(t, env, "promote", "--require-scan=false", "--merge", "merge")
	require.Equal(t, 0, code, stderr)
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "merged", outs["operation"])
	assert.Equal(t, "1", outs["pr-number"])
	assert.Equal(t, s.URL+"/acme/platform/pull/1", outs["pr-url"])
	assert.Equal(t, e.WithRange("1.5.0"), e.File("main"))

	delete(env, "FLIGHTLINE_INPUT_VERSION")
	code, stdout, stderr = runCLI(t, env, "rollback", "--merge", "merge", "--reason", "canary failed")
	require.Equal(t, 0, code, stderr)
	outs, err = actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "reverted", outs["operation"])
	assert.Equal(t, "1", outs["reverted-pr"])
	assert.Equal(t, "2", outs["revert-pr-number"])
	assert.Equal(t, e.Original, e.File("main"), "the file is byte-identical to before the promotion")
	assert.NotContains(t, stdout+stderr, goodToken)
}

func TestPreflight_FailedCheckStopsPromoteBeforeAnyWrite(t *testing.T) {
	_, s := githubPlatform(t)
	s.AddToken(goodToken, githubtest.Token{}) // can read, cannot write
	env := map[string]string{"GITHUB_API_URL": s.URL}
	code, stdout, stderr := runCLI(t, env, "promote", "--require-scan=false", "--platform-repo", ghRepo, "--token", goodToken, "--file", forgetest.PlatformFile,
		"--policy", forgetest.Policy, "--version", "1.5.0", "--labels", "promotion", "--preflight")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "preflight: ok    token can read acme/platform")
	assert.Contains(t, stderr, "preflight: FAIL  token can write to acme/platform")
	assert.Contains(t, stderr, "nothing was changed")
	assert.Equal(t, []string{"main"}, s.Branches(ghRepo))
	assert.Empty(t, s.Pulls(ghRepo))
	assert.NotContains(t, stdout+stderr, goodToken)
}

func TestPreflight_PassesThenRollbackRuns(t *testing.T) {
	_, s := githubPlatform(t)
	s.AddToken(goodToken, githubtest.Token{Write: true, Admin: true})
	env := map[string]string{"GITHUB_API_URL": s.URL, "FLIGHTLINE_INPUT_PREFLIGHT": "true"}
	base := []string{"--platform-repo", ghRepo, "--token", goodToken, "--policy", forgetest.Policy}
	code, _, stderr := runCLI(t, env, append([]string{"promote", "--require-scan=false", "--file", forgetest.PlatformFile, "--version", "1.5.0", "--merge", "merge"}, base...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `preflight: ok    ImagePolicy ai-agents-platform/ai-agents-prod is in ai-agents-image-automation.yaml (range "1.4.0")`)
	code, stdout, stderr := runCLI(t, env, append([]string{"rollback", "--labels", "rollback"}, base...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "preflight: ok    labels rollback exist or can be created in acme/platform: rollback will be created on first use")
	outs, err := actions.ParseOutputs(stdout)
	require.NoError(t, err)
	assert.Equal(t, "reverted", outs["operation"])
}
