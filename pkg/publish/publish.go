package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/labrats-work/flightline/pkg/imagepolicy"
)

// Artifact is what gets published: a v1.Image or a v1.ImageIndex (for example from pkg/build).
type Artifact interface {
	partial.Describable
	RawManifest() ([]byte, error)
}

// Publisher puts an artifact somewhere under a set of tags. It never builds.
type Publisher interface {
	Publish(ctx context.Context, a Artifact, tags []string) (*Report, error)
}

// Status says what happened to one blob.
type Status string

// Blob statuses.
const (
	StatusUploaded Status = "uploaded" // sent to the registry
	StatusPresent  Status = "present"  // already in the repository (or mounted): not sent
	StatusWritten  Status = "written"  // written to an OCI layout directory
)

// Report is the outcome of a Publish.
type Report struct {
	// Repository is the image repository (HOST/PATH), or the layout directory for a Layout.
	Repository string `json:"repository"`
	// Digest is the digest of the top manifest: the index for several platforms.
	Digest string `json:"digest"`
	// MediaType is the top manifest's media type.
	MediaType string `json:"mediaType"`
	// Tags are the tags written (all of them, or none when the push failed).
	Tags []string `json:"tags"`
	// Pushed is true when the artifact went to a registry (false for a layout).
	Pushed bool `json:"pushed"`
	// Images lists each platform's image and its layers.
	Images []ImageReport `json:"images"`
	// BytesUploaded counts every compressed byte sent (layers and configs, retries included).
	BytesUploaded int64 `json:"bytesUploaded"`
	// Duration is how long the publish took.
	Duration time.Duration `json:"duration"`
}

// ImageReport describes one image of the artifact.
type ImageReport struct {
	Platform string        `json:"platform,omitempty"`
	Digest   string        `json:"digest"`
	Layers   []LayerReport `json:"layers"`
}

// LayerReport describes one layer blob: its size and whether it was sent.
type LayerReport struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	Status    Status `json:"status"`
}

// Reference is REPOSITORY@DIGEST, the immutable name of what was published.
func (r *Report) Reference() string { return r.Repository + "@" + r.Digest }

// Uploaded counts the layers sent and the layers found already present.
func (r *Report) Uploaded() (sent, present int) {
	for _, img := range r.Images {
		for _, l := range img.Layers {
			if l.Status == StatusPresent {
				present++
			} else {
				sent++
			}
		}
	}
	return sent, present
}

// Registry publishes to an image repository. Create it with NewRegistry.
type Registry struct {
	repo name.Repository
	o    options
}

type options struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	jobs      int
	backoff   remote.Backoff
	userAgent string
}

// Option configures NewRegistry.
type Option func(*options)

// WithKeychain sets where credentials come from (default: anonymous). The command passes
// pkg/registry's Keychain (GITHUB_TOKEN for ghcr.io, else the docker config).
func WithKeychain(kc authn.Keychain) Option { return func(o *options) { o.keychain = kc } }

// WithTransport sets the HTTP transport (default remote.DefaultTransport); the retry wrapper
// goes around it.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithJobs sets how many blobs and manifests go up at once (default 4).
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithBackoff sets the retry schedule for 408, 429 and 5xx answers and network errors
// (default: 3 tries, 1 s then 3 s apart, 10 % jitter).
func WithBackoff(b remote.Backoff) Option { return func(o *options) { o.backoff = b } }

// WithUserAgent sets the User-Agent prefix (default "flightline").
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// RetryStatusCodes are the answers a push retries (with the backoff): 408, 429 and 5xx.
var RetryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// ErrPush is returned (wrapped) when a push fails; the error names the repository.
var ErrPush = errors.New("push failed")

// NewRegistry returns a publisher for repository (HOST/PATH, no tag or digest). Loopback hosts
// (localhost, 127.0.0.1) are spoken to over plain HTTP.
func NewRegistry(repository string, opts ...Option) (*Registry, error) {
	repo, err := name.NewRepository(repository)
	if err != nil {
		return nil, fmt.Errorf("image repository %q: %w (want HOST/PATH in lower case, e.g. ghcr.io/acme/agent)", repository, err)
	}
	o := options{
		keychain:  authn.NewMultiKeychain(), // resolves to anonymous
		transport: remote.DefaultTransport,
		jobs:      4,
		backoff:   remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3},
		userAgent: "flightline",
	}
	for _, f := range opts {
		f(&o)
	}
	return &Registry{repo: repo, o: o}, nil
}

// Repository is the repository this publisher pushes to.
func (r *Registry) Repository() name.Repository { return r.repo }

// Publish pushes a (its blobs, then every manifest by digest) and only then writes the tags, so
// a push that fails part-way leaves no tag behind. Version tags (VersionTag: the tags a Flux
// ImagePolicy may select) come last, one at a time, after every other tag is in: a publish that
// fails leaves no version tag on the registry (the ones this run wrote are deleted again, and
// the error names any the registry refused to delete), and a re-run completes it. Blobs,
// manifests and version tags the repository already has are not sent again. The report says,
// per layer, whether it was uploaded or present.
func (r *Registry) Publish(ctx context.Context, a Artifact, tags []string) (*Report, error) {
	start := time.Now()
	refs, err := tagRefs(r.repo, tags)
	if err != nil {
		return nil, err
	}
	d, err := a.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest of the artifact: %w", err)
	}
	t := newTracker()
	tracked, err := track(a, t)
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{
		remote.WithAuthFromKeychain(r.o.keychain),
		remote.WithTransport(r.o.transport),
		remote.WithJobs(r.o.jobs),
		remote.WithRetryBackoff(r.o.backoff),
		remote.WithRetryStatusCodes(RetryStatusCodes...),
		remote.WithUserAgent(r.o.userAgent),
		remote.WithContext(ctx),
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	byDigest := r.repo.Digest(d.String())
	if err := pusher.Push(ctx, byDigest, tracked); err != nil {
		return nil, fmt.Errorf("%w: pushing %s to %s (no tag was written): %w", ErrPush, d, r.repo, err)
	}
	var others, versions []name.Tag
	for _, ref := range refs {
		if VersionTag(ref.TagStr()) {
			versions = append(versions, ref)
		} else {
			others = append(others, ref)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.o.jobs, 1))
	for _, ref := range others {
		g.Go(func() error {
			if err := pusher.Push(gctx, ref, tracked); err != nil {
				return fmt.Errorf("%w: tagging %s as %s: %w (no version tag was written; re-run to complete the publish)", ErrPush, byDigest, ref, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := r.pushVersionTags(ctx, pusher, opts, tracked, d, versions); err != nil {
		return nil, err
	}
	rep, err := report(a, t, StatusUploaded)
	if err != nil {
		return nil, err
	}
	rep.Repository, rep.Tags, rep.Pushed = r.repo.String(), tags, true
	rep.Duration = time.Since(start)
	return rep, nil
}

// versionInTag finds MAJOR.MINOR.PATCH inside a tag (prod-v1.7.3-abc1234), which a Flux
// filterTags extraction can turn into a version.
var versionInTag = regexp.MustCompile(`[0-9]+\.[0-9]+\.[0-9]+`)

// VersionTag reports whether a Flux ImagePolicy may select tag: it reads as a version under
// Flux's rules (fluxcd/pkg/version: 1.5.0, v1.5.0, 2024.01.15) or holds MAJOR.MINOR.PATCH that
// filterTags can extract. Publish writes these tags last.
func VersionTag(tag string) bool {
	if _, err := imagepolicy.ParseVersion(tag); err == nil {
		return true
	}
	return versionInTag.MatchString(tag)
}

// pushVersionTags writes the version tags one by one; when one fails it deletes the ones it
// wrote, so that no version tag points at a publish that failed.
func (r *Registry) pushVersionTags(ctx context.Context, pusher *remote.Pusher, opts []remote.Option, a Artifact, d v1.Hash, refs []name.Tag) error {
	var written []name.Tag
	for _, ref := range refs {
		if desc, err := remote.Head(ref, opts...); err == nil && desc.Digest == d {
			continue // already there (a re-run): not ours to delete on failure
		}
		err := pusher.Push(ctx, ref, a)
		if err == nil {
			written = append(written, ref)
			continue
		}
		failed := fmt.Errorf("%w: tagging %s@%s as %s: %w", ErrPush, r.repo, d, ref.TagStr(), err)
		var kept []string
		for _, w := range written {
			// A fresh context: the run's may be what was cancelled.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			derr := remote.Delete(w, append(opts, remote.WithContext(dctx))...)
			cancel()
			if derr != nil {
				kept = append(kept, fmt.Sprintf("%s (%v)", w.TagStr(), derr))
			}
		}
		switch {
		case len(kept) > 0:
			return fmt.Errorf("%w; the registry refused to delete the version tags this run wrote: %s; delete them, or re-run to complete the publish", failed, strings.Join(kept, ", "))
		case len(written) > 0:
			return fmt.Errorf("%w; the version tags this run wrote were deleted again; re-run to complete the publish", failed)
		}
		return fmt.Errorf("%w; no version tag was written; re-run to complete the publish", failed)
	}
	return nil
}

func tagRefs(repo name.Repository, tags []string) ([]name.Tag, error) {
	var refs []name.Tag
	for _, tag := range tags {
		ref, err := name.NewTag(repo.String()+":"+tag, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w (tags are up to 128 of [A-Za-z0-9_.-], not starting with . or -)", tag, err)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func track(a Artifact, t *tracker) (Artifact, error) {
	switch v := a.(type) {
	case v1.ImageIndex:
		return &trackedIndex{inner: v, t: t}, nil
	case v1.Image:
		return &trackedImage{Image: v, t: t}, nil
	}
	return nil, fmt.Errorf("cannot publish a %T: want a v1.Image or a v1.ImageIndex", a)
}

// report describes a after a push; blobs the tracker saw read get sentStatus.
func report(a Artifact, t *tracker, sentStatus Status) (*Report, error) {
	d, err := a.Digest()
	if err != nil {
		return nil, err
	}
	mt, err := a.MediaType()
	if err != nil {
		return nil, err
	}
	rep := &Report{Digest: d.String(), MediaType: string(mt), BytesUploaded: t.total(), Tags: []string{}}
	add := func(img v1.Image, platform string) error {
		d, err := img.Digest()
		if err != nil {
			return err
		}
		ir := ImageReport{Platform: platform, Digest: d.String()}
		ls, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range ls {
			ld, err := l.Digest()
			if err != nil {
				return err
			}
			size, err := l.Size()
			if err != nil {
				return err
			}
			lmt, err := l.MediaType()
			if err != nil {
				return err
			}
			st := StatusPresent
			if sent, _ := t.uploaded(ld); sent {
				st = sentStatus
			}
			ir.Layers = append(ir.Layers, LayerReport{Digest: ld.String(), MediaType: string(lmt), Size: size, Status: st})
		}
		rep.Images = append(rep.Images, ir)
		return nil
	}
	switch v := a.(type) {
	case v1.ImageIndex:
		im, err := v.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, desc := range im.Manifests {
			if !desc.MediaType.IsImage() {
				continue
			}
			img, err := v.Image(desc.Digest)
			if err != nil {
				return nil, err
			}
			p := ""
			if desc.Platform != nil {
				p = desc.Platform.String()
			}
			if err := add(img, p); err != nil {
				return nil, err
			}
		}
	case v1.Image:
		p := ""
		if cf, err := v.ConfigFile(); err == nil && cf.OS != "" {
			p = (&v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}).String()
		}
		if err := add(v, p); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

var (
	_ Publisher = (*Registry)(nil)
	_ Publisher = (*Layout)(nil)
)
