package testreport

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// NewLocator returns the Locator for tests run (or reports read) in workDir, with annotations
// relative to root: the Go module around workDir (its go.mod's module line) maps import paths
// to directories.
func NewLocator(root, workDir string) Locator {
	l := Locator{Root: filepath.Clean(root), WorkDir: filepath.Clean(workDir)}
	for dir := l.WorkDir; ; dir = filepath.Dir(dir) {
		if mod := modulePath(filepath.Join(dir, "go.mod")); mod != "" {
			l.ModulePath, l.ModuleDir = mod, dir
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return l
}

func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
