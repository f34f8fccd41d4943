package acttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// compositeSteps reads the steps of a composite action.
func compositeSteps(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var a struct {
		Runs struct {
			Using string           `yaml:"using"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &a), path)
	require.Equal(t, "composite", a.Runs.Using, "%s: not a composite action", path)
	return a.Runs.Steps
}

// runsFlightline reports whether a step runs the flightline binary (as opposed to setting it up).
func runsFlightline(step map[string]any) bool {
	run, _ := step["run"].(string)
	return strings.HasPrefix(strings.TrimSpace(run), "flightline ")
}

// normalised rewrites a composite's path to the repository root ($GITHUB_ACTION_PATH/../../) as
// the root action spells it ($GITHUB_ACTION_PATH/), so that the two can be compared.
func normalised(steps []map[string]any) []map[string]any {
	out := make([]map[string]any, len(steps))
	for i, s := range steps {
		c := map[string]any{}
		for k, v := range s {
			if str, ok := v.(string); ok {
				v = strings.ReplaceAll(str, "$GITHUB_ACTION_PATH/../../", "$GITHUB_ACTION_PATH/")
			}
			c[k] = v
		}
		out[i] = c
	}
	return out
}

// The set-up is the steps of the root action before its first flightline step. Every composite
// action under actions/ must start with exactly those steps, so that a change to the set-up (how
// the binary is verified, where Go comes from) reaches every action at once and an action copied
// from an older one cannot keep an older set-up.
func TestSetupSteps_EveryActionStartsWithTheRootActionsSetup(t *testing.T) {
	root := RepoRoot(t)
	rootSteps := compositeSteps(t, filepath.Join(root, "action.yml"))
	var setup []map[string]any
	for _, s := range rootSteps {
		if runsFlightline(s) {
			break
		}
		setup = append(setup, s)
	}
	require.NotEmpty(t, setup, "action.yml: no set-up steps before the first flightline step")
	require.Less(t, len(setup), len(rootSteps), "action.yml: no step runs flightline after the set-up")

	// What the set-up must never do: use a cache that others can write, or change the job's Go.
	for _, s := range setup {
		uses, _ := s["uses"].(string)
		assert.Empty(t, uses, "action.yml: the set-up uses %q; it must not restore the binary from the Actions cache "+
			"nor install a Go toolchain that later steps see (scripts/setup.sh does both privately)", uses)
		run, _ := s["run"].(string)
		assert.NotContains(t, run, "GITHUB_ENV", "action.yml: the set-up must not set environment in a run: line")
	}

	paths, err := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			steps := compositeSteps(t, p)
			require.Greater(t, len(steps), len(setup), "%s has fewer steps than the set-up", rel)
			assert.Equal(t, normalised(setup), normalised(steps[:len(setup)]),
				"%s: its first %d steps must be the set-up steps of action.yml exactly (copy them from there)", rel, len(setup))
			for i, s := range steps[len(setup):] {
				run, _ := s["run"].(string)
				assert.NotContains(t, run, "scripts/setup.sh", "%s: step %d runs the set-up a second time", rel, len(setup)+i+1)
			}
		})
	}
}
