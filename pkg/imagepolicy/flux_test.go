package imagepolicy

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// Flux's own test tables, transcribed as data under testdata/flux (each file names its source).
// Every row must agree.

type fluxSelectCase struct {
	Name       string   `yaml:"name"`
	Source     string   `yaml:"source"`
	Rules      Rules    `yaml:"rules"`
	Range      string   `yaml:"range"`
	Pattern    *string  `yaml:"pattern"`
	Extract    string   `yaml:"extract"`
	Exclusions []string `yaml:"exclusions"`
	Tags       []string `yaml:"tags"`
	Want       string   `yaml:"want"`
	Error      string   `yaml:"error"`
}

// run checks one selection row: the tag Flux picks, or the kind of error.
func (tc fluxSelectCase) run(t *testing.T) {
	t.Helper()
	var filter *TagFilter
	if tc.Pattern != nil {
		filter = &TagFilter{Pattern: *tc.Pattern, Extract: tc.Extract}
	}
	s, err := NewSelector(Ref{Namespace: "flux-system", Name: "app"}, filter, tc.Exclusions, tc.Rules)
	if tc.Error == "invalid-filter" {
		require.ErrorIs(t, err, ErrInvalidFilter)
		assert.Contains(t, err.Error(), `ImagePolicy "flux-system/app"`)
		return
	}
	require.NoError(t, err)
	got, err := s.Select(tc.Range, tc.Tags)
	switch tc.Error {
	case "":
		require.NoError(t, err)
		assert.Equal(t, tc.Want, got)
	case "no-match":
		require.ErrorIs(t, err, ErrNoMatch)
	case "invalid-range":
		require.ErrorIs(t, err, ErrInvalidRange)
	case "ambiguous":
		require.ErrorIs(t, err, ErrAmbiguous)
	default:
		t.Fatalf("unknown error kind %q", tc.Error)
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "flux", name))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, v))
}

func TestFlux_PkgVersion(t *testing.T) {
	var doc struct {
		Parse []struct {
			Rules Rules  `yaml:"rules"`
			Tag   string `yaml:"tag"`
			Valid bool   `yaml:"valid"`
			Is    string `yaml:"is"`
		} `yaml:"parse"`
		Sort []struct {
			Range  string   `yaml:"range"`
			Tags   []string `yaml:"tags"`
			Sorted []string `yaml:"sorted"`
		} `yaml:"sort"`
	}
	readYAML(t, "pkg-version.yaml", &doc)
	require.NotEmpty(t, doc.Parse)
	for _, tc := range doc.Parse {
		t.Run("parse/"+string(tc.Rules)+"/"+tc.Tag, func(t *testing.T) {
			v, err := tc.Rules.ParseVersion(tc.Tag)
			if !tc.Valid {
				require.ErrorIs(t, err, ErrInvalidVersion)
				return
			}
			require.NoError(t, err)
			if tc.Is != "" {
				assert.Equal(t, tc.Is, v.String())
			}
		})
	}
	for _, tc := range doc.Sort {
		t.Run("sort/"+tc.Range, func(t *testing.T) {
			c, err := parseRange(tc.Range)
			require.NoError(t, err)
			cands, _ := (*Selector)(nil).candidates(tc.Tags)
			var in []Candidate
			for _, cand := range cands {
				if c.Check(cand.Version) {
					in = append(in, cand)
				}
			}
			slices.SortStableFunc(in, func(a, b Candidate) int { return -a.Version.Compare(b.Version) })
			var got []string
			for _, cand := range in {
				got = append(got, cand.Tag)
			}
			assert.Equal(t, tc.Sorted, got)
			// Flux's pick is the head of that order.
			top, err := Select(tc.Range, tc.Tags)
			require.NoError(t, err)
			assert.Equal(t, tc.Sorted[0], top)
		})
	}
}

func TestFlux_ImageReflectorController(t *testing.T) {
	var doc struct {
		Ranges struct {
			Valid   []string `yaml:"valid"`
			Invalid []string `yaml:"invalid"`
		} `yaml:"ranges"`
		Filters []struct {
			Name    string   `yaml:"name"`
			Tags    []string `yaml:"tags"`
			Pattern string   `yaml:"pattern"`
			Extract string   `yaml:"extract"`
			Values  []string `yaml:"values"`
		} `yaml:"filters"`
		Exclusions []struct {
			Name     string   `yaml:"name"`
			Tags     []string `yaml:"tags"`
			Patterns []string `yaml:"patterns"`
			Keep     []string `yaml:"keep"`
			Error    bool     `yaml:"error"`
		} `yaml:"exclusions"`
		Select []fluxSelectCase `yaml:"select"`
	}
	readYAML(t, "image-reflector-controller.yaml", &doc)
	for _, r := range doc.Ranges.Valid {
		assert.NoError(t, ValidateRange(r), r)
	}
	for _, r := range doc.Ranges.Invalid {
		assert.ErrorIs(t, ValidateRange(r), ErrInvalidRange, r)
	}
	for _, tc := range doc.Filters {
		t.Run("filter/"+tc.Name, func(t *testing.T) {
			s, err := NewSelector(Ref{}, &TagFilter{Pattern: tc.Pattern, Extract: tc.Extract}, nil, "")
			require.NoError(t, err)
			var values []string
			for _, tag := range tc.Tags {
				if v, ok := s.value(tag); ok && !slices.Contains(values, v) {
					values = append(values, v)
				}
			}
			slices.Sort(values)
			assert.Equal(t, tc.Values, values)
		})
	}
	for _, tc := range doc.Exclusions {
		t.Run("exclusions/"+tc.Name, func(t *testing.T) {
			s, err := NewSelector(Ref{}, nil, tc.Patterns, "")
			if tc.Error {
				require.ErrorIs(t, err, ErrInvalidExclusion)
				return
			}
			require.NoError(t, err)
			keep := []string{}
			for _, tag := range tc.Tags {
				if s.excludedBy(tag) == "" {
					keep = append(keep, tag)
				}
			}
			want := tc.Keep
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, keep)
		})
	}
	require.NotEmpty(t, doc.Select)
	for _, tc := range doc.Select {
		t.Run("select/"+tc.Name, tc.run)
	}
}

// TestFlux_Rules covers what changed in Flux 2.7 and the real-world shapes of filterTags: rows
// of our own (testdata/flux/rules.yaml), each run under the rules it names.
func TestFlux_Rules(t *testing.T) {
	var doc struct {
		Select []fluxSelectCase `yaml:"select"`
	}
	readYAML(t, "rules.yaml", &doc)
	require.NotEmpty(t, doc.Select)
	for _, tc := range doc.Select {
		t.Run(tc.Name, tc.run)
	}
}
