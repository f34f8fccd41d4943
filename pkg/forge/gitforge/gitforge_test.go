package gitforge_test

import (
	"testing"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/testenv"
)

func TestForge_Bare(t *testing.T) { forgetest.RunForge(t, forgetest.GitPlatform(true)) }
func TestForge_Clone(t *testing.T) {
	testenv.CIOnly(t, "the clone variant of the local forge; the bare variant runs everywhere")
	forgetest.RunForge(t, forgetest.GitPlatform(false))
}
