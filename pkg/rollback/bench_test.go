package rollback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// BenchmarkRollback_LocalGitForge measures one rollback from decision to verified merge (find
// the promotion, safety checks, revert, merge, verify, resolve the restored tag) on the local git
// forge, and reports the git processes it runs.
func BenchmarkRollback_LocalGitForge(b *testing.B) {
	git, calls := forgetest.CountingGit(b)
	e := forgetest.NewEnv(b, forgetest.GitPlatform(true, gitforge.WithGit(git)))
	total := 0
	for b.Loop() {
		b.StopTimer()
		_, err := e.Promote(promote.Request{Version: "1.5.0", Merge: promote.MergeNow, Force: true})
		require.NoError(b, err)
		before := calls()
		b.StartTimer()
		r, err := e.Rollback(rollback.Request{Merge: promote.MergeNow})
		require.NoError(b, err)
		require.True(b, r.Verified)
		total += calls() - before
	}
	b.ReportMetric(float64(total)/float64(b.N), "git-calls/op")
}
