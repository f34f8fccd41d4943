package forgetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
)

const testFile = "apps/images.yaml"

var (
	fileV1 = []byte("# images\nrange: 1.4.0 # pinned\nother: keep\n")
	fileV2 = []byte("# images\nrange: 1.5.0 # pinned\nother: keep\n")
)

// RunForge checks the forge.Forge contract that the flows rely on, on any forge.
func RunForge(t *testing.T, newPlatform NewPlatform) {
	t.Run("Propose_CreatesBranchWithOneCommit", func(t *testing.T) { testProposeCreate(t, newPlatform) })
	t.Run("Propose_RerunUnchangedThenUpdated", func(t *testing.T) { testProposeRerun(t, newPlatform) })
	t.Run("Propose_EmptyChangeRefused", func(t *testing.T) { testProposeEmpty(t, newPlatform) })
	t.Run("Merge_MovesBaseAndFindsMerged", func(t *testing.T) { testMerge(t, newPlatform) })
	t.Run("Revert_RestoresFileByteForByte", func(t *testing.T) { testRevert(t, newPlatform) })
	t.Run("Revert_ConflictLeavesNoBranch", func(t *testing.T) { testRevertConflict(t, newPlatform) })
	t.Run("Merge_ConflictLeavesPROpen", func(t *testing.T) { testMergeConflict(t, newPlatform) })
	t.Run("Close_DeletesBranch", func(t *testing.T) { testClose(t, newPlatform) })
	t.Run("Merge_StalePRRefused", func(t *testing.T) { testMergeStale(t, newPlatform) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newPlatform) })
}

func change(p Platform, baseSHA string, content []byte, body string) forge.Change {
	return forge.Change{Base: p.Base(), BaseSHA: baseSHA, Branch: "flightline/promote/ns/app/1.5.0",
		Title: "promote ns/app to 1.5.0", Body: body, Files: map[string][]byte{testFile: content},
		Labels: []string{"promotion", "flightline"}}
}

func baseSHA(t *testing.T, p Platform) string {
	t.Helper()
	sha, err := p.Forge().Head(context.Background(), p.Base())
	require.NoError(t, err)
	return sha
}

func testProposeCreate(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	def, err := f.DefaultBranch(ctx)
	require.NoError(t, err)
	assert.Equal(t, p.Base(), def)
	before := baseSHA(t, p)

	pr, res, err := f.Propose(ctx, change(p, before, fileV2, "body line\n\n<!-- marker -->"))
	require.NoError(t, err)
	assert.Equal(t, forge.Created, res)
	assert.Equal(t, forge.StateOpen, pr.State)
	assert.Equal(t, "promote ns/app to 1.5.0", pr.Title)
	assert.Equal(t, "body line\n\n<!-- marker -->", pr.Body)
	assert.Equal(t, []string{"flightline", "promotion"}, pr.Labels)
	assert.Equal(t, p.Base(), pr.Base)
	assert.NotEmpty(t, pr.URL)
	assert.NotEmpty(t, pr.ID())

	got, err := f.ReadFile(ctx, pr.Branch, testFile)
	require.NoError(t, err)
	assert.Equal(t, fileV2, got)
	got, err = f.ReadFile(ctx, p.Base(), testFile)
	require.NoError(t, err)
	assert.Equal(t, fileV1, got, "the base is untouched until merge")
	assert.Equal(t, before, baseSHA(t, p))
	assert.Equal(t, []string{"flightline/promote/ns/app/1.5.0", p.Base()}, p.Branches(t))

	again, err := f.Get(ctx, pr.ID())
	require.NoError(t, err)
	assert.Equal(t, pr.Body, again.Body)
	open, err := f.Find(ctx, forge.Query{Base: p.Base(), State: forge.StateOpen, Text: []string{"<!-- marker"}})
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, pr.Branch, open[0].Branch)
	none, err := f.Find(ctx, forge.Query{Base: p.Base(), State: forge.StateOpen, Text: []string{"absent"}})
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testProposeRerun(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	sha := baseSHA(t, p)
	first, res, err := f.Propose(ctx, change(p, sha, fileV2, "body"))
	require.NoError(t, err)
	require.Equal(t, forge.Created, res)

	same, res, err := f.Propose(ctx, change(p, sha, fileV2, "body"))
	require.NoError(t, err)
	assert.Equal(t, forge.Unchanged, res)
	assert.Equal(t, first.HeadSHA, same.HeadSHA)

	upd, res, err := f.Propose(ctx, change(p, sha, fileV2, "body, digest changed"))
	require.NoError(t, err)
	assert.Equal(t, forge.Updated, res)
	assert.Equal(t, "body, digest changed", upd.Body)
	assert.Equal(t, first.ID(), upd.ID(), "an update keeps the same PR")
	open, err := f.Find(ctx, forge.Query{Base: p.Base(), State: forge.StateOpen})
	require.NoError(t, err)
	assert.Len(t, open, 1)
}

func testProposeEmpty(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	_, _, err := p.Forge().Propose(ctx, change(p, baseSHA(t, p), fileV1, "body"))
	require.ErrorIs(t, err, forge.ErrEmpty)
	assert.Equal(t, []string{p.Base()}, p.Branches(t))
}

func testMerge(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1, "other.txt": []byte("x\n")})
	f := p.Forge()
	pr, _, err := f.Propose(ctx, change(p, baseSHA(t, p), fileV2, "the body\n\n<!-- m -->"))
	require.NoError(t, err)
	// Someone pushes an unrelated change meanwhile: the merge still applies.
	p.Push(t, map[string][]byte{"other.txt": []byte("y\n")}, "unrelated")

	merged, err := f.Merge(ctx, pr, forge.MergeOptions{})
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, merged.State)
	assert.NotEmpty(t, merged.MergeSHA)
	assert.False(t, merged.Merged.IsZero(), "a merged PR says when")
	assert.Equal(t, "the body\n\n<!-- m -->", merged.Body)
	assert.Equal(t, merged.MergeSHA, baseSHA(t, p))
	got, err := f.ReadFile(ctx, p.Base(), testFile)
	require.NoError(t, err)
	assert.Equal(t, fileV2, got)
	other, err := f.ReadFile(ctx, p.Base(), "other.txt")
	require.NoError(t, err)
	assert.Equal(t, "y\n", string(other))
	assert.Equal(t, []string{p.Base()}, p.Branches(t), "the merged branch is deleted")

	found, err := f.Find(ctx, forge.Query{Base: p.Base(), State: forge.StateMerged, Text: []string{"<!-- m -->"}})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, merged.ID(), found[0].ID())
	byID, err := f.Get(ctx, merged.ID())
	require.NoError(t, err)
	assert.Equal(t, forge.StateMerged, byID.State)
	assert.Equal(t, merged.MergeSHA, byID.MergeSHA)
}

func testRevert(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1, "other.txt": []byte("x\n")})
	f := p.Forge()
	pr, _, err := f.Propose(ctx, change(p, baseSHA(t, p), fileV2, "promote"))
	require.NoError(t, err)
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{})
	require.NoError(t, err)
	p.Push(t, map[string][]byte{"other.txt": []byte("later\n")}, "a later unrelated change")

	rv, err := f.Revert(ctx, merged, forge.RevertRequest{Branch: "flightline/revert/ns/app/" + merged.ID()[:min(7, len(merged.ID()))],
		Title: `Revert "promote ns/app to 1.5.0"`, Body: "<!-- revert -->", Labels: []string{"rollback"}})
	require.NoError(t, err)
	assert.Equal(t, forge.StateOpen, rv.State)
	assert.Equal(t, []string{"rollback"}, rv.Labels)
	got, err := f.ReadFile(ctx, rv.Branch, testFile)
	require.NoError(t, err)
	assert.Equal(t, fileV1, got)
	other, err := f.ReadFile(ctx, rv.Branch, "other.txt")
	require.NoError(t, err)
	assert.Equal(t, "later\n", string(other), "the revert undoes only the promotion")

	done, err := f.Merge(ctx, rv, forge.MergeOptions{Auto: true})
	require.NoError(t, err)
	if done.State == forge.StateMerged {
		got, err = f.ReadFile(ctx, p.Base(), testFile)
		require.NoError(t, err)
		assert.Equal(t, fileV1, got, "byte-identical to before the promotion")
	}
}

func testRevertConflict(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	pr, _, err := f.Propose(ctx, change(p, baseSHA(t, p), fileV2, "promote"))
	require.NoError(t, err)
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{})
	require.NoError(t, err)
	p.Push(t, map[string][]byte{testFile: []byte(strings.Replace(string(fileV2), "1.5.0", "1.5.1", 1))}, "hand edit")

	_, err = f.Revert(ctx, merged, forge.RevertRequest{Branch: "flightline/revert/ns/app/x", Title: "Revert", Body: "b"})
	require.ErrorIs(t, err, forge.ErrConflict)
	assert.Equal(t, []string{p.Base()}, p.Branches(t), "no branch left behind")
}

func testMergeConflict(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	pr, _, err := f.Propose(ctx, change(p, baseSHA(t, p), fileV2, "promote"))
	require.NoError(t, err)
	tip := p.Push(t, map[string][]byte{testFile: []byte(strings.Replace(string(fileV1), "1.4.0", "1.4.9", 1))}, "hand edit")

	_, err = f.Merge(ctx, pr, forge.MergeOptions{})
	require.ErrorIs(t, err, forge.ErrConflict)
	assert.Equal(t, tip, baseSHA(t, p), "the base is untouched")
	again, err := f.Get(ctx, pr.ID())
	require.NoError(t, err)
	assert.Equal(t, forge.StateOpen, again.State, "the PR stays open, to be updated or merged by hand")
}

func testClose(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	pr, _, err := f.Propose(ctx, change(p, baseSHA(t, p), fileV2, "promote"))
	require.NoError(t, err)
	require.NoError(t, f.Close(ctx, pr, "superseded"))
	assert.Equal(t, []string{p.Base()}, p.Branches(t))
	open, err := f.Find(ctx, forge.Query{Base: p.Base(), State: forge.StateOpen})
	require.NoError(t, err)
	assert.Empty(t, open)
}

func testMergeStale(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	sha := baseSHA(t, p)
	old, _, err := f.Propose(ctx, change(p, sha, fileV2, "first"))
	require.NoError(t, err)
	_, _, err = f.Propose(ctx, change(p, sha, fileV2, "second"))
	require.NoError(t, err)
	_, err = f.Merge(ctx, old, forge.MergeOptions{})
	require.ErrorIs(t, err, forge.ErrStale, "merging what was reviewed, not what was pushed after")
	assert.Equal(t, sha, baseSHA(t, p))
}

func testNotFound(t *testing.T, newPlatform NewPlatform) {
	ctx := context.Background()
	p := newPlatform(t, map[string][]byte{testFile: fileV1})
	f := p.Forge()
	_, err := f.ReadFile(ctx, p.Base(), "missing.yaml")
	require.ErrorIs(t, err, forge.ErrNotFound)
	_, err = f.Head(ctx, "no-such-branch")
	require.ErrorIs(t, err, forge.ErrNotFound)
	_, err = f.Get(ctx, "999999")
	require.ErrorIs(t, err, forge.ErrNotFound)
}

// Run runs the whole suite: the forge contract, the promotion flow and the rollback flow.
func Run(t *testing.T, newPlatform NewPlatform) {
	t.Run("Forge", func(t *testing.T) { RunForge(t, newPlatform) })
	t.Run("Promote", func(t *testing.T) { RunPromote(t, newPlatform) })
	t.Run("Rollback", func(t *testing.T) { RunRollback(t, newPlatform) })
	t.Run("Trust", func(t *testing.T) { RunTrust(t, newPlatform) })
}
