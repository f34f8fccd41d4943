package gitforge_test

import (
	"testing"

	"github.com/labrats-work/flightline/internal/forgetest"
)

func TestForge_Bare(t *testing.T)  { forgetest.RunForge(t, forgetest.GitPlatform(true)) }
func TestForge_Clone(t *testing.T) { forgetest.RunForge(t, forgetest.GitPlatform(false)) }
