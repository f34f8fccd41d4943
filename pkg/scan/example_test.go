package scan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/labrats-work/flightline/pkg/scan"
)

func ExampleReleaseFor() {
	r, err := scan.ReleaseFor("Linux", "X64") // RUNNER_OS, RUNNER_ARCH
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Archive)
	fmt.Println(r.SHA256)
	// Output:
	// trivy_0.74.0_Linux-64bit.tar.gz
	// 2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a
}

func ExampleParseIgnoreFile() {
	dir, _ := os.MkdirTemp("", "ignore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".trivyignore.yaml")
	_ = os.WriteFile(path, []byte(`vulnerabilities:
  - id: CVE-2024-0001
    statement: not reachable from the handlers
    expired_at: 2027-01-31
  - id: CVE-2024-0002
    expired_at: 2027-01-31
`), 0o644)
	f, err := scan.ParseIgnoreFile(path, true, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range f.Entries {
		if e.Problem == "" {
			fmt.Printf("%s line %d: honoured\n", e.ID, e.Line)
		} else {
			fmt.Printf("%s line %d: %s\n", e.ID, e.Line, e.Problem)
		}
	}
	// Output:
	// CVE-2024-0001 line 2: honoured
	// CVE-2024-0002 line 5: no statement: say why the finding is acceptable (statement:)
}
