package promote_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/pkg/promote"
)

// The flow's table runs on the local git forge here; the GitHub forge runs the same suite.
func TestPromote_LocalGitForge(t *testing.T) { forgetest.RunPromote(t, forgetest.GitPlatform(true)) }

func TestParseMergeMode(t *testing.T) {
	for _, s := range []string{"", "none", "merge", "auto"} {
		_, err := promote.ParseMergeMode(s)
		require.NoError(t, err, s)
	}
	_, err := promote.ParseMergeMode("squash")
	require.ErrorIs(t, err, promote.ErrInvalidInput)
	assert.Contains(t, err.Error(), "none, merge, auto")
}
