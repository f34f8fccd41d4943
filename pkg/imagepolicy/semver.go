package imagepolicy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ValidateRange checks a range as Flux's image-reflector-controller does
// (github.com/Masterminds/semver/v3 NewConstraint), and also refuses line breaks and other control
// characters, which that library lets through; it fails with ErrInvalidRange.
func ValidateRange(rng string) error {
	_, err := parseRange(rng)
	return err
}

func parseRange(rng string) (*semver.Constraints, error) {
	if strings.TrimSpace(rng) == "" {
		return nil, fmt.Errorf("%w: the range is empty; write one such as 1.4.0, ~1.4.0 or >=1.4.0 <2.0.0", ErrInvalidRange)
	}
	for _, r := range rng {
		if r < 0x20 || r == 0x7F || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return nil, fmt.Errorf("%w %q: it contains a line break or control character (U+%04X); write it on one line", ErrInvalidRange, rng, r)
		}
	}
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v; write one such as 1.4.0, ~1.4.0 or >=1.4.0 <2.0.0", ErrInvalidRange, rng, err)
	}
	return c, nil
}

// Pin is how a promotion to version X.Y.Z writes the range.
type Pin string

const (
	// PinExact writes X.Y.Z: exactly that version (the default).
	PinExact Pin = "exact"
	// PinPatch writes ~X.Y.Z: that version and later patches of X.Y.
	PinPatch Pin = "patch"
)

var pins = []Pin{PinExact, PinPatch}

// ParsePin parses a pin style; "" means PinExact. Unknown names fail with ErrInvalidPin, listing
// the valid ones.
func ParsePin(s string) (Pin, error) {
	if s == "" {
		return PinExact, nil
	}
	if slices.Contains(pins, Pin(s)) {
		return Pin(s), nil
	}
	return "", fmt.Errorf("%w %q: use one of exact, patch", ErrInvalidPin, s)
}

// RangeFor returns the range that pins version ("v1.5.0" or "1.5.0", read with DefaultRules) in
// the given style: "1.5.0" for PinExact, "~1.5.0" for PinPatch. A version written with leading
// zeros is pinned in canonical form ("2024.01.15" → "2024.1.15"), which selects the same tag.
func RangeFor(version string, pin Pin) (string, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return "", err
	}
	if _, err := ParsePin(string(pin)); err != nil {
		return "", err
	}
	if v.Metadata() != "" {
		return "", fmt.Errorf("%w %q: build metadata (+%s) cannot be pinned, since Flux ignores it when comparing versions; promote a tag without it", ErrInvalidVersion, version, v.Metadata())
	}
	// The canonical form: the tag's text without "v" for strict semver, and for tags that only
	// Flux 2.7's looser rules read (2024.01.15, v1.2-beta.5), the version they read as.
	s := v.String()
	if pin == PinPatch {
		return "~" + s, nil
	}
	return s, nil
}
