package testreport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseGoJSON(f *testing.F) {
	for _, name := range []string{"pass", "fail", "panic", "buildfail"} {
		b, err := os.ReadFile(filepath.Join("testdata", "go", name+".jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Action":"run","Test":"A"}` + "\n" + `{"Action":"fail","Test":"A/b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseGoJSON("fuzz", bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		tt := s.Totals()
		if tt.Passed+tt.Failed+tt.Skipped+tt.Flaky > tt.Tests {
			t.Fatalf("totals do not add up: %+v", tt)
		}
		fixtureLocator.Locate(s)
	})
}

func FuzzParseJUnit(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "junit", "pytest.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`<testsuite name="x"><testcase name="a" file="../../etc/passwd" line="-3"><failure>/etc/x.py:1: boom</failure></testcase></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseJUnit("fuzz", bytes.NewReader(data), Locator{Root: "/repo", WorkDir: "/repo/w"})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		for _, tt := range s.Tests {
			if filepath.IsAbs(tt.File) || len(tt.File) >= 2 && tt.File[:2] == ".." {
				t.Fatalf("a location outside the repository: %q", tt.File)
			}
		}
	})
}
