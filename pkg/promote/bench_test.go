package promote_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
	"github.com/labrats-work/flightline/pkg/promote"
)

// BenchmarkPromote_LocalGitForge measures one promotion that opens a PR (registry check
// included) on the local git forge, and reports the git processes it runs.
func BenchmarkPromote_LocalGitForge(b *testing.B) {
	git, calls := forgetest.CountingGit(b)
	e := forgetest.NewEnv(b, forgetest.GitPlatform(true, gitforge.WithGit(git)))
	ctx := context.Background()
	total := 0
	for b.Loop() {
		before := calls()
		r, err := e.Promote(promote.Request{Version: "1.5.0", ScanCheck: forgetest.PassedScan()})
		require.NoError(b, err)
		require.Equal(b, promote.Created, r.Operation)
		total += calls() - before
		b.StopTimer()
		require.NoError(b, e.P.Forge().Close(ctx, r.PR, "benchmark"))
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/float64(b.N), "git-calls/op")
}
