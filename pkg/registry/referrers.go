package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Platform is one image of an image index.
type Platform struct {
	Platform string      // os/arch[/variant], e.g. linux/amd64
	Digest   name.Digest // the platform image's manifest, in the same repository
}

// Resolved is what a reference names in a registry: the digest of its manifest and, for an
// image index, the images it lists per platform (attestation manifests left out).
type Resolved struct {
	Digest    name.Digest
	MediaType types.MediaType
	Size      int64
	Index     bool
	Platforms []Platform
}

// Descriptor is the OCI descriptor of the resolved manifest.
func (r Resolved) Descriptor() v1.Descriptor {
	h, _ := v1.NewHash(r.Digest.DigestStr())
	return v1.Descriptor{MediaType: r.MediaType, Digest: h, Size: r.Size}
}

// Resolve looks up ref (REPO:TAG or REPO@sha256:…) and returns the digest it names. A tag is
// resolved to its digest; a digest must exist. An index lists its platform images.
func (c *Client) Resolve(ctx context.Context, ref string) (Resolved, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return Resolved{}, fmt.Errorf("%w %q: %v; write it as HOST/PATH@sha256:… or HOST/PATH:TAG", ErrInvalidReference, ref, err)
	}
	repo := r.Context().String()
	desc, err := remote.Get(r, c.Options(ctx)...)
	if err != nil {
		return Resolved{}, classify(err, "resolving "+ref, repo)
	}
	out := Resolved{Digest: r.Context().Digest(desc.Digest.String()), MediaType: desc.MediaType, Size: desc.Size}
	if !desc.MediaType.IsIndex() {
		return out, nil
	}
	out.Index = true
	idx, err := desc.ImageIndex()
	if err != nil {
		return Resolved{}, fmt.Errorf("reading the image index %s: %w", out.Digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Resolved{}, fmt.Errorf("reading the image index %s: %w", out.Digest, err)
	}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() || m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		p := "unknown"
		if m.Platform != nil {
			p = m.Platform.OS + "/" + m.Platform.Architecture
			if m.Platform.Variant != "" {
				p += "/" + m.Platform.Variant
			}
		}
		out.Platforms = append(out.Platforms, Platform{Platform: p, Digest: r.Context().Digest(m.Digest.String())})
	}
	if len(out.Platforms) == 0 {
		return Resolved{}, fmt.Errorf("the image index %s lists no image manifests", out.Digest)
	}
	return out, nil
}

// Artifact is an OCI artifact to attach to an image: an image manifest with an artifactType,
// the empty config and one layer per blob.
type Artifact struct {
	ArtifactType string
	Annotations  map[string]string
	Blobs        []Blob
}

// Blob is one layer of an Artifact.
type Blob struct {
	MediaType   string
	Data        []byte
	Annotations map[string]string
}

// emptyJSON is the OCI empty descriptor's content ("{}"), used as an artifact's config.
var emptyJSON = []byte("{}")

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// Attach pushes a as an OCI 1.1 referrer of subject (the manifest that Resolve described) and
// returns the artifact's manifest digest. Registries with the referrers API index it
// themselves; on the others go-containerregistry updates the sha256-<hex> fallback tag.
func (c *Client) Attach(ctx context.Context, subject Resolved, a Artifact) (name.Digest, error) {
	repo := subject.Digest.Context()
	opts := c.Options(ctx)
	what := "attaching an artifact to " + subject.Digest.String()
	// The config is "{}" with the artifact type as its media type (OCI 1.1's other way of typing an
	// artifact): registries that derive a referrer's artifactType from the config (as
	// go-containerregistry's own does) and those that read the artifactType field agree.
	if err := remote.WriteLayer(repo, static.NewLayer(emptyJSON, types.MediaType(a.ArtifactType)), opts...); err != nil {
		return name.Digest{}, classify(err, what, repo.String())
	}
	emptyHash, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	sub := subject.Descriptor()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        v1.Descriptor{MediaType: types.MediaType(a.ArtifactType), Digest: emptyHash, Size: int64(len(emptyJSON)), Data: emptyJSON},
		Subject:       &sub,
		Annotations:   a.Annotations,
	}
	for _, b := range a.Blobs {
		l := static.NewLayer(b.Data, types.MediaType(b.MediaType))
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return name.Digest{}, classify(err, what, repo.String())
		}
		h, _ := l.Digest()
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(b.MediaType), Digest: h, Size: int64(len(b.Data)), Annotations: b.Annotations})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, rawManifest{raw: raw, mt: types.OCIManifestSchema1}, opts...); err != nil {
		return name.Digest{}, classify(err, what, repo.String())
	}
	return ref, nil
}

// Referrers lists the manifests that refer to subject with the given artifactType, through the
// referrers API or, where the registry lacks it, the sha256-<hex> fallback tag.
func (c *Client) Referrers(ctx context.Context, subject name.Digest, artifactType string) ([]v1.Descriptor, error) {
	opts := append(c.Options(ctx), remote.WithFilter("artifactType", artifactType))
	idx, err := remote.Referrers(subject, opts...)
	if err != nil {
		return nil, classify(err, "listing the referrers of "+subject.String(), subject.Context().String())
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the referrers of %s: %w", subject, err)
	}
	var out []v1.Descriptor
	for _, d := range im.Manifests { // the filter is advisory: a registry may ignore it
		if d.ArtifactType == artifactType {
			out = append(out, d)
		}
	}
	return out, nil
}

// MaxArtifactBlob is the largest blob ReadArtifact reads (a referrer may be written by anyone
// who can push to the repository).
const MaxArtifactBlob = 32 << 20

// ReadArtifact fetches the artifact manifest ref and the content of its layers (each at most
// MaxArtifactBlob bytes). The artifact type must be artifactType.
func (c *Client) ReadArtifact(ctx context.Context, ref name.Digest, artifactType string) (Artifact, error) {
	what := "reading the artifact " + ref.String()
	desc, err := remote.Get(ref, c.Options(ctx)...)
	if err != nil {
		return Artifact{}, classify(err, what, ref.Context().String())
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return Artifact{}, fmt.Errorf("%s: the manifest is not JSON: %w", what, err)
	}
	if m.ArtifactType != artifactType {
		return Artifact{}, fmt.Errorf("%s: artifactType %q, want %q", what, m.ArtifactType, artifactType)
	}
	a := Artifact{ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	for _, l := range m.Layers {
		if l.Size > MaxArtifactBlob {
			return Artifact{}, fmt.Errorf("%s: layer %s is %d bytes, over the limit of %d", what, l.Digest, l.Size, MaxArtifactBlob)
		}
		layer, err := remote.Layer(ref.Context().Digest(l.Digest.String()), c.Options(ctx)...)
		if err != nil {
			return Artifact{}, classify(err, what, ref.Context().String())
		}
		rc, err := layer.Compressed()
		if err != nil {
			return Artifact{}, classify(err, what, ref.Context().String())
		}
		data, err := io.ReadAll(io.LimitReader(rc, MaxArtifactBlob+1))
		rc.Close()
		if err != nil {
			return Artifact{}, classify(err, what, ref.Context().String())
		}
		if int64(len(data)) != l.Size {
			return Artifact{}, fmt.Errorf("%s: layer %s has %d bytes, the manifest says %d", what, l.Digest, len(data), l.Size)
		}
		if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != l.Digest {
			return Artifact{}, fmt.Errorf("%s: layer content has digest %s, the manifest says %s", what, h, l.Digest)
		}
		a.Blobs = append(a.Blobs, Blob{MediaType: string(l.MediaType), Data: data, Annotations: l.Annotations})
	}
	return a, nil
}

// IsDigest reports whether ref names a manifest by digest (…@sha256:<64 hex>).
func IsDigest(ref string) bool {
	_, d, ok := strings.Cut(ref, "@")
	return ok && strings.HasPrefix(d, "sha256:") && len(d) == len("sha256:")+64
}

// ParseDigest parses REPO and sha256:… into a digest reference.
func ParseDigest(repo, digest string) (name.Digest, error) {
	d, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%w %q: %v", ErrInvalidReference, repo+"@"+digest, err)
	}
	return d, nil
}
