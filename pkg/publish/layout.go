package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
)

// untagged matches the entry of a in index.json that has no tag, so that publishing a again
// without tags replaces it rather than adding a duplicate.
func untagged(a Artifact) match.Matcher {
	d, err := a.Digest()
	return func(desc v1.Descriptor) bool {
		return err == nil && desc.Digest == d && desc.Annotations[RefNameAnnotation] == ""
	}
}

// RefNameAnnotation is the OCI layout annotation that names a tag in index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Layout writes artifacts into an OCI image layout directory instead of pushing them (push: false).
type Layout struct{ dir string }

// NewLayout returns a publisher into the OCI layout at dir, created when missing.
func NewLayout(dir string) *Layout { return &Layout{dir: dir} }

// Publish writes a's blobs and manifests to the layout and records it in index.json once per tag
// (annotated org.opencontainers.image.ref.name=TAG, replacing an earlier entry with that tag),
// or once without a name when there are no tags. Blobs already in the layout are not rewritten.
func (l *Layout) Publish(ctx context.Context, a Artifact, tags []string) (*Report, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := layout.FromPath(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		p, err = layout.Write(l.dir, empty.Index)
	}
	if err != nil {
		return nil, fmt.Errorf("OCI layout %q: %w", l.dir, err)
	}
	t := newTracker()
	tracked, err := track(a, t)
	if err != nil {
		return nil, err
	}
	names := tags
	if len(names) == 0 {
		names = []string{""}
	}
	for _, tag := range names {
		var opts []layout.Option
		matcher := untagged(a)
		if tag != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag}))
			matcher = match.Annotation(RefNameAnnotation, tag)
		}
		switch v := tracked.(type) {
		case v1.ImageIndex:
			err = p.ReplaceIndex(v, matcher, opts...)
		case v1.Image:
			err = p.ReplaceImage(v, matcher, opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("writing to OCI layout %q: %w", l.dir, err)
		}
	}
	rep, err := report(a, t, StatusWritten)
	if err != nil {
		return nil, err
	}
	rep.Repository = l.dir
	rep.Tags = append([]string{}, tags...)
	rep.Duration = time.Since(start)
	return rep, nil
}
