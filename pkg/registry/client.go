package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors that callers branch on; each is wrapped with the repository and what to do.
var (
	// ErrInvalidReference reports a repository or tag that is not a valid image reference.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrUnreachable reports that the registry could not be reached at all.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrUnauthorized reports that the registry refused the credentials (HTTP 401 or 403).
	ErrUnauthorized = errors.New("registry refused access")
	// ErrNotFound reports a repository or tag that does not exist (or is private: registries
	// answer 404 for both).
	ErrNotFound = errors.New("not found in registry")
)

// RetryStatusCodes are the HTTP statuses a Client retries: timeouts, rate limits and server errors.
var RetryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// DefaultRetryBackoff waits 1s, then 3s, then 9s: four attempts in all.
var DefaultRetryBackoff = remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 4}

// Client lists tags and resolves digests in OCI registries.
type Client struct {
	getenv    func(string) string
	keychain  authn.Keychain
	transport http.RoundTripper
	backoff   remote.Backoff
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithGetenv sets how the environment is read for credentials (GITHUB_TOKEN, GITHUB_ACTOR; see
// Keychain). Default: an empty environment, so only the docker config is used.
func WithGetenv(getenv func(string) string) Option { return func(c *Client) { c.getenv = getenv } }

// WithKeychain replaces the credentials lookup. Default: Keychain(getenv).
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// WithTransport sets the HTTP transport under authentication and retries.
// Default: remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(c *Client) { c.transport = t } }

// WithRetryBackoff sets the backoff between retries of timeouts, 429 and 5xx answers
// (RetryStatusCodes) and network flakes. Default: DefaultRetryBackoff.
func WithRetryBackoff(b remote.Backoff) Option { return func(c *Client) { c.backoff = b } }

// WithUserAgent sets the User-Agent sent to registries. Default: "flightline".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a Client; see the options for the defaults.
func New(opts ...Option) *Client {
	c := &Client{
		getenv:    func(string) string { return "" },
		transport: remote.DefaultTransport,
		backoff:   DefaultRetryBackoff,
		userAgent: "flightline",
	}
	for _, o := range opts {
		o(c)
	}
	if c.keychain == nil {
		c.keychain = Keychain(c.getenv)
	}
	return c
}

// Options returns the go-containerregistry options for a call under ctx: credentials, retries,
// transport and user agent. Other packages (build, publish) use them for their own calls.
func (c *Client) Options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithRetryBackoff(c.backoff),
		remote.WithRetryStatusCodes(RetryStatusCodes...),
		remote.WithUserAgent(c.userAgent),
	}
}

func parseRepository(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w %q: %v; write it as HOST/PATH, e.g. ghcr.io/acme/agent", ErrInvalidReference, repo, err)
	}
	return r, nil
}

// Tags lists the tags of repo (e.g. "ghcr.io/acme/agent"), in the registry's order.
func (c *Client) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := parseRepository(repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r, c.Options(ctx)...)
	if err != nil {
		return nil, classify(err, "listing the tags of "+repo, repo)
	}
	return tags, nil
}

// Digest returns the digest ("sha256:...") of repo:tag. It asks with HEAD and falls back to GET
// when the registry's HEAD answer has no digest (or fails in a way GET may explain).
func (c *Client) Digest(ctx context.Context, repo, tag string) (string, error) {
	r, err := parseRepository(repo)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(r.String() + ":" + tag)
	if err != nil {
		return "", fmt.Errorf("%w: tag %q of %s: %v", ErrInvalidReference, tag, repo, err)
	}
	what := fmt.Sprintf("resolving the digest of %s:%s", repo, tag)
	desc, err := remote.Head(ref, c.Options(ctx)...)
	if err == nil && desc.Digest.Hex != "" {
		return desc.Digest.String(), nil
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || unreachable(err)) {
		return "", classify(err, what, repo)
	}
	got, err := remote.Get(ref, c.Options(ctx)...)
	if err != nil {
		return "", classify(err, what, repo)
	}
	return got.Digest.String(), nil
}

func unreachable(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var urlErr *url.Error
	var terr *transport.Error
	if errors.As(err, &terr) {
		return false
	}
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &urlErr)
}

// classify turns a go-containerregistry error into one that names the repository and says what
// to do.
func classify(err error, what, repo string) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%s: %w (%d): check the credentials: for ghcr.io, GITHUB_TOKEN needs packages:read on the package; otherwise run docker login for the registry: %v", what, ErrUnauthorized, terr.StatusCode, err)
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w: the repository %s (or the tag) does not exist, or it is private and the credentials cannot see it: %v", what, ErrNotFound, repo, err)
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%s: %w: check the credentials: for ghcr.io, GITHUB_TOKEN needs packages:read on the package; otherwise run docker login for the registry: %v", what, ErrUnauthorized, err)
			case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode:
				return fmt.Errorf("%s: %w: the repository %s (or the tag) does not exist, or it is private: %v", what, ErrNotFound, repo, err)
			}
		}
		return fmt.Errorf("%s: the registry answered %d: %w", what, terr.StatusCode, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if unreachable(err) {
		return fmt.Errorf("%s: %w: cannot reach the registry of %s; check the address and the network: %v", what, ErrUnreachable, repo, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
