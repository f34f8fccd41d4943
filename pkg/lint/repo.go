package lint

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Repo is the tree being linted: a directory and the files in it that linters may look at.
type Repo struct {
	// Dir is the working directory, absolute: linters run there.
	Dir string
	// Prefix is Dir relative to the repository root ("" when Dir is the root), with forward
	// slashes; findings are reported relative to the root so that annotations and SARIF land.
	Prefix string
	// Files are the files under Dir, relative to it with forward slashes, sorted: those git
	// tracks or would track (git ls-files), or, outside a git work tree, every file; without
	// anything under a directory named in SkipDirs.
	Files []string
}

// SkipDirs are directories never linted, wherever they are: fixtures with deliberate problems
// (testdata, which the Go tools skip too), vendored and installed dependencies, and VCS data.
var SkipDirs = []string{"testdata", "vendor", "node_modules", ".git", "__pycache__", ".venv", ".tox"}

// OpenRepo lists the files of dir. Paths in findings are made relative to root (the repository
// root, usually the git top level); root empty means dir.
func OpenRepo(ctx context.Context, dir, root string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("working directory %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("working directory %q is not a directory", dir)
	}
	r := &Repo{Dir: abs}
	if root != "" {
		rootAbs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(rootAbs, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("working directory %q is outside the repository root %q", dir, root)
		}
		if rel != "." {
			r.Prefix = filepath.ToSlash(rel)
		}
	}
	files, err := gitFiles(ctx, abs)
	if err != nil {
		files, err = walkFiles(abs)
		if err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if !skipped(f) {
			r.Files = append(r.Files, f)
		}
	}
	slices.Sort(r.Files)
	r.Files = slices.Compact(r.Files)
	return r, nil
}

func skipped(f string) bool {
	for _, seg := range strings.Split(path.Dir(f), "/") {
		if slices.Contains(SkipDirs, seg) {
			return true
		}
	}
	return false
}

func gitFiles(ctx context.Context, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Split(out.String(), "\x00") {
		if f == "" {
			continue
		}
		// Deleted but still tracked files are listed too; only what exists can be linted.
		if fi, err := os.Lstat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	return files, nil
}

func walkFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && slices.Contains(SkipDirs, d.Name()) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing files under %s: %w", dir, err)
	}
	return files, nil
}

// Match returns the files whose base name matches one of the patterns (path.Match syntax).
func (r *Repo) Match(patterns ...string) []string {
	var out []string
	for _, f := range r.Files {
		base := path.Base(f)
		for _, p := range patterns {
			if ok, _ := path.Match(p, base); ok {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// Has reports whether the file (relative to Dir) exists in the listing.
func (r *Repo) Has(file string) bool {
	_, ok := slices.BinarySearch(r.Files, file)
	return ok
}

// Contains reports whether file (relative to Dir) exists and contains s.
func (r *Repo) Contains(file, s string) bool {
	b, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(file)))
	return err == nil && bytes.Contains(b, []byte(s))
}

// ShellScripts returns *.sh and *.bash files, and files without an extension whose first line
// is a sh or bash shebang.
func (r *Repo) ShellScripts() []string {
	var out []string
	for _, f := range r.Files {
		base := path.Base(f)
		switch ext := path.Ext(base); {
		case ext == ".sh" || ext == ".bash":
			out = append(out, f)
		case ext == "" && !strings.HasPrefix(base, "."):
			if isShellShebang(filepath.Join(r.Dir, filepath.FromSlash(f))) {
				out = append(out, f)
			}
		}
	}
	return out
}

func isShellShebang(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	if !strings.HasPrefix(line, "#!") {
		return false
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return false
	}
	prog := path.Base(fields[0])
	if prog == "env" && len(fields) > 1 {
		prog = fields[1]
	}
	return prog == "sh" || prog == "bash" || prog == "dash" || prog == "ksh"
}

// GoModules returns the directories (relative to Dir, "." for Dir itself) that hold a go.mod;
// when none does but Dir holds Go files inside a module whose go.mod is above it (up to the
// repository root; a service in a subdirectory of the repository's module), Dir itself.
func (r *Repo) GoModules() []string {
	var out []string
	for _, f := range r.Match("go.mod") {
		out = append(out, path.Dir(f))
	}
	if len(out) == 0 && len(r.Match("*.go")) > 0 && r.insideModule() {
		out = append(out, ".")
	}
	return out
}

// insideModule reports whether a directory above Dir, up to the repository root, holds a go.mod.
func (r *Repo) insideModule() bool {
	dir := r.Dir
	for range strings.Split(r.Prefix, "/") {
		if r.Prefix == "" {
			return false
		}
		dir = filepath.Dir(dir)
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// rel turns a path a tool printed (absolute, or relative to the directory it ran in, which is
// inDir relative to Dir) into a path relative to the repository root.
func (r *Repo) rel(inDir, p string) string {
	if p == "" {
		return ""
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.Dir, filepath.FromSlash(inDir), p)
	}
	rel, err := filepath.Rel(r.Dir, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		// Outside the working directory (a resolved symlink, say): keep it as the tool said.
		if resolved, err2 := filepath.EvalSymlinks(r.Dir); err2 == nil {
			if rel2, err3 := filepath.Rel(resolved, p); err3 == nil && !strings.HasPrefix(rel2, "..") {
				rel, err = rel2, nil
			}
		}
		if err != nil || strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(p)
		}
	}
	rel = filepath.ToSlash(rel)
	if r.Prefix != "" {
		rel = r.Prefix + "/" + rel
	}
	return rel
}
