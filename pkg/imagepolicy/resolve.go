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

// Resolve answers "rng selects tag T (digest D) in repo today", with Select's rules.
func Resolve(ctx context.Context, rng, repo string, src TagSource) (Resolution, error) {
	if err := ValidateRange(rng); err != nil {
		return Resolution{}, err
	}
	tags, err := src.Tags(ctx, repo)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	tag, err := Select(rng, tags)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	digest, err := src.Digest(ctx, repo, tag)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolving range %q in %s: %w", rng, repo, err)
	}
	return Resolution{Range: rng, Tag: tag, Digest: digest}, nil
}
