package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// Builder turns its inputs into an image. It never pushes: pkg/publish does that.
type Builder interface {
	// Build returns a v1.Image when the builder targets one platform and a v1.ImageIndex
	// (one image per platform, in the order asked for) when it targets several.
	Build(ctx context.Context) (Artifact, error)
}

// Artifact is what a Builder returns: a v1.Image or a v1.ImageIndex. Both satisfy it, and it is
// what go-containerregistry's remote.Write/WriteIndex/MultiWrite accept (remote.Taggable).
type Artifact interface {
	partial.Describable
	RawManifest() ([]byte, error)
}

// ErrBadPlatform is returned (wrapped) for a platform string that is not os/arch[/variant].
var ErrBadPlatform = errors.New("bad platform")

// ParsePlatforms parses a comma-separated list such as "linux/amd64,linux/arm64,linux/arm/v7".
// Blank entries are ignored, duplicates are an error.
func ParsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		parts := strings.Split(f, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("%w %q: want os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7", ErrBadPlatform, f)
		}
		p := v1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) == 3 {
			p.Variant = parts[2]
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("%w %q: listed twice", ErrBadPlatform, f)
		}
		seen[p.String()] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no platform in %q (e.g. linux/amd64,linux/arm64)", ErrBadPlatform, s)
	}
	return out, nil
}

func parseReference(s string) (name.Reference, error) { return name.ParseReference(s) }
