package scan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestParseIgnoreFile_FlightlineRule(t *testing.T) {
	f, err := ParseIgnoreFile("testdata/ignore-mixed.yaml", true, testNow)
	require.NoError(t, err)
	require.Len(t, f.Entries, 5)
	got := map[string]string{}
	for _, e := range f.Entries {
		got[e.ID] = e.Problem
	}
	assert.Empty(t, got["CVE-2099-0002"])
	assert.Empty(t, got["CVE-2099-9999"])
	assert.Contains(t, got["CVE-2099-0006"], "expired on 2020-01-01")
	assert.Contains(t, got["CVE-2099-0001"], "no statement")
	assert.Contains(t, got["CVE-2099-0003"], "no expired_at")
	assert.Equal(t, 6, f.Entries[1].Line)
	assert.Equal(t, "testdata/ignore-mixed.yaml:3", f.Entries[0].Where())
	assert.Len(t, f.Active(), 2)
	assert.Equal(t, []string{"usr/lib/**"}, f.Entries[2].Paths)

	// The active copy Trivy reads holds only the honoured entries, with their statements.
	out := filepath.Join(t.TempDir(), "active.yaml")
	require.NoError(t, f.writeActive(out))
	again, err := ParseIgnoreFile(out, true, testNow)
	require.NoError(t, err)
	require.Len(t, again.Entries, 2)
	assert.Equal(t, "busybox is not reachable from the agent's entrypoint", again.Entries[0].Statement)
	assert.Equal(t, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), again.Entries[0].ExpiredAt)
}

func TestParseIgnoreFile_Malformed(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not yaml", "vulnerabilities:\n  - id: [\n", "x.yaml:2: did not find expected node content"},
		{"unknown section", "vulns:\n  - id: CVE-1\n", `x.yaml:1: unknown section "vulns"`},
		{"unknown key", "vulnerabilities:\n  - id: CVE-1\n    statment: typo\n", `x.yaml:3: unknown key "statment" in an entry: want id, paths, purls, statement, expired_at`},
		{"bad date", "vulnerabilities:\n  - id: CVE-1\n    statement: s\n    expired_at: next year\n", `x.yaml:4: expired_at: "next year" is not a date`},
		{"no id", "vulnerabilities:\n  - statement: s\n    expired_at: 2999-01-01\n", "x.yaml:2: entry without id"},
		{"not a list", "vulnerabilities: CVE-1\n", "x.yaml:1: vulnerabilities: want a list"},
		{"bad purl", "vulnerabilities:\n  - id: CVE-1\n    purls: [openssl]\n", `x.yaml:3: purls: "openssl" is not a package URL`},
		{"root is a list", "- id: CVE-1\n", "x.yaml:1: want a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.yaml), 0o644))
			_, err := ParseIgnoreFile(p, true, testNow)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrIgnoreFile), err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), p+":", "file:line: message")
		})
	}
}

func TestParseIgnoreFile_MissingAndOtherFormats(t *testing.T) {
	f, err := ParseIgnoreFile(filepath.Join(t.TempDir(), ".trivyignore.yaml"), false, testNow)
	require.NoError(t, err, "the default file may be absent")
	assert.Empty(t, f.Entries)
	_, err = ParseIgnoreFile(filepath.Join(t.TempDir(), "given.yaml"), true, testNow)
	assert.ErrorContains(t, err, "no such file", "a file given explicitly must exist")
	p := filepath.Join(t.TempDir(), ".trivyignore")
	require.NoError(t, os.WriteFile(p, []byte("CVE-1\n"), 0o644))
	_, err = ParseIgnoreFile(p, true, testNow)
	assert.ErrorContains(t, err, "only Trivy's YAML ignore format")
	e := filepath.Join(t.TempDir(), "empty.yaml")
	require.NoError(t, os.WriteFile(e, nil, 0o644))
	f, err = ParseIgnoreFile(e, true, testNow)
	require.NoError(t, err)
	assert.Empty(t, f.Entries)
}

func FuzzParseIgnoreFile(f *testing.F) {
	seed, _ := os.ReadFile("testdata/ignore-mixed.yaml")
	f.Add(seed)
	f.Add([]byte("vulnerabilities:\n  - id: x\n    paths: [\"[\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ParseIgnoreFile(p, true, testNow)
		if err != nil {
			if !errors.Is(err, ErrIgnoreFile) {
				t.Fatalf("error not ErrIgnoreFile: %v", err)
			}
			return
		}
		for _, e := range got.Active() {
			if e.ID == "" || e.Statement == "" || e.ExpiredAt.IsZero() {
				t.Fatalf("honoured an entry that breaks the rule: %+v", e)
			}
		}
	})
}
