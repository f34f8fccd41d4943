package imagepolicy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelect(t *testing.T) {
	tags := []string{"latest", "1.3.0", "1.4.0", "1.4.1", "1.5.0-rc.1", "1.5.0-rc.2", "v2.0.0", "sha-abc123", "1.6", "01.7.0"}
	tests := []struct {
		name, rng string
		tags      []string
		want      string
		err       error
		fragments []string
	}{
		{"exact", "1.4.0", tags, "1.4.0", nil, nil},
		{"patch range takes the newest patch", "~1.4.0", tags, "1.4.1", nil, nil},
		{"pre-releases excluded when the range has none", ">=1.4.0 <1.7.0", tags, "1.4.1", nil, nil},
		{"pre-releases included when the range has one", ">=1.5.0-0 <1.7.0", tags, "1.5.0-rc.2", nil, nil},
		{"tilde with a pre-release", "~1.5.0-rc.1", tags, "1.5.0-rc.2", nil, nil},
		{"pre-release range still prefers the release", "~1.5.0-rc.1", append(tags, "1.5.0"), "1.5.0", nil, nil},
		{"exact pre-release", "1.5.0-rc.1", tags, "1.5.0-rc.1", nil, nil},
		{"v prefix is stripped and kept in the answer", ">=2.0.0", tags, "v2.0.0", nil, nil},
		{"wildcard skips non-semver tags", "*", tags, "v2.0.0", nil, nil},
		{"two-part tags are not versions", "~1.6.0", tags, "", ErrNoMatch, []string{`range "~1.6.0" matches none of the 10 tags (7 of them versions under Flux ≥ 2.7 rules)`}},
		{"leading zeros are read since Flux 2.7", "1.7.0", tags, "01.7.0", nil, nil},
		{"no tags", "1.4.0", nil, "", ErrNoMatch, []string{"matches none of the 0 tags"}},
		// Flux keeps the first of equal versions in the order the registry listed them.
		{"v and plain tie: the first listed", "1.5.0", []string{"v1.5.0", "1.5.0"}, "v1.5.0", nil, nil},
		{"plain and v tie: the first listed", "1.5.0", []string{"1.5.0", "v1.5.0"}, "1.5.0", nil, nil},
		{"build metadata ties: the first listed", ">=1.0.0", []string{"1.5.0+build.1", "1.4.0", "1.5.0+build.2"}, "1.5.0+build.1", nil, nil},
		{"a tie below the top does not matter", ">=1.0.0", []string{"v1.4.0", "1.4.0", "1.5.0"}, "1.5.0", nil, nil},
		{"a duplicated listing is not a tie", "1.5.0", []string{"1.5.0", "1.5.0"}, "1.5.0", nil, nil},
		{"invalid range", "one", tags, "", ErrInvalidRange, []string{`"one"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.rng, tc.tags)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				for _, f := range tc.fragments {
					assert.Contains(t, err.Error(), f)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheckDowngrade(t *testing.T) {
	tags := []string{"1.3.0", "1.4.0", "1.4.1", "1.5.0", "2.0.0-rc.1"}
	tests := []struct {
		name, old, new string
		err            error
		fragment       string
	}{
		{"upgrade", "1.4.0", "1.5.0", nil, ""},
		{"same version, other style", "1.4.1", "~1.4.0", nil, ""},
		{"downgrade", "1.5.0", "1.4.0", ErrDowngrade, `range "1.4.0" selects 1.4.0, below 1.5.0 that the current range "1.5.0" selects`},
		{"patch range downgrade", "~1.5.0", "~1.4.0", ErrDowngrade, "selects 1.4.1, below 1.5.0"},
		{"pre-release is below the release", "1.5.0", "2.0.0-rc.1", nil, ""},
		{"old range matches nothing", "9.9.9", "1.3.0", nil, ""},
		{"new range matches nothing", "1.4.0", "9.9.9", ErrNoMatch, `"9.9.9"`},
		{"new range invalid", "1.4.0", "one", ErrInvalidRange, `"one"`},
		{"old range invalid", "one", "1.4.0", ErrInvalidRange, "checking the current range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDowngrade(tc.old, tc.new, tags)
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.fragment)
		})
	}
}

func TestRangeFor(t *testing.T) {
	tests := []struct {
		version string
		pin     Pin
		want    string
		err     error
	}{
		{"1.5.0", PinExact, "1.5.0", nil},
		{"v1.5.0", PinExact, "1.5.0", nil},
		{"v1.5.0", PinPatch, "~1.5.0", nil},
		{"1.5.0-rc.1", PinExact, "1.5.0-rc.1", nil},
		{"1.5.0", "", "1.5.0", nil},
		{"1.5", PinExact, "", ErrInvalidVersion},
		{"01.5.0", PinExact, "1.5.0", nil}, // read with Flux 2.7's rules, pinned canonically
		{"1.5.0+b1", PinExact, "", ErrInvalidVersion},
		{"1.5.0", "minor", "", ErrInvalidPin},
	}
	tags := []string{"1.4.0", "v1.5.0", "1.5.0-rc.1", "1.5.1", "1.6.0"}
	for _, tc := range tests {
		t.Run(tc.version+"/"+string(tc.pin), func(t *testing.T) {
			got, err := RangeFor(tc.version, tc.pin)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				if tc.err == ErrInvalidPin {
					assert.Contains(t, err.Error(), `"minor": use one of exact, patch`)
				} else {
					assert.Contains(t, err.Error(), tc.version)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			require.NoError(t, ValidateRange(got))
			// The range pins the version: exact selects it, patch selects the newest patch.
			sel, err := Select(got, tags)
			require.NoError(t, err)
			v, _ := ParseVersion(tc.version)
			s, _ := ParseVersion(sel)
			if tc.pin == PinPatch {
				assert.Equal(t, "v1.5.1", "v"+s.String())
			} else {
				assert.True(t, v.Equal(s), "%s selects %s", got, sel)
			}
		})
	}
}

func TestParsePin(t *testing.T) {
	for in, want := range map[string]Pin{"": PinExact, "exact": PinExact, "patch": PinPatch} {
		got, err := ParsePin(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParsePin("Exact")
	require.ErrorIs(t, err, ErrInvalidPin)
	assert.Contains(t, err.Error(), `"Exact": use one of exact, patch`)
}

func TestValidateRange(t *testing.T) {
	for _, ok := range []string{"1.4.0", "~1.4.0", "^1.4", ">=1.4.0 <2.0.0", "1.4.0 || 1.5.0", ">=1.0.0-0", "*", "1.x", "1.10", "x",
		"=>1.4.0", // Masterminds accepts => for >=, and so does Flux
	} {
		assert.NoError(t, ValidateRange(ok), ok)
	}
	for _, bad := range []string{"", "   ", "latest", ">=", "1.4.0 <", "1.4.0.1", "v",
		">=1.4.0\n<2.0.0", "1.4.0\t", "1.4.0\u2028", // Masterminds accepts these; a one-line PR must not
	} {
		err := ValidateRange(bad)
		require.ErrorIs(t, err, ErrInvalidRange, bad)
	}
}

func TestParseVersion(t *testing.T) {
	for _, ok := range []string{"1.2.3", "v1.2.3", "1.2.3-rc.1+b.2"} {
		_, err := ParseVersion(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"1.2", "V1.2.3", "vv1.2.3", "1.2.3.4", "latest"} {
		_, err := ParseVersion(bad)
		require.ErrorIs(t, err, ErrInvalidVersion, bad)
		assert.Contains(t, err.Error(), bad)
	}
	// Flux 2.6 and earlier: strict semver after an optional v.
	for _, bad := range []string{"01.2.3", "2024.01.15", "v1.2-beta.5"} {
		_, err := Flux26.ParseVersion(bad)
		require.ErrorIs(t, err, ErrInvalidVersion, bad)
		assert.Contains(t, err.Error(), "without leading zeros (Flux 2.6 and earlier)")
		_, err = ParseVersion(bad)
		require.NoError(t, err, bad)
	}
}
