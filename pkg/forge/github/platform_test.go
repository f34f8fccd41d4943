package github

import (
	"context"
	"sort"
	"strconv"
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

// The one contract suite, run on the second forge.
func TestForge_ContractOnEmulator(t *testing.T) { forgetest.RunForge(t, ghPlatform) }

// The promotion flow's table, run on the second forge.
func TestPromote_FlowOnEmulator(t *testing.T) { forgetest.RunPromote(t, ghPlatform) }

// The rollback flow's table (revert, forward fix, refusals, reuse), run on the second forge.
func TestRollback_FlowOnEmulator(t *testing.T) { forgetest.RunRollback(t, ghPlatform) }

// The trust scenarios of issue 16 (authors, forks, bodies edited after merge, a window of
// recent PRs), run on the second forge.
func TestTrust_FlowOnEmulator(t *testing.T) { forgetest.RunTrust(t, ghPlatform) }

// What forgetest.People, BodyEditor, Forks and Clutter need: others acting on the repository.
func (p *platform) Stranger() string { return "mallory" }

func (p *platform) OpenAs(t testing.TB, author, branch, title, body string, files map[string][]byte) forge.PR {
	n := p.s.OpenPullBy(testRepo, githubtest.PullSpec{Title: title, Body: body, Head: branch, Author: author, Files: files})
	pr, err := p.f.Get(context.Background(), strconv.Itoa(n))
	require.NoError(t, err)
	return pr
}

func (p *platform) PushAs(t testing.TB, author, branch string, files map[string][]byte) {
	p.s.PushAs(testRepo, branch, author, files, "a commit by "+author)
}

func (p *platform) EditBody(t testing.TB, pr forge.PR, body string) {
	p.s.EditBody(testRepo, pr.Number, body)
}

func (p *platform) OpenFork(t testing.TB, author, branch, title, body string, files map[string][]byte) forge.PR {
	n := p.s.OpenPullBy(testRepo, githubtest.PullSpec{Title: title, Body: body, Head: branch, Author: author, Fork: author, Files: files})
	pr, err := p.f.Get(context.Background(), strconv.Itoa(n))
	require.NoError(t, err)
	return pr
}

func (p *platform) CloseMany(t testing.TB, n int) {
	first := p.s.OpenPullBy(testRepo, githubtest.PullSpec{Title: "clutter", Head: "clutter", Author: "bot", Files: map[string][]byte{"clutter.txt": []byte("x\n")}})
	p.s.ClosePull(testRepo, first)
	for i := 1; i < n; i++ {
		num := p.s.OpenPullBy(testRepo, githubtest.PullSpec{Title: "clutter", Head: "clutter", Author: "bot"})
		p.s.ClosePull(testRepo, num)
	}
}
