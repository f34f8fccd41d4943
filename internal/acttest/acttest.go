package acttest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
)

// Options says which workflow to run and with what.
type Options struct {
	// Workflow is the workflow file to run: a path relative to the repository root (a real
	// workflow such as .github/workflows/rollback.yml) or an absolute path (a test workflow
	// under some testdata/), which is copied into the run's .github/workflows/.
	Workflow string
	// Event is the event to trigger (default push).
	Event string
	// Job limits the run to one job (optional).
	Job string
	// Inputs are workflow_dispatch inputs (--input k=v).
	Inputs map[string]string
	// Env is extra environment for every step (--env k=v).
	Env map[string]string
	// Secrets are workflow secrets (-s K=V).
	Secrets map[string]string
	// Files are extra files written into the repository copy before it is committed.
	Files map[string]string
	// EventJSON is the event payload (act -e); @HEAD@ in it becomes the copy's commit SHA (a
	// pull_request's base.sha, say).
	EventJSON string
	// Timeout bounds the act run (default 10 minutes).
	Timeout time.Duration
	// Setup says where the actions' set-up (scripts/setup.sh) takes the binary from: SetupRelease
	// (the default) or SetupSource.
	Setup Setup

	// releaseHost, when set, replaces the in-process release host's handler (tests of the
	// set-up's failure paths); it is given the asset's path and bytes.
	releaseHost func(path string, asset []byte) http.Handler
}

// Setup is where the set-up takes the flightline binary from under act.
type Setup int

const (
	// SetupRelease: the repository copy holds a release made for the test (the lean binary, built
	// once per source tree with the host's Go and the release flags, its hash in
	// release/SHA256SUMS, the tree's digest in release/source.sha256), served by an in-process
	// release host (FLIGHTLINE_RELEASE_BASE_URL). The set-up takes the download-and-verify path of
	// a pinned release, as every consumer of a release does.
	SetupRelease Setup = iota
	// SetupSource: the copy holds no release, so the set-up builds from source with the Go of
	// release/go-version (a cold compile in a private cache: minutes on 2 cores).
	SetupSource
)

// Result is what a run left behind.
type Result struct {
	// Outputs are the name=value pairs that the workflow's steps appended to the file named by
	// $FLIGHTLINE_TEST_OUT (a test workflow's last step records the outputs it wants to check).
	Outputs map[string]string
	// Summary is the step summary markdown as act collected it ($GITHUB_STEP_SUMMARY).
	Summary string
	// Log is act's whole output.
	Log string
	// Repo is the repository copy the workflow ran in.
	Repo string
	// Err is act's exit error (nil when the workflow succeeded).
	Err error
}

// Act returns the path of the act binary, skipping the test when it is missing (failing under
// CI=true).
func Act(t testing.TB) string {
	return testenv.LookPath(t, "act", "go install github.com/nektos/act@v0.2.89 (or run .ci/run)")
}

// RepoRoot returns the root of this repository (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("acttest: no go.mod above the test's directory")
		}
		dir = parent
	}
}

var pinnedUses = regexp.MustCompile(`uses:\s*([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40})`)

// Run copies the repository (tracked and untracked, not ignored files) into a temporary git
// repository with a github.com origin, runs the workflow under act on the host
// (-P ubuntu-latest=-self-hosted), and returns what it left. Remote actions pinned by SHA cannot
// be fetched offline: each is replaced by a stand-in that fails if it ever runs, so steps using
// them must be skipped under act (if: env.ACT != 'true').
func Run(t testing.TB, o Options) Result {
	t.Helper()
	act := Act(t)
	root := RepoRoot(t)
	repo := filepath.Join(t.TempDir(), "repo")
	copyRepo(t, root, repo)

	wf := o.Workflow
	if filepath.IsAbs(wf) {
		data, err := os.ReadFile(wf)
		if err != nil {
			t.Fatalf("acttest: reading workflow: %v", err)
		}
		rel := filepath.Join(".github", "workflows", "acttest-"+filepath.Base(wf))
		writeFile(t, filepath.Join(repo, rel), string(data))
		wf = rel
	}
	for name, content := range o.Files {
		writeFile(t, filepath.Join(repo, name), content)
	}
	env := map[string]string{"FLIGHTLINE_HOME": t.TempDir()} // a fresh $RUNNER_TEMP/flightline, as in a new job
	switch o.Setup {
	case SetupRelease:
		env["FLIGHTLINE_RELEASE_BASE_URL"] = serveRelease(t, repo, o.releaseHost)
	case SetupSource:
		for _, f := range []string{"version", "SHA256SUMS", "source.sha256"} {
			if err := os.Remove(filepath.Join(repo, "release", f)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	for k, v := range o.Env {
		env[k] = v
	}
	git(t, repo, "init", "-q", "-b", "main")
	git(t, repo, "add", "-A")
	git(t, repo, "-c", "user.name=acttest", "-c", "user.email=acttest@flightline.invalid", "commit", "-q", "-m", "acttest copy")
	git(t, repo, "remote", "add", "origin", "https://github.com/labrats-work/flightline.git")

	scratch := t.TempDir()
	outFile := filepath.Join(scratch, "outputs")
	stub := filepath.Join(scratch, "remote-action-stand-in")
	writeFile(t, filepath.Join(stub, "action.yml"), standIn)

	event := o.Event
	if event == "" {
		event = "push"
	}
	args := []string{event, "-W", wf, "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode",
		"--env", "FLIGHTLINE_TEST_OUT=" + outFile}
	if o.EventJSON != "" {
		head, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("acttest: git rev-parse HEAD: %v", err)
		}
		eventFile := filepath.Join(scratch, "event.json")
		writeFile(t, eventFile, strings.ReplaceAll(o.EventJSON, "@HEAD@", strings.TrimSpace(string(head))))
		args = append(args, "-e", eventFile)
	}
	if o.Job != "" {
		args = append(args, "-j", o.Job)
	}
	for _, ref := range remoteActions(t, repo) {
		args = append(args, "--local-repository", ref+"="+stub)
	}
	for _, k := range actions.SortedKeys(o.Inputs) {
		args = append(args, "--input", k+"="+o.Inputs[k])
	}
	for _, k := range actions.SortedKeys(env) {
		args = append(args, "--env", k+"="+env[k])
	}
	for _, k := range actions.SortedKeys(o.Secrets) {
		args = append(args, "-s", k+"="+o.Secrets[k])
	}

	timeout := o.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("act did not finish within %s: %w", timeout, ctx.Err())
	}
	res := Result{Log: log.String(), Repo: repo, Err: err, Outputs: map[string]string{}}
	if b, rerr := os.ReadFile(outFile); rerr == nil {
		outs, perr := actions.ParseOutputs(string(b))
		if perr != nil {
			t.Fatalf("acttest: reading recorded outputs: %v", perr)
		}
		res.Outputs = outs
	}
	res.Summary = summaryFromLog(res.Log)
	return res
}

// standIn is the action that replaces remote actions under act: loading it works, running it
// fails loudly, so a step that forgot `if: env.ACT != 'true'` cannot pass by accident.
const standIn = `name: offline stand-in
description: Replaces a remote action that act cannot fetch offline.
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        echo "acttest - a remote action ran under act; guard its step with if env.ACT != 'true'" >&2
        exit 1
`

// remoteActions lists every owner/repo@sha that the repository's actions and workflows use.
func remoteActions(t testing.TB, repo string) []string {
	seen := map[string]bool{}
	_ = filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, m := range pinnedUses.FindAllStringSubmatch(string(b), -1) {
			ref := m[1]
			// owner/repo/sub/path@sha → owner/repo@sha
			name, sha, _ := strings.Cut(ref, "@")
			parts := strings.SplitN(name, "/", 3)
			seen[parts[0]+"/"+parts[1]+"@"+sha] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// summaryFromLog collects the step summaries act prints as "⚙  Summary - <markdown>" blocks.
func summaryFromLog(log string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "Summary - "); i >= 0 && strings.HasPrefix(line, "[") {
			in = true
			b.WriteString(line[i+len("Summary - "):] + "\n")
			continue
		}
		if in && strings.HasPrefix(line, "[") {
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func copyRepo(t testing.TB, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "-c", "-o", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("acttest: listing the repository's files: %v", err)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a plain file
		}
		if err := copyFile(src, filepath.Join(dst, rel), fi.Mode()); err != nil {
			t.Fatalf("acttest: copying %s: %v", rel, err)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("acttest: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
