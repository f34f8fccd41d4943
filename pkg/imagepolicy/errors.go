package imagepolicy

import "errors"

// Sentinel errors that callers branch on; every error returned wraps at most one of them and
// carries a message that names the input and says how to fix it.
var (
	// ErrInvalidRef reports a policy reference that is not NS/NAME.
	ErrInvalidRef = errors.New("invalid policy reference")
	// ErrInvalidYAML reports a file that YAML cannot read (or that is not UTF-8).
	ErrInvalidYAML = errors.New("invalid YAML")
	// ErrNotFound reports that the file has no ImagePolicy (or ImageRepository) with that identity.
	ErrNotFound = errors.New("not found")
	// ErrAPIVersion reports an ImagePolicy (or ImageRepository) of an apiVersion Flightline does
	// not read (it is in the file, so this is not ErrNotFound).
	ErrAPIVersion = errors.New("unsupported apiVersion")
	// ErrDuplicate reports that the file defines the same ImagePolicy (or ImageRepository) more
	// than once, or that a search found the ImageRepository in several files.
	ErrDuplicate = errors.New("duplicate definition")
	// ErrNoSemver reports an ImagePolicy without spec.policy.semver.range.
	ErrNoSemver = errors.New("no semver range")
	// ErrUnsupported reports a range value that cannot be edited byte-for-byte safely
	// (an anchor, an alias, an explicit tag, a block scalar or a value spanning several lines).
	ErrUnsupported = errors.New("unsupported formatting")
	// ErrVerify reports that the edited file did not re-parse to the original with exactly one
	// value changed; it indicates a bug, and no output is returned with it.
	ErrVerify = errors.New("edit verification failed")
	// ErrInvalidRange reports a range that Flux's semver library rejects.
	ErrInvalidRange = errors.New("invalid semver range")
	// ErrInvalidPin reports an unknown pin style.
	ErrInvalidPin = errors.New("invalid pin style")
	// ErrInvalidVersion reports a version that is not strict semver (after an optional leading v).
	ErrInvalidVersion = errors.New("invalid version")
	// ErrNoMatch reports that no tag satisfies a range.
	ErrNoMatch = errors.New("no tag matches the range")
	// ErrAmbiguous reports that several tags tie for the highest match under filterTags, where
	// Flux's choice among them is random (without filterTags Flux takes the first listed).
	ErrAmbiguous = errors.New("ambiguous tags")
	// ErrDowngrade reports that a new range selects an older version than the current range.
	ErrDowngrade = errors.New("downgrade")
)
