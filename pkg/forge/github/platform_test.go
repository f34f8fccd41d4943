package github

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/forge"
)

const (
	testRepo  = "acme/platform"
	testToken = "ghs_TESTTOKEN0123456789abcdefSECRET"
)

// noSleep makes retries instant in tests while still counting them.
func noSleep(context.Context, time.Duration) error { return nil }

// newServer starts an emulator with the platform repository holding files.
func newServer(t testing.TB, files map[string][]byte) *githubtest.Server {
	t.Helper()
	testenv.LookPath(t, "git", "apt-get install git")
	s := githubtest.New(t)
	s.CreateRepo(testRepo, files)
	// Every request the forge sends and every answer the emulator gives, in every test of this
	// package, is held to GitHub's published descriptions (contract_test.go).
	t.Cleanup(func() { checkContract(t, s.Log()) })
	return s
}

// newForge connects a forge to the emulator.
func newForge(t testing.TB, s *githubtest.Server, opts ...Option) *Forge {
	t.Helper()
	opts = append([]Option{WithBaseURL(s.URL), WithHTTPClient(s.Client()), withSleep(noSleep), WithRetry(3, time.Millisecond, time.Minute)}, opts...)
	f, err := New(context.Background(), testRepo, testToken, opts...)
	require.NoError(t, err)
	return f
}

// platform is forgetest's view of the emulated repository.
type platform struct {
	s *githubtest.Server
	f *Forge
}

func (p *platform) Forge() forge.Forge { return p.f }
func (p *platform) Base() string       { return "main" }
func (p *platform) Push(t testing.TB, files map[string][]byte, message string) string {
	return p.s.Push(testRepo, "main", files, message)
}

// Branches lists the repository's branches. GitHub's revertPullRequest names a revert's branch
// itself (revert-N-BRANCH), while the shared suite recognises revert branches by the local
// forge's prefix flightline/revert/: such branches are reported under that prefix, so the
// suite counts them (and still sees every left-over branch).
func (p *platform) Branches(t testing.TB) []string {
	var out []string
	for _, b := range p.s.Branches(testRepo) {
		if strings.HasPrefix(b, "revert-") {
			b = "flightline/revert/" + b
		}
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// ghPlatform makes forgetest platforms on a fresh emulator each.
func ghPlatform(t testing.TB, files map[string][]byte) forgetest.Platform {
	s := newServer(t, files)
	return &platform{s: s, f: newForge(t, s)}
}

// The shared suites (forgetest.RunForge, RunPromote, RunRollback) run on the emulator in
// TestContract_EveryRequestAndAnswerMatchesGitHubsDescriptions, which also tallies their API use.
