package gitforge_test

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	require.NoError(t, err, "git %v", args)
	return strings.TrimSpace(string(out))
}

func newRepo(t *testing.T) (forgetest.Platform, string) {
	p := forgetest.GitPlatform(true)(t, map[string][]byte{"f.yaml": []byte("range: 1.4.0\n")})
	return p, p.(interface{ Dir() string }).Dir()
}

func change(base, branch, body string) forge.Change {
	return forge.Change{Base: "main", BaseSHA: base, Branch: branch, Title: "promote", Body: body,
		Files: map[string][]byte{"f.yaml": []byte("range: 1.5.0\n")}}
}

// A fresh machine has no git identity: every commit names the forge's identity and date.
func TestIdentityAndDateAreExplicit(t *testing.T) {
	_, dir := newRepo(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f, err := gitforge.Open(ctx, dir, gitforge.WithIdentity("Release Bot", "bot@example.com"), gitforge.WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	base, err := f.Head(ctx, "main")
	require.NoError(t, err)
	pr, _, err := f.Propose(ctx, change(base, "flightline/promote/a/b/1.5.0", "x"))
	require.NoError(t, err)
	got := gitOut(t, dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%at", pr.HeadSHA)
	assert.Equal(t, "Release Bot <bot@example.com>|Release Bot <bot@example.com>|"+strconv.FormatInt(at.Unix(), 10), got)
}

// Concurrent runs creating the same PR: compare-and-swap lets exactly one create it; the others
// lose with ErrStale (and a retry would update), nothing is corrupted.
func TestPropose_ConcurrentCreateIsCompareAndSwap(t *testing.T) {
	p, _ := newRepo(t)
	ctx := context.Background()
	f := p.Forge()
	base, err := f.Head(ctx, "main")
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]forge.Result, 6)
	errs := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i], errs[i] = f.Propose(ctx, change(base, "flightline/promote/a/b/1.5.0", "run "+strconv.Itoa(i)))
		}()
	}
	wg.Wait()
	created := 0
	for i := range results {
		if errs[i] != nil {
			require.ErrorIs(t, errs[i], forge.ErrStale)
			continue
		}
		if results[i] == forge.Created {
			created++
		}
	}
	assert.Equal(t, 1, created, "exactly one run creates the branch")
	assert.Equal(t, []string{"flightline/promote/a/b/1.5.0", "main"}, p.Branches(t))
}

// Two PRs merged at the same time: the base moves under one of them; the merge is recomputed on
// the new tip (compare-and-swap, retried), and both land.
func TestMerge_ConcurrentMergesBothLand(t *testing.T) {
	p, dir := newRepo(t)
	ctx := context.Background()
	f := p.Forge()
	base, err := f.Head(ctx, "main")
	require.NoError(t, err)
	a, _, err := f.Propose(ctx, forge.Change{Base: "main", BaseSHA: base, Branch: "flightline/x/a", Title: "a", Files: map[string][]byte{"a.txt": []byte("a\n")}})
	require.NoError(t, err)
	b, _, err := f.Propose(ctx, forge.Change{Base: "main", BaseSHA: base, Branch: "flightline/x/b", Title: "b", Files: map[string][]byte{"b.txt": []byte("b\n")}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, pr := range []forge.PR{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = f.Merge(ctx, pr, forge.MergeOptions{}) }()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for _, name := range []string{"a.txt", "b.txt", "f.yaml"} {
		_, err := f.ReadFile(ctx, "main", name)
		assert.NoError(t, err, name)
	}
	assert.Equal(t, "2", gitOut(t, dir, "rev-list", "--count", "--merges", "--first-parent", "main"))
}

func TestOpen_NotARepository(t *testing.T) {
	_, err := gitforge.Open(context.Background(), t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a git repository")
}

func TestPropose_BadInput(t *testing.T) {
	p, _ := newRepo(t)
	ctx := context.Background()
	f := p.Forge()
	base, err := f.Head(ctx, "main")
	require.NoError(t, err)
	for name, c := range map[string]forge.Change{
		"outside flightline/": change(base, "feature/x", "b"),
		"bad branch":          change(base, "flightline/a b", "b"),
		"two-line title":      {Base: "main", BaseSHA: base, Branch: "flightline/x", Title: "a\nb", Files: map[string][]byte{"f.yaml": nil}},
		"path escapes":        {Base: "main", BaseSHA: base, Branch: "flightline/x", Title: "t", Files: map[string][]byte{"../f": nil}},
		"unknown base":        {Base: "nope", BaseSHA: base, Branch: "flightline/x", Title: "t", Files: map[string][]byte{"f": nil}},
	} {
		_, _, err := f.Propose(ctx, c)
		assert.Error(t, err, name)
	}
	assert.Equal(t, []string{"main"}, p.Branches(t), "nothing left behind")
}

func TestMerge_OnlyMergeCommits(t *testing.T) {
	p, _ := newRepo(t)
	ctx := context.Background()
	f := p.Forge()
	base, err := f.Head(ctx, "main")
	require.NoError(t, err)
	pr, _, err := f.Propose(ctx, change(base, "flightline/promote/a/b/1.5.0", "x"))
	require.NoError(t, err)
	_, err = f.Merge(ctx, pr, forge.MergeOptions{Method: forge.MethodSquash})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "merge commit only")
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{Method: forge.MethodMerge})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, merged.State)
}
