package imagepolicy

import (
	"errors"
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

// ParseVersion parses a tag as Flux does: an optional leading "v", then strict semver
// (MAJOR.MINOR.PATCH with optional -PRERELEASE and +BUILD). It fails with ErrInvalidVersion.
func ParseVersion(tag string) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v; use MAJOR.MINOR.PATCH, optionally with a leading v", ErrInvalidVersion, tag, err)
	}
	return v, nil
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

// RangeFor returns the range that pins version ("v1.5.0" or "1.5.0") in the given style:
// "1.5.0" for PinExact, "~1.5.0" for PinPatch.
func RangeFor(version string, pin Pin) (string, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return "", err
	}
	s := strings.TrimPrefix(version, "v")
	if _, err := ParsePin(string(pin)); err != nil {
		return "", err
	}
	if v.Metadata() != "" {
		return "", fmt.Errorf("%w %q: build metadata (+%s) cannot be pinned, since Flux ignores it when comparing versions; promote a tag without it", ErrInvalidVersion, version, v.Metadata())
	}
	if pin == PinPatch {
		return "~" + s, nil
	}
	return s, nil
}

// candidate is a tag that parsed as a version.
type candidate struct {
	tag string
	v   *semver.Version
}

// best returns the highest versions among tags that satisfy rng (every tag that ties with the
// highest), or ErrNoMatch. Tags that are not semver are ignored, as Flux ignores them.
func best(rng string, tags []string) ([]candidate, error) {
	c, err := parseRange(rng)
	if err != nil {
		return nil, err
	}
	var top []candidate
	semverTags := 0
	for _, t := range tags {
		v, err := ParseVersion(t)
		if err != nil {
			continue
		}
		semverTags++
		if !c.Check(v) {
			continue
		}
		switch {
		case len(top) == 0 || v.GreaterThan(top[0].v):
			top = []candidate{{t, v}}
		case v.Equal(top[0].v) && !slices.ContainsFunc(top, func(c candidate) bool { return c.tag == t }):
			top = append(top, candidate{t, v})
		}
	}
	if len(top) == 0 {
		return nil, fmt.Errorf("%w: range %q matches none of the %d tags (%d of them semver); push a matching tag or change the range", ErrNoMatch, rng, len(tags), semverTags)
	}
	return top, nil
}

// Select returns the tag Flux would pick for rng today: the highest tag (an optional leading v,
// then strict semver) that satisfies the range. Pre-releases match only when the range itself
// has a pre-release (Masterminds/semver/v3 behaviour). Fails with ErrNoMatch, or with ErrAmbiguous
// when several tags tie for the highest version (build metadata or a leading v aside), because
// Flux's choice between them would depend on the registry's listing order.
func Select(rng string, tags []string) (string, error) {
	top, err := best(rng, tags)
	if err != nil {
		return "", err
	}
	if len(top) > 1 {
		names := make([]string, len(top))
		for i, c := range top {
			names[i] = fmt.Sprintf("%q", c.tag)
		}
		return "", fmt.Errorf("%w: range %q selects %s equally; delete all but one of these tags or pin a different version", ErrAmbiguous, rng, strings.Join(names, " and "))
	}
	return top[0].tag, nil
}

// CheckDowngrade fails with ErrDowngrade when newRange's highest matching tag is below oldRange's.
// When oldRange matches nothing today there is nothing to downgrade from, and it returns nil.
func CheckDowngrade(oldRange, newRange string, tags []string) error {
	newTop, err := best(newRange, tags)
	if err != nil {
		return err
	}
	oldTop, err := best(oldRange, tags)
	if err != nil {
		if errors.Is(err, ErrNoMatch) {
			return nil
		}
		return fmt.Errorf("checking the current range: %w", err)
	}
	if newTop[0].v.LessThan(oldTop[0].v) {
		return fmt.Errorf("%w: range %q selects %s, below %s that the current range %q selects; allow the downgrade explicitly if it is intended", ErrDowngrade, newRange, newTop[0].tag, oldTop[0].tag, oldRange)
	}
	return nil
}
