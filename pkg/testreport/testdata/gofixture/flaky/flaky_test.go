// Package flaky has a test that fails on its first run only: it leaves a marker file in the
// directory FIXTURE_FLAKY_DIR the first time and passes when the marker is there.
package flaky

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFlaky(t *testing.T) {
	dir := os.Getenv("FIXTURE_FLAKY_DIR")
	if dir == "" {
		t.Skip("FIXTURE_FLAKY_DIR not set")
	}
	marker := filepath.Join(dir, "ran-once")
	if _, err := os.Stat(marker); err != nil {
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("first run fails (marker %s written)", marker)
	}
}

func TestAlwaysFails(t *testing.T) {
	if os.Getenv("FIXTURE_FLAKY_DIR") != "" {
		t.Error("always fails")
	}
}

func TestStable(t *testing.T) {}
