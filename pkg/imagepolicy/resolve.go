package imagepolicy

import (
	"context"
	"fmt"
)

// TagSource lists an image repository's tags and resolves a tag's digest; *registry.Client
// satisfies it.
type TagSource interface {
	Tags(ctx context.Context, repo string) ([]string, error)
	Digest(ctx context.Context, repo, tag string) (string, error)
}

// Resolution is what a range selects in a repository today.
type Resolution struct{ Range, Tag, Digest string }

// Resolve answers "rng selects tag T (digest D) in repo today" with Selector.Select's rules:
// the repository's tags in the order the registry lists them (as Flux stores them), the
// exclusions, the filter, then the highest version within the range.
func (s *Selector) Resolve(ctx context.Context, rng, repo string, src TagSource) (Resolution, error) {
	if err := ValidateRange(rng); err != nil {
		return Resolution{}, err
	}
	tags, err := src.Tags(ctx, repo)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	tag, err := s.Select(rng, tags)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	digest, err := src.Digest(ctx, repo, tag)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	return Resolution{Range: rng, Tag: tag, Digest: digest}, nil
}

// Resolve is Selector.Resolve with no filterTags, no exclusions and DefaultRules.
func Resolve(ctx context.Context, rng, repo string, src TagSource) (Resolution, error) {
	return (*Selector)(nil).Resolve(ctx, rng, repo, src)
}
