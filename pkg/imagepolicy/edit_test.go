package imagepolicy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/set (review the diff!)")

func mustRef(t testing.TB, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	require.NoError(t, err)
	return r
}

// changedLines returns the 0-based indexes of the lines (split on \n) that differ between a and b,
// which must have the same number of lines.
func changedLines(t *testing.T, a, b []byte) []int {
	t.Helper()
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	require.Len(t, lb, len(la), "the edit must not add or remove lines")
	var diff []int
	for i := range la {
		if !bytes.Equal(la[i], lb[i]) {
			diff = append(diff, i)
		}
	}
	return diff
}

func TestSetRange_Golden(t *testing.T) {
	tests := []struct {
		file, ref, rng string
		wantLine       int    // 1-based line of the range value
		wantOld        string // the range before the edit
	}{
		{"multidoc", "flux-system/ai-agents-api", "1.5.0", 26, "1.4.0"},
		{"list", "apps/agent", "1.5.0", 25, "1.4.0"},
		{"v1beta1", "flux-system/podinfo", "~5.2.0", 24, ">=5.0.0 <6.0.0"},
		{"v1", "apps/agent", "~1.5.0", 9, "1.4.0"},
		{"single-quoted", "apps/agent", ">=1.5.0 <2.0.0", 11, "1.4.0"},
		{"double-quoted", "apps/agent", "~1.5.0", 11, "1.4.0"},
		{"plain-needs-quotes", "apps/agent", ">=1.4.0", 9, "1.4.0"},
		{"plain-star", "apps/agent", "*", 9, "1.4.0"},
		{"plain-float", "apps/agent", "1.10", 9, "1.4.0"},
		{"plain-tilde", "apps/agent", "~1.5.0", 9, "1.4.0"},
		{"flow", "apps/agent", "1.5.0", 6, "1.4.0"},
		{"flow-plain", "apps/agent", "1.5.0, <2.0.0", 4, "1.4.0"},
		{"markers", "apps/agent", "1.5.0", 17, "1.4.0"},
		{"two-namespaces", "prod/agent", "1.5.0", 19, "1.4.0"},
		{"no-namespace", "agent", "1.5.0", 9, "1.4.0"},
		{"unicode-tabs", "apps/agent", "1.5.0", 10, "1.4.0"},
		{"crlf", "apps/agent", "1.5.0", 9, "1.4.0"},
		{"crlf-no-final-newline", "apps/agent", "1.5.0", 9, "1.4.0"},
		{"bom", "apps/agent", ">=1.5.0", 4, "1.4.0"},
		{"no-final-newline", "apps/agent", "1.5.0", 9, "1.4.0"},
		{"line-separator", "apps/agent", "1.5.0", 9, "1.4.0"},
		{"cr-only", "apps/agent", "1.5.0", 7, "1.4.0"},
		{"value-next-line", "apps/agent", ">=1.5.0", 9, "1.4.0"},
		{"explicit-key", "apps/agent", "1.5.0", 8, "1.4.0#not-a-comment"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "set", tc.file+".yaml"))
			require.NoError(t, err)
			ref := mustRef(t, tc.ref)

			before, err := Find(in, ref)
			require.NoError(t, err)
			assert.Equal(t, tc.wantOld, before.Range)
			assert.Equal(t, tc.wantLine, before.Line)

			out, err := SetRange(in, ref, tc.rng)
			require.NoError(t, err)

			golden := filepath.Join("testdata", "set", tc.file+".golden.yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, out, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(out))

			// Independently of the golden file: one line changed, and it is the range's line
			// (line separators other than \n count as lines for YAML but not for this split).
			if tc.file != "line-separator" && tc.file != "cr-only" {
				assert.Equal(t, []int{tc.wantLine - 1}, changedLines(t, in, out))
			}
			after, err := Find(out, ref)
			require.NoError(t, err)
			assert.Equal(t, tc.rng, after.Range)
			assert.Equal(t, before.Line, after.Line)
			assert.Equal(t, before.Column, after.Column)

			// Setting the old range back restores the input byte for byte when the style is
			// unchanged (a plain value that had to be quoted stays quoted).
			if ValidateRange(tc.wantOld) != nil {
				return
			}
			back, err := SetRange(out, ref, tc.wantOld)
			require.NoError(t, err)
			if bytes.Count(out, []byte(`"`+tc.rng+`"`)) == bytes.Count(in, []byte(`"`+tc.wantOld+`"`)) {
				assert.Equal(t, string(in), string(back))
			}
		})
	}
}

func TestSetRange_OtherPoliciesUntouched(t *testing.T) {
	in, err := os.ReadFile("testdata/set/two-namespaces.yaml")
	require.NoError(t, err)
	out, err := SetRange(in, mustRef(t, "prod/agent"), "1.5.0")
	require.NoError(t, err)
	staging, err := Find(out, mustRef(t, "staging/agent"))
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", staging.Range)
	prod, err := Find(out, mustRef(t, "prod/agent"))
	require.NoError(t, err)
	assert.Equal(t, "1.5.0", prod.Range)
}

func TestSetRange_Errors(t *testing.T) {
	tests := []struct {
		file, ref, rng string
		want           error
		fragments      []string
	}{
		{"missing", "apps/agent", "1.5.0", ErrNotFound, []string{`"apps/agent" is not in the file`, "staging/agent (line 1)", "other (no metadata.namespace) (line 6)"}},
		{"missing", "flux-system/other", "1.5.0", ErrNotFound, []string{"other (no metadata.namespace)", `did you mean "other"?`}},
		{"no-policies", "apps/agent", "1.5.0", ErrNotFound, []string{"the file has no ImagePolicy of image.toolkit.fluxcd.io/v1 or image.toolkit.fluxcd.io/v1beta2 or image.toolkit.fluxcd.io/v1beta1"}},
		{"duplicate", "apps/agent", "1.5.0", ErrDuplicate, []string{`"apps/agent" is defined 2 times (lines 1, 6); keep one`}},
		{"duplicate-range-key", "apps/agent", "1.5.0", ErrDuplicate, []string{"spec.policy.semver.range 2 times"}},
		{"no-semver", "apps/agent", "1.5.0", ErrNoSemver, []string{"has no spec.policy.semver", `its policy is "alphabetical"`, "semver policies only"}},
		{"anchor", "apps/agent", "1.5.0", ErrUnsupported, []string{"line 9, column 14", "has an anchor (&r)"}},
		{"alias", "apps/agent", "1.5.0", ErrUnsupported, []string{"is an alias (*r)", "write the range there literally"}},
		{"anchored-parent", "apps/agent", "1.5.0", ErrUnsupported, []string{"lies under an anchor (&s, line 8)"}},
		{"aliased-parent", "apps/agent", "1.5.0", ErrUnsupported, []string{"lies under an alias (*p, line 8)", "write that mapping literally"}},
		{"block-scalar", "apps/agent", "1.5.0", ErrUnsupported, []string{"is a block scalar", "on one line"}},
		{"folded-scalar", "apps/agent", "1.5.0", ErrUnsupported, []string{"is a block scalar"}},
		{"tagged", "apps/agent", "1.5.0", ErrUnsupported, []string{"explicit tag (!!str)"}},
		{"multiline-quoted", "apps/agent", "1.5.0", ErrUnsupported, []string{"spans several lines"}},
		{"multiline-plain", "apps/agent", "1.5.0", ErrUnsupported, []string{"spans several lines"}},
		{"not-a-string", "apps/agent", "1.5.0", ErrUnsupported, []string{`is not a string (!!float: YAML reads "1.4" as a number)`, `range: "1.2.3"`}},
		{"old-api", "apps/agent", "1.5.0", ErrAPIVersion, []string{"uses apiVersion image.toolkit.fluxcd.io/v1alpha2", "use image.toolkit.fluxcd.io/v1"}},
		{"broken", "apps/agent", "1.5.0", ErrInvalidYAML, []string{"document 1", "line"}},
		{"valid", "apps/agent", "", ErrInvalidRange, []string{"the range is empty"}},
		{"valid", "apps/agent", "one.two", ErrInvalidRange, []string{`"one.two"`, "such as 1.4.0"}},
		{"valid", "apps/agent", ">=1.4.0 <", ErrInvalidRange, []string{`">=1.4.0 <"`}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.rng, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "errors", tc.file+".yaml"))
			require.NoError(t, err)
			out, err := SetRange(in, mustRef(t, tc.ref), tc.rng)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, out)
			for _, f := range tc.fragments {
				assert.Contains(t, err.Error(), f)
			}
		})
	}
}

func TestFind(t *testing.T) {
	in, err := os.ReadFile("testdata/set/multidoc.yaml")
	require.NoError(t, err)
	p, err := Find(in, mustRef(t, "flux-system/ai-agents-api"))
	require.NoError(t, err)
	assert.Equal(t, Policy{
		Ref:             Ref{"flux-system", "ai-agents-api"},
		APIVersion:      "image.toolkit.fluxcd.io/v1beta2",
		Range:           "1.4.0",
		ImageRepository: Ref{"flux-system", "ai-agents-api"},
		Line:            26, Column: 14,
		Warnings: []string{`ImagePolicy "flux-system/ai-agents-api" (line 15): Flux 2.9 and later (image-reflector-controller v1.2+) no longer serve image.toolkit.fluxcd.io/v1beta2: change the apiVersion in the file to image.toolkit.fluxcd.io/v1 (the same shape)`},
	}, p)

	// Reading follows an alias even though editing refuses it.
	in, err = os.ReadFile("testdata/errors/alias.yaml")
	require.NoError(t, err)
	p, err = Find(in, mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", p.Range)
}

func TestList(t *testing.T) {
	in, err := os.ReadFile("testdata/set/multidoc.yaml")
	require.NoError(t, err)
	ps, err := List(in)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "flux-system/ai-agents-api", ps[0].Ref.String())
	assert.Equal(t, "1.4.0", ps[0].Range)
	assert.Equal(t, "flux-system/ai-agents-api-staging", ps[1].Ref.String())
	assert.Equal(t, ">=1.0.0-0", ps[1].Range)

	in, err = os.ReadFile("testdata/errors/no-semver.yaml")
	require.NoError(t, err)
	ps, err = List(in)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Empty(t, ps[0].Range)
	assert.Zero(t, ps[0].Line)

	_, err = List([]byte("a: [b\n"))
	require.ErrorIs(t, err, ErrInvalidYAML)
	_, err = List([]byte{0xFF, 0xFE, 'a', 0})
	require.ErrorIs(t, err, ErrInvalidYAML)
	assert.Contains(t, err.Error(), "UTF-16")
}

func TestImageOf(t *testing.T) {
	in, err := os.ReadFile("testdata/set/multidoc.yaml")
	require.NoError(t, err)
	img, err := ImageOf(in, mustRef(t, "flux-system/ai-agents-api-staging"))
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/acme/ai-agents-api", img)

	tests := []struct {
		name, file, ref string
		want            error
		fragment        string
	}{
		{"no imageRepositoryRef", "set/plain-star.yaml", "apps/agent", ErrNotFound, "has no spec.imageRepositoryRef.name"},
		{"repository not in file", "set/v1.yaml", "apps/agent", ErrNotFound, `refers to ImageRepository "apps/agent", which is not in the file (it has no ImageRepository)`},
		{"policy missing", "set/v1.yaml", "apps/other", ErrNotFound, "apps/agent (line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.file))
			require.NoError(t, err)
			_, err = ImageOf(in, mustRef(t, tc.ref))
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.fragment)
		})
	}

	other := bytes.Replace(in, []byte("name: ai-agents-api\n  namespace: flux-system\nspec:\n  image"), []byte("name: elsewhere\n  namespace: flux-system\nspec:\n  image"), 1)
	_, err = ImageOf(other, mustRef(t, "flux-system/ai-agents-api"))
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "it has: flux-system/elsewhere (line 4)")
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		err  string
	}{
		{"flux-system/ai-agents", Ref{"flux-system", "ai-agents"}, ""},
		{"apps/agent.v2", Ref{"apps", "agent.v2"}, ""},
		{"agent", Ref{"", "agent"}, ""},
		{"/agent", Ref{}, "the namespace before '/' is empty"},
		{"apps/", Ref{}, `name "" is not a valid Kubernetes name`},
		{"Apps/agent", Ref{}, `namespace "Apps" is not a valid Kubernetes namespace`},
		{"a/b/c", Ref{}, `name "b/c"`},
		{"", Ref{}, "write NS/NAME"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRef(tc.in)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrInvalidRef)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), `"`+tc.in+`"`)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		value string
		style yaml.Style
		flow  bool
		want  string
	}{
		{"plain stays plain", "1.4.0", 0, false, "1.4.0"},
		{"tilde prefix is a string", "~1.4.0", 0, false, "~1.4.0"},
		{"caret", "^1.4.0", 0, false, "^1.4.0"},
		{"block indicator", ">=1.4.0", 0, false, `">=1.4.0"`},
		{"alias indicator", "*", 0, false, `"*"`},
		{"null", "~", 0, false, `"~"`},
		{"float", "1.10", 0, false, `"1.10"`},
		{"int", "1", 0, false, `"1"`},
		{"tag indicator", "!=1.4.0", 0, false, `"!=1.4.0"`},
		{"comment", "1.4.0 #x", 0, false, `"1.4.0 #x"`},
		{"comma in block", "1.4.0, <2", 0, false, "1.4.0, <2"},
		{"comma in flow", "1.4.0, <2", 0, true, `"1.4.0, <2"`},
		{"yaml 1.1 bool", "yes", 0, false, `"yes"`},
		{"single quote escaped", "it's", yaml.SingleQuotedStyle, false, `'it''s'`},
		{"double quote escaped", `a"b\c`, yaml.DoubleQuotedStyle, false, `"a\"b\\c"`},
		{"control char", "a\tb\n", yaml.SingleQuotedStyle, false, `"a\u0009b\u000A"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := render(tc.value, tc.style, tc.flow)
			assert.Equal(t, tc.want, got)
			var n yaml.Node
			require.NoError(t, yaml.Unmarshal([]byte("k: "+got), &n))
			assert.Equal(t, tc.value, n.Content[0].Content[1].Value, "renders back to the same string")
			assert.Equal(t, "!!str", n.Content[0].Content[1].Tag)
		})
	}
}
