package imagepolicy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fluxversion "github.com/fluxcd/pkg/version"
	"gopkg.in/yaml.v3"
)

// FuzzSetRange checks the editor's promise on any input: an error and no data, or a file that
// differs from the input on one line only and decodes to the same documents except for the one
// range value. ErrVerify (the editor's own safety net catching a mistake) counts as a failure.
func FuzzSetRange(f *testing.F) {
	for _, dir := range []string{"testdata/set", "testdata/errors"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for _, rng := range []string{"1.5.0", ">=1.4.0 <2.0.0", "*", "~1.5.0", "1.10"} {
				f.Add(data, "apps", "agent", rng)
			}
			f.Add(data, "flux-system", "ai-agents-api", "1.5.0, <2")
			f.Add(data, "prod", "agent", "1.5.0-rc.1")
			f.Add(data, "", "agent", "^1.5")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, ns, name, rng string) {
		ref := Ref{Namespace: ns, Name: name}
		out, err := SetRange(data, ref, rng)
		checkEdit(t, data, ref, rng, out, err)
	})
}

// FuzzSetRangeFormats builds ImagePolicy documents in the formats the editor must keep (line
// ends, BOM, final newline, quote styles, flow maps, value on its own line, comments, documents
// around it) from fuzzed pieces, so that most inputs are valid and the success path is explored.
func FuzzSetRangeFormats(f *testing.F) {
	f.Add(uint8(0), false, true, uint8(0), uint8(0), "1.4.0", "1.5.0", " pinned", "")
	f.Add(uint8(1), true, false, uint8(1), uint8(1), "1.4.0", ">=1.5.0 <2", "", "kind: ConfigMap\n")
	f.Add(uint8(2), false, true, uint8(2), uint8(2), "~1.4", "*", "x: y", "a: [1, 2]")
	f.Add(uint8(0), true, true, uint8(0), uint8(3), "1.4.0", "1.10", "# c", "---")
	f.Add(uint8(1), false, false, uint8(2), uint8(4), "it's", "1.5.0, <2.0.0", "\u00e4", "...")
	f.Fuzz(func(t *testing.T, eol uint8, bom, finalNewline bool, style, layout uint8, old, rng, comment, other string) {
		if ValidateRange(rng) != nil {
			// Keep the fuzzer on the editing path rather than on range validation.
			rng = fuzzRanges[len(rng)%len(fuzzRanges)]
		}
		data := formatCase(eol, bom, finalNewline, style, layout, old, comment, other)
		ref := Ref{Namespace: "apps", Name: "agent"}
		out, err := SetRange([]byte(data), ref, rng)
		checkEdit(t, []byte(data), ref, rng, out, err)
	})
}

// fuzzRanges are valid ranges that YAML may misread when written plain.
var fuzzRanges = []string{"1.5.0", ">=1.5.0", "*", "1.10", "~1.5.0", "1.5.0, <2.0.0", "^1.5", "!=1.4.0",
	"1.5.0 || 1.6.0", "=1.5.0", "<2", "1.x", "x", ">=1.0.0-0 <2.0.0", " 1.5.0", "1.5.0 "}

// formatCase builds one ImagePolicy document (apps/agent) for FuzzSetRangeFormats.
func formatCase(eol uint8, bom, finalNewline bool, style, layout uint8, old, comment, other string) string {
	nl := []string{"\n", "\r\n", "\r"}[eol%3]
	var v string
	switch style % 3 {
	case 0:
		v = old
	case 1:
		v = "'" + strings.ReplaceAll(old, "'", "''") + "'"
	default:
		v = doubleQuote(old)
	}
	if comment != "" {
		v += " #" + comment
	}
	var lines []string
	if other != "" {
		lines = append(lines, other, "---")
	}
	lines = append(lines, "apiVersion: image.toolkit.fluxcd.io/v1", "kind: ImagePolicy",
		"metadata: {name: agent, namespace: apps}", "spec:", "  policy:")
	switch layout % 5 {
	case 0:
		lines = append(lines, "    semver:", "      range: "+v)
	case 1:
		lines = append(lines, "    semver: {range: "+v+"}")
	case 2:
		lines = append(lines, "    {semver: {other: x, range: "+v+"}}")
	case 3:
		lines = append(lines, "    semver:", "      range:", "        "+v)
	default:
		lines = append(lines, "    semver:", "      ? range", "      : "+v)
	}
	if other != "" {
		lines = append(lines, "---", other)
	}
	data := strings.Join(lines, nl)
	if finalNewline {
		data += nl
	}
	if bom {
		data = "\ufeff" + data
	}
	return data
}

// checkEdit asserts the editor's promise for one call, independently of its own verification.
func checkEdit(t *testing.T, data []byte, ref Ref, rng string, out []byte, err error) {
	t.Helper()
	if err != nil {
		if out != nil {
			t.Fatalf("error %v with output", err)
		}
		if errors.Is(err, ErrVerify) {
			t.Fatalf("the editor caught its own mistake: %v", err)
		}
		return
	}
	// The bytes that differ lie on one line.
	p := 0
	for p < len(data) && p < len(out) && data[p] == out[p] {
		p++
	}
	s := 0
	for s < len(data)-p && s < len(out)-p && data[len(data)-1-s] == out[len(out)-1-s] {
		s++
	}
	for _, mid := range [][]byte{data[p : len(data)-s], out[p : len(out)-s]} {
		if bytes.ContainsAny(mid, "\r\n") || bytes.Contains(mid, []byte("\u2028")) || bytes.Contains(mid, []byte("\u2029")) || bytes.Contains(mid, []byte("\u0085")) {
			t.Fatalf("the edit spans lines: %q -> %q", data[p:len(data)-s], out[p:len(out)-s])
		}
	}
	got, err := Find(out, ref)
	if err != nil || got.Range != rng {
		t.Fatalf("the edited file reads %q, %v; want %q", got.Range, err, rng)
	}
	// Decoded as plain values, the documents are equal once the range is set in the original.
	before, err := decodeAll(data)
	if err != nil {
		return // the original has something plain decoding refuses (e.g. duplicate keys)
	}
	after, err := decodeAll(out)
	if err != nil {
		t.Fatalf("the edited file no longer decodes: %v", err)
	}
	if len(before) != len(after) {
		t.Fatalf("%d documents became %d", len(before), len(after))
	}
	changed := 0
	for i := range before {
		b, a := fmt.Sprintf("%#v", before[i]), fmt.Sprintf("%#v", after[i])
		if b == a {
			continue
		}
		changed++
		if !setRangeValue(before[i], ref, rng) || fmt.Sprintf("%#v", before[i]) != a {
			t.Fatalf("document %d changed beyond the range:\n%s\n%s", i+1, b, a)
		}
	}
	if changed > 1 {
		t.Fatalf("%d documents changed", changed)
	}
}

func decodeAll(data []byte) (docs []any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		docs = append(docs, v)
	}
}

// setRangeValue sets spec.policy.semver.range in a decoded document, or in the ImagePolicy ref
// among the items of a kind: List.
func setRangeValue(doc any, ref Ref, rng string) bool {
	if top, ok := doc.(map[string]any); ok {
		if kind, _ := top["kind"].(string); strings.HasSuffix(kind, "List") {
			items, _ := top["items"].([]any)
			for _, it := range items {
				o, _ := it.(map[string]any)
				md, _ := o["metadata"].(map[string]any)
				if k, _ := o["kind"].(string); k == "ImagePolicy" && md["name"] == ref.Name && (md["namespace"] == ref.Namespace || md["namespace"] == nil && ref.Namespace == "") {
					return setRangeValue(it, ref, rng)
				}
			}
		}
	}
	m := doc
	for _, k := range []string{"spec", "policy", "semver"} {
		mm, ok := m.(map[string]any)
		if !ok {
			return false
		}
		m = mm[k]
	}
	mm, ok := m.(map[string]any)
	if !ok {
		return false
	}
	mm["range"] = rng
	return true
}

// FuzzParseRef: a reference that parses prints back to the same text and parses to itself.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"flux-system/ai-agents", "agent", "/agent", "a/b/c", "A/b", "", "apps/agent.v2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) || !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("error for %q does not name the input: %v", s, err)
			}
			return
		}
		if r.String() != s {
			t.Fatalf("%q parses to %#v, which prints as %q", s, r, r.String())
		}
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("%q does not round-trip: %#v, %v", s, again, err)
		}
	})
}

// FuzzSelect: the selected tag satisfies the range and no satisfying tag is higher.
func FuzzSelect(f *testing.F) {
	f.Add(">=1.0.0", "1.4.0,v1.5.0,1.6.0-rc.1,latest")
	f.Add("~1.5.0-rc.1", "1.5.0-rc.1,1.5.0-rc.2,1.5.0")
	f.Add("1.5.0", "1.5.0,v1.5.0")
	f.Fuzz(func(t *testing.T, rng, list string) {
		tags := strings.Split(list, ",")
		tag, err := Select(rng, tags)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) && !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		c, err := parseRange(rng)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseVersion(tag)
		if err != nil || !c.Check(v) {
			t.Fatalf("selected %q does not satisfy %q", tag, rng)
		}
		// Flux's pick: no higher version qualifies, and no equal one is listed before it.
		first := slices.Index(tags, tag)
		for i, other := range tags {
			o, err := ParseVersion(other)
			if err == nil && c.Check(o) && (o.GreaterThan(v) || o.Equal(v) && i < first) {
				t.Fatalf("selected %q but %q qualifies before it", tag, other)
			}
		}
	})
}

// FuzzSelectAgainstFlux holds Select against fluxcd/pkg/version's own Sort (the same parse,
// the same constraint, a stable descending sort): Flux's pick is the head of that order.
func FuzzSelectAgainstFlux(f *testing.F) {
	f.Add(">=1.0.0", "1.4.0,v1.5.0,1.6.0-rc.1,latest")
	f.Add(">=2024.1.0", "2024.01.15,2024.02.01,2024.2.1")
	f.Add(">=1.1.0-0", "v1.2-beta.5,1.2.0-beta.5,v1.1.0")
	f.Add("1.0.0", "v1.0.0,1.0.0,01.0.0")
	f.Fuzz(func(t *testing.T, rng, list string) {
		c, err := parseRange(rng)
		if err != nil {
			return
		}
		tags := strings.Split(list, ",")
		sorted := fluxversion.Sort(c, tags)
		got, err := Select(rng, tags)
		if len(sorted) == 0 {
			if !errors.Is(err, ErrNoMatch) {
				t.Fatalf("Flux selects nothing, Select says %q, %v", got, err)
			}
			return
		}
		if err != nil || got != sorted[0] {
			t.Fatalf("Flux selects %q, Select says %q, %v", sorted[0], got, err)
		}
	})
}

// FuzzSelector: with any filterTags and exclusion list, Select never panics, and what it picks
// reaches the range (Explain agrees) with a version inside it, no candidate above it.
func FuzzSelector(f *testing.F) {
	f.Add(`^prod-v(?P<v>.*)-[a-f0-9]+$`, "$v", `^.*\.sig$`, ">=1.0.0", "prod-v1.2.3-abc,prod-v1.3.0-def,1.4.0,prod-v1.3.0-def.sig")
	f.Add(`.*`, "", "", "1.0.0", "1.0.0,v1.0.0")
	f.Add(`^v?(?P<x>\d+\.\d+\.\d+)$`, "${x}", "rc", ">=1.0.0-0", "v1.0.0,1.0.0,1.1.0-rc.1")
	f.Add(`(`, "$1", "", "*", "a")
	f.Fuzz(func(t *testing.T, pattern, extract, exclusion, rng, list string) {
		var excl []string
		if exclusion != "" {
			excl = []string{exclusion}
		}
		s, err := NewSelector(Ref{Name: "p"}, &TagFilter{Pattern: pattern, Extract: extract}, excl, DefaultRules)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) && !errors.Is(err, ErrInvalidExclusion) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		tags := strings.Split(list, ",")
		tag, err := s.Select(rng, tags)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) && !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if !slices.Contains(tags, tag) {
			t.Fatalf("selected %q, not a listed tag", tag)
		}
		v, err := s.Version(tag)
		if err != nil {
			t.Fatalf("selected %q, which Explain drops: %v", tag, err)
		}
		c, _ := parseRange(rng)
		if !c.Check(v) {
			t.Fatalf("selected %q (%s) outside %q", tag, v, rng)
		}
		for _, other := range tags {
			if o, err := s.Version(other); err == nil && c.Check(o) && o.GreaterThan(v) {
				t.Fatalf("selected %q but %q is higher", tag, other)
			}
		}
	})
}
