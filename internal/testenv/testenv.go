package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing component is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// LookPath returns the path of a binary that an integration test needs. When it is missing the
// test is skipped with a reason naming the binary and how to install it, or, under CI=true,
// fails: CI must install every component (.ci/run).
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	Missing(t, name+" not found on PATH (install: "+install+")")
	return ""
}

// Missing skips the test with reason, or fails it under CI=true.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required component is missing: %s", reason)
	}
	t.Skipf("skipping: %s", reason)
}

// CIOnly skips a slow test that only CI needs to run (it still runs under CI=true, never out of
// CI), saying why and how to run it here.
func CIOnly(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		return
	}
	t.Skipf("skipping outside CI: %s; run it with CI=true go test -run '^%s$'", why, t.Name())
}
