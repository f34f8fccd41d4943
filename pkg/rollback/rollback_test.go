package rollback_test

import (
	"testing"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/testenv"
)

// The flow's table runs on the local git forge here; the GitHub forge runs the same suite.
func TestRollback_LocalGitForge(t *testing.T) { forgetest.RunRollback(t, forgetest.GitPlatform(true)) }

// A clone with the base branch checked out: the flows never touch its HEAD or working tree.
func TestRollback_LocalGitForgeClone(t *testing.T) {
	testenv.CIOnly(t, "the clone variant of the local forge; the bare variant runs everywhere")
	forgetest.RunRollback(t, forgetest.GitPlatform(false))
}

// The trust scenarios of issue 16 on the local git forge.
func TestTrust_LocalGitForge(t *testing.T) { forgetest.RunTrust(t, forgetest.GitPlatform(true)) }
