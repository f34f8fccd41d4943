package workflowcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/acttest"
	"github.com/labrats-work/flightline/internal/testenv"
)

// files returns every action and workflow of the repository, and the test workflows.
func files(t *testing.T) (root string, actions, workflows []string) {
	root = acttest.RepoRoot(t)
	actions = append([]string{filepath.Join(root, "action.yml")}, glob(t, root, "actions/*/action.yml")...)
	workflows = append(glob(t, root, ".github/workflows/*.yml"), glob(t, root, "*/*/testdata/*.yml")...)
	workflows = append(workflows, glob(t, root, "*/*/testdata/workflows/*.yml")...)
	workflows = append(workflows, glob(t, root, "examples/workflows/*.yml")...)
	return root, actions, workflows
}

func glob(t *testing.T, root, pattern string) []string {
	m, err := filepath.Glob(filepath.Join(root, pattern))
	require.NoError(t, err)
	var out []string
	for _, p := range m {
		if !strings.Contains(p, "/workflowcheck/") { // the deliberately bad fixtures
			out = append(out, p)
		}
	}
	return out
}

func TestRepository_ActionsAndWorkflowsFollowTheRules(t *testing.T) {
	root, acts, wfs := files(t)
	require.NotEmpty(t, acts)
	for _, f := range append(acts, wfs...) {
		findings, err := CheckFile(f)
		require.NoError(t, err)
		for _, fd := range findings {
			rel, _ := filepath.Rel(root, fd.File)
			fd.File = rel
			t.Error(fd.String())
		}
	}
}

func TestCheckFile_FindsEveryBrokenRule(t *testing.T) {
	var got []string
	for _, f := range []string{"testdata/bad/action.yml", "testdata/bad/workflow.yml"} {
		findings, err := CheckFile(f)
		require.NoError(t, err)
		for _, fd := range findings {
			got = append(got, fd.String())
		}
	}
	assert.Equal(t, []string{
		"testdata/bad/action.yml:11:13: actions/setup-go@v5 is not pinned by a full commit SHA: use owner/repo@<40-hex sha> # vX.Y.Z [unpinned]",
		"testdata/bad/action.yml:12:13: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 is pinned by SHA but has no version comment: add # vX.Y.Z [unpinned]",
		"testdata/bad/action.yml:16:12: a ${{ }} expression inside run: is script injection waiting to happen: pass the value through env: and use \"$VAR\" [expression-in-run]",
		"testdata/bad/action.yml:6:3: input \"dry-run\" never reaches the binary: add FLIGHTLINE_INPUT_DRY_RUN: ${{ inputs.dry-run }} to the env: of the step that runs flightline [input-not-mapped]",
		"testdata/bad/workflow.yml:4:3: job \"a\" has no permissions: and the workflow sets none: declare least privilege (for example contents: read) [permissions]",
		"testdata/bad/workflow.yml:11:7: permission contents: write has no comment saying why it is needed [permissions]",
		"testdata/bad/workflow.yml:17:18: permissions: write-all is not least privilege: list each scope with a comment [permissions]",
	}, got)
}

// actionlint checks every workflow (and the local actions they use), with shellcheck on their
// run: scripts.
func TestActionlint(t *testing.T) {
	bin := testenv.LookPath(t, "actionlint", "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
	testenv.LookPath(t, "shellcheck", "apt-get install shellcheck")
	root, _, wfs := files(t)
	require.NotEmpty(t, wfs)
	cmd := exec.Command(bin, append([]string{"-no-color"}, wfs...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "actionlint:\n%s", out)
}

func TestShellcheck_Scripts(t *testing.T) {
	bin := testenv.LookPath(t, "shellcheck", "apt-get install shellcheck")
	root := acttest.RepoRoot(t)
	scripts := append(glob(t, root, "scripts/*.sh"), filepath.Join(root, ".ci/run"))
	for _, s := range scripts {
		_, err := os.Stat(s)
		require.NoError(t, err)
	}
	out, err := exec.Command(bin, scripts...).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s", out)
}
