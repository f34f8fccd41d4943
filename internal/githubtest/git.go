package githubtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const zeroOID = "0000000000000000000000000000000000000000"

// errConflict: a merge or revert does not apply cleanly.
var errConflict = errors.New("merge conflict")

// errStale: a compare-and-swap on a ref lost.
var errStale = errors.New("ref moved")

// gitRepo is a bare repository driven by the git binary; it only ever touches refs and objects.
type gitRepo struct {
	git string
	dir string
	// tips caches every branch tip (one for-each-ref) until a ref changes; every ref change
	// goes through updateRef, under the server's lock.
	tips map[string]string
}

// identity of every commit the emulator makes (GitHub commits as "GitHub").
const (
	botName  = "GitHub"
	botEmail = "noreply@github.com"
)

func (g *gitRepo) run(stdin []byte, env []string, args ...string) (string, error) {
	cmd := exec.Command(g.git, append([]string{"--git-dir", g.dir}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+botName, "GIT_AUTHOR_EMAIL="+botEmail,
		"GIT_COMMITTER_NAME="+botName, "GIT_COMMITTER_EMAIL="+botEmail)
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), &gitError{args: args, stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return out.String(), nil
}

type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, e.stderr)
}

func (e *gitError) exitCode() int {
	var ee *exec.ExitError
	if errors.As(e.err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func (g *gitRepo) line(args ...string) (string, error) {
	out, err := g.run(nil, nil, args...)
	return strings.TrimSpace(out), err
}

func (g *gitRepo) init() error {
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return err
	}
	_, err := g.run(nil, nil, "init", "-q", "--bare", "-b", "main")
	return err
}

// revParse resolves a ref or SHA to a commit.
func (g *gitRepo) revParse(ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("ref %q not found", ref)
	}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		if err := g.loadTips(); err != nil {
			return "", err
		}
		if sha, ok := g.tips[b]; ok {
			return sha, nil
		}
		return "", fmt.Errorf("branch %q not found", b)
	}
	return g.line("rev-parse", "--verify", "--quiet", ref+"^{commit}")
}

func (g *gitRepo) loadTips() error {
	if g.tips != nil {
		return nil
	}
	out, err := g.line("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	if err != nil {
		return err
	}
	tips := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if sha, ref, ok := strings.Cut(l, " "); ok {
			tips[strings.TrimPrefix(ref, "refs/heads/")] = sha
		}
	}
	g.tips = tips
	return nil
}

// resolve resolves a branch name, a full ref or a SHA.
func (g *gitRepo) resolve(ref string) (string, error) {
	if sha, err := g.revParse("refs/heads/" + ref); err == nil {
		return sha, nil
	}
	return g.revParse(ref)
}

func (g *gitRepo) readFile(commit, path string) ([]byte, error) {
	out, err := g.run(nil, nil, "cat-file", "blob", commit+":"+path)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func (g *gitRepo) tree(commit string) (string, error) { return g.line("rev-parse", commit+"^{tree}") }

func (g *gitRepo) parents(commit string) ([]string, error) {
	out, err := g.line("rev-list", "--parents", "-n", "1", commit)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(out)
	return f[1:], nil
}

func (g *gitRepo) branches() ([]string, error) {
	if err := g.loadTips(); err != nil {
		return nil, err
	}
	b := make([]string, 0, len(g.tips))
	for name := range g.tips {
		b = append(b, name)
	}
	sort.Strings(b)
	return b, nil
}

// commitFiles writes a commit on parent ("" for a root commit) with files set and deletions
// removed, through a throw-away index.
func (g *gitRepo) commitFiles(parent string, files map[string][]byte, deletions []string, msg string, when time.Time) (string, error) {
	return g.commitFilesAs("", parent, files, deletions, msg, when)
}

// commitFilesAs is commitFiles with the commit authored by login ("": the GitHub bot).
func (g *gitRepo) commitFilesAs(login, parent string, files map[string][]byte, deletions []string, msg string, when time.Time) (string, error) {
	tmp, err := os.MkdirTemp("", "githubtest-index-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if parent != "" {
		if _, err := g.run(nil, env, "read-tree", parent); err != nil {
			return "", err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		blob, err := g.run(files[p], nil, "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		if _, err := g.run(nil, env, "update-index", "--add", "--cacheinfo", "100644,"+strings.TrimSpace(blob)+","+p); err != nil {
			return "", err
		}
	}
	for _, p := range deletions {
		if _, err := g.run(nil, env, "update-index", "--force-remove", "--", p); err != nil {
			return "", err
		}
	}
	out, err := g.run(nil, env, "write-tree")
	if err != nil {
		return "", err
	}
	var parents []string
	if parent != "" {
		parents = []string{parent}
	}
	return g.commitTreeAs(login, strings.TrimSpace(out), msg, when, parents...)
}

func (g *gitRepo) commitTree(tree, msg string, when time.Time, parents ...string) (string, error) {
	return g.commitTreeAs("", tree, msg, when, parents...)
}

// authorEnv makes login the author of a commit, as GitHub records a user's commits: name the
// login, email LOGIN@users.noreply.github.com (the emulator reads the login back from the name).
func authorEnv(login string) []string {
	if login == "" {
		return nil
	}
	return []string{"GIT_AUTHOR_NAME=" + login, "GIT_AUTHOR_EMAIL=" + login + "@users.noreply.github.com"}
}

// commitTreeAs is commitTree with the commit authored by login ("": the GitHub bot).
func (g *gitRepo) commitTreeAs(login, tree, msg string, when time.Time, parents ...string) (string, error) {
	args := []string{"commit-tree", "--no-gpg-sign", tree, "-F", "-"}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	date := fmt.Sprintf("@%d +0000", when.Unix())
	out, err := g.run([]byte(msg), append([]string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, authorEnv(login)...), args...)
	return strings.TrimSpace(out), err
}

// commitInfo is what the commits routes tell about a commit.
type commitInfo struct {
	sha, author, message string
	parents              []string
}

// commitsOf lists the commits `git log ARGS` selects (newest first unless args say otherwise).
func (g *gitRepo) commitsOf(args ...string) ([]commitInfo, error) {
	out, err := g.run(nil, nil, append([]string{"log", "-z", "--format=%H%n%P%n%an%n%B"}, args...)...)
	if err != nil {
		return nil, err
	}
	var list []commitInfo
	for rec := range strings.SplitSeq(out, "\x00") {
		rec = strings.TrimPrefix(rec, "\n")
		if strings.TrimSpace(rec) == "" {
			continue
		}
		f := strings.SplitN(rec, "\n", 4)
		for len(f) < 4 {
			f = append(f, "")
		}
		list = append(list, commitInfo{sha: f[0], parents: strings.Fields(f[1]), author: f[2], message: f[3]})
	}
	return list, nil
}

// changedFiles lists the paths commit changes compared with its first parent (every path for
// a root commit), as GitHub's single-commit answer does.
func (g *gitRepo) changedFiles(commit string) ([]string, error) {
	parents, err := g.parents(commit)
	if err != nil {
		return nil, err
	}
	args := []string{"diff-tree", "-r", "--no-commit-id", "--name-only", "--root", commit}
	if len(parents) > 0 {
		args = []string{"diff-tree", "-r", "--no-commit-id", "--name-only", parents[0], commit}
	}
	out, err := g.run(nil, nil, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// updateRef moves ref to newSHA if it points at old (old "": must not exist; newSHA "":
// delete). A lost race is errStale.
func (g *gitRepo) updateRef(ref, newSHA, old string) error {
	if old == "" {
		old = zeroOID
	}
	g.tips = nil
	var err error
	if newSHA == "" {
		_, err = g.run(nil, nil, "update-ref", "-d", ref, old)
	} else {
		_, err = g.run(nil, nil, "update-ref", ref, newSHA, old)
	}
	var ge *gitError
	if errors.As(err, &ge) && ge.exitCode() > 0 {
		return fmt.Errorf("%w: %v", errStale, err)
	}
	return err
}

// mergeTrees merges ours and theirs with `git merge-tree --write-tree` (the merge base is
// found by git) and returns the tree; errConflict names the conflicting files.
func (g *gitRepo) mergeTrees(ours, theirs string) (string, error) {
	out, err := g.run(nil, nil, "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs)
	var ge *gitError
	if errors.As(err, &ge) && ge.exitCode() == 1 {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return "", fmt.Errorf("%w in %s", errConflict, strings.Join(lines[1:], ", "))
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]), nil
}

// revertTree computes the tree of head with commit undone: the three-way merge whose base is
// commit, ours head and theirs commit's first parent.
//
// `git merge-tree --merge-base=X` would state that merge directly, but it arrived in git 2.40
// and these machines have 2.39. The same merge is obtained by handing `merge-tree
// --write-tree` two throw-away commits — one with head's tree, one with the parent's tree —
// that share a single root commit carrying commit's tree: git then finds exactly that root as
// the merge base. The three helper commits are never referenced (gc removes them); the revert
// commit the caller makes has the real head as its only parent.
func (g *gitRepo) revertTree(head, commit string, when time.Time) (string, error) {
	parents, err := g.parents(commit)
	if err != nil {
		return "", err
	}
	if len(parents) == 0 {
		return "", errors.New("cannot revert a root commit")
	}
	commitTree, err := g.tree(commit)
	if err != nil {
		return "", err
	}
	headTree, err := g.tree(head)
	if err != nil {
		return "", err
	}
	parentTree, err := g.tree(parents[0])
	if err != nil {
		return "", err
	}
	const note = "githubtest: helper commit for a three-way revert; never referenced\n"
	root, err := g.commitTree(commitTree, note, when)
	if err != nil {
		return "", err
	}
	ours, err := g.commitTree(headTree, note, when, root)
	if err != nil {
		return "", err
	}
	theirs, err := g.commitTree(parentTree, note, when, root)
	if err != nil {
		return "", err
	}
	return g.mergeTrees(ours, theirs)
}
