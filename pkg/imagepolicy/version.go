package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	fluxversion "github.com/fluxcd/pkg/version"
)

// Rules says which Flux release's rules turn a tag into a version. They changed in Flux 2.7
// (image-reflector-controller v1.0, github.com/fluxcd/pkg/version v0.10): before, a tag had to
// be strict semver after an optional leading "v"; since, any tag of three dot-separated parts
// that Masterminds/semver reads loosely is a version, so leading zeros (2024.01.15, 22.04.4)
// and a pre-release in the second part (v1.2-beta.5 reads as 1.2.0-beta.5) count.
type Rules string

const (
	// Flux27 are the rules of Flux 2.7 and later (the default): github.com/fluxcd/pkg/version's
	// ParseVersion, the package and version image-reflector-controller v1.2.4 requires (v0.16.0).
	Flux27 Rules = "2.7"
	// Flux26 are the rules of Flux 2.6 and earlier: an optional leading "v", then strict semver.
	Flux26 Rules = "2.6"
)

// DefaultRules are the rules used when none are given: Flux 2.7 and later.
const DefaultRules = Flux27

// ErrInvalidFluxVersion reports a flux-version that is not a Flux 2 release.
var ErrInvalidFluxVersion = errors.New("invalid Flux version")

var fluxVersionRE = regexp.MustCompile(`^v?2\.(\d+)(\.\d+)?$`)

// ParseRules reads a Flux release ("2.7", "v2.8.1", "2.6"; "" means DefaultRules) and returns the
// tag rules of that release: Flux27 for 2.7 and later, Flux26 for 2.0 to 2.6. Anything else fails
// with ErrInvalidFluxVersion.
func ParseRules(fluxVersion string) (Rules, error) {
	s := strings.TrimSpace(fluxVersion)
	if s == "" {
		return DefaultRules, nil
	}
	m := fluxVersionRE.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%w %q: give the Flux release the cluster runs as 2.MINOR, e.g. 2.7 (the default: Flux 2.7 and later) or 2.6 (older clusters, strict semver tags)", ErrInvalidFluxVersion, fluxVersion)
	}
	minor, err := strconv.Atoi(m[1])
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidFluxVersion, fluxVersion, err)
	}
	if minor >= 7 {
		return Flux27, nil
	}
	return Flux26, nil
}

// String names the rules for messages: "Flux 2.7+" or "Flux 2.6".
func (r Rules) String() string {
	if r == Flux26 {
		return "Flux ≤ 2.6"
	}
	return "Flux ≥ 2.7"
}

// ParseVersion reads a tag as a version under these rules; it fails with ErrInvalidVersion.
func (r Rules) ParseVersion(tag string) (*semver.Version, error) {
	var v *semver.Version
	var err error
	if r == Flux26 {
		// fluxcd/pkg/version before v0.10 (Flux 2.6 and earlier): strict semver after an
		// optional leading "v", then Masterminds' own parse, which keeps the tag as Original.
		if _, err = semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); err == nil {
			v, err = semver.NewVersion(tag)
		}
	} else {
		v, err = fluxversion.ParseVersion(tag)
	}
	if err != nil {
		hint := "use MAJOR.MINOR.PATCH, optionally with a leading v"
		if r == Flux26 {
			hint += " and without leading zeros (Flux 2.6 and earlier)"
		}
		return nil, fmt.Errorf("%w %q: %v; %s", ErrInvalidVersion, tag, err, hint)
	}
	return v, nil
}

// ParseVersion reads a tag as a version with DefaultRules (Flux 2.7 and later): three
// dot-separated parts that Masterminds/semver reads, an optional leading v, leading zeros
// allowed. It fails with ErrInvalidVersion.
func ParseVersion(tag string) (*semver.Version, error) { return DefaultRules.ParseVersion(tag) }
