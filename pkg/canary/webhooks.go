package canary

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Webhook types, as Flagger names them (spec.analysis.webhooks[].type; no type is rollout).
const (
	HookConfirmRollout         = "confirm-rollout"
	HookPreRollout             = "pre-rollout"
	HookRollout                = "rollout"
	HookConfirmTrafficIncrease = "confirm-traffic-increase"
	HookConfirmPromotion       = "confirm-promotion"
	HookPostRollout            = "post-rollout"
	HookRollback               = "rollback"
	HookEvent                  = "event"
)

// Canary phases sent in a webhook payload, Flagger's names for them.
const (
	PhaseProgressing      = "Progressing"
	PhaseWaitingPromotion = "WaitingPromotion"
	PhaseSucceeded        = "Succeeded"
	PhaseFailed           = "Failed"
)

// DefaultWebhookTimeout is the timeout of one webhook request when the hook gives none
// (Flagger's default).
const DefaultWebhookTimeout = 10 * time.Second

// maxHookBody bounds what is read of a webhook's answer: only a bounded, cleaned line of it is
// ever shown.
const maxHookBody = 4 << 10

// hookTypes is every type Flagger accepts, in the order of a rollout, with what Flightline does
// with it after Flux has rolled the version out.
var hookTypes = []struct {
	typ    string
	called bool
	effect string
}{
	{HookConfirmRollout, false, "not called: it gates the start of a rollout, and Flux has rolled the version out when the monitor starts; gate the promotion PR's merge instead (a required review)"},
	{HookPreRollout, true, "called once the new version serves, before the first check, and again every interval until it answers 2xx; each failure is a failed check"},
	{HookRollout, true, "called every interval before the metrics (load tests: Flagger's loadtester starts the command, or leaves it running); a failure fails that check"},
	{HookConfirmTrafficIncrease, false, "not called: Flightline shifts no traffic (Flux runs the new version on every pod); use confirm-promotion to gate the success decision"},
	{HookConfirmPromotion, true, "called at the promotion point (blue/green: one check before) and, while it refuses, after later passing checks as Flagger asks again; success waits until it answers 2xx (bounded by maxDuration: inconclusive, nothing reverted)"},
	{HookPostRollout, true, "called once with the final phase (Succeeded or Failed) when the decision is success or rollback; a failure is reported, the decision stands"},
	{HookRollback, true, "called every interval before the checks; a 2xx answer rolls back at once"},
	{HookEvent, true, "called for each event of the watch (its start, every check, the decision) with Flagger's eventMessage, eventType and timestamp; a failure is reported, never decided on"},
}

func hookType(typ string) (called bool, effect string, ok bool) {
	for _, h := range hookTypes {
		if h.typ == typ {
			return h.called, h.effect, true
		}
	}
	return false, "", false
}

func hookTypeNames() string {
	names := make([]string, len(hookTypes))
	for i, h := range hookTypes {
		names[i] = h.typ
	}
	return strings.Join(names, ", ")
}

// Webhook is one of spec.analysis.webhooks.
type Webhook struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// URL is the address as configured: it may carry credentials, so it is never printed or
	// serialised. Endpoint is the same address without userinfo or query, for messages.
	URL      string        `json:"-"`
	Endpoint string        `json:"url"`
	Timeout  time.Duration `json:"timeout"`
	Retries  int           `json:"retries,omitempty"`
	// Metadata is sent as is; it may carry tokens, so it never reaches the report.
	Metadata   map[string]string `json:"-"`
	DisableTLS bool              `json:"disableTLS,omitempty"`
	// Called says whether Flightline calls hooks of this type (see the README's mapping).
	Called bool `json:"called"`
}

// WebhookPayload is the JSON body of every webhook request, Flagger's CanaryWebhookPayload.
type WebhookPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// HookCall is what one webhook answered. OK is Flagger's success: HTTP 200 to 202.
type HookCall struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Phase    string `json:"phase"`
	OK       bool   `json:"ok"`
	Status   int    `json:"status,omitempty"` // the last HTTP status, 0 when none came back
	Attempts int    `json:"attempts"`
	// Detail is the answer's body or the error, cleaned (one line, bounded, credentials removed).
	Detail string `json:"detail,omitempty"`
}

func (h HookCall) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q ", h.Type, h.Name)
	if h.Type == HookRollback { // its 2xx is the alarm; anything else says "no rollback"
		switch {
		case h.OK:
			fmt.Fprintf(&b, "asks for a rollback (HTTP %d)", h.Status)
		case h.Status != 0:
			fmt.Fprintf(&b, "no rollback (HTTP %d)", h.Status)
		default:
			b.WriteString("no answer, no rollback: " + h.Detail)
		}
		return b.String()
	}
	switch {
	case h.OK:
		fmt.Fprintf(&b, "ok (HTTP %d)", h.Status)
	case h.Status != 0:
		fmt.Fprintf(&b, "failed (HTTP %d", h.Status)
	default:
		b.WriteString("failed (no answer")
	}
	if !h.OK {
		if h.Attempts > 1 {
			fmt.Fprintf(&b, " after %d attempts", h.Attempts)
		}
		b.WriteString(")")
		if h.Detail != "" {
			b.WriteString(": " + h.Detail)
		}
	}
	return b.String()
}

func hooksText(calls []HookCall) string {
	parts := make([]string, len(calls))
	for i, c := range calls {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// webhookFields are the fields of a Flagger webhook.
var webhookFields = []string{"name", "type", "url", "timeout", "retries", "metadata", "muteAlert", "disableTLS"}

// webhooks reads spec.analysis.webhooks: every type Flagger accepts loads; those Flightline does
// not call are named in a note.
func (p *parser) webhooks(c *Config, wh *yaml.Node, path string) error {
	if wh == nil {
		return nil
	}
	if wh.Kind != yaml.SequenceNode {
		return p.errAt(wh, path, "want a list")
	}
	names := map[string]bool{}
	for i, w := range wh.Content {
		wp := fmt.Sprintf("%s[%d]", path, i)
		if err := p.checkKeys(w, wp, webhookFields...); err != nil {
			return err
		}
		h := Webhook{Name: scalar(get(w, "name")), Type: scalar(get(w, "type"))}
		if h.Name == "" {
			return p.errAt(w, wp+".name", "missing: every webhook needs a name")
		}
		if names[h.Name] {
			return p.errAt(get(w, "name"), wp+".name", "duplicate webhook name %q", h.Name)
		}
		names[h.Name] = true
		if h.Type == "" {
			h.Type = HookRollout // Flagger calls a hook without a type as a rollout hook
		}
		called, effect, ok := hookType(h.Type)
		if !ok {
			return p.errAt(get(w, "type"), wp+".type", "unknown webhook type %q; valid: %s", h.Type, hookTypeNames())
		}
		h.Called = called
		u, err := hookURL(scalar(get(w, "url")))
		if err != nil {
			return p.errAt(get(w, "url"), wp+".url", "%s", err)
		}
		h.URL, h.Endpoint = u.String(), endpoint(u)
		if h.Timeout, err = p.duration(get(w, "timeout"), wp+".timeout", DefaultWebhookTimeout); err != nil {
			return err
		}
		if h.Retries, err = p.integer(get(w, "retries"), wp+".retries", 0); err != nil {
			return err
		}
		if h.Metadata, err = p.stringMap(get(w, "metadata"), wp+".metadata"); err != nil {
			return err
		}
		if n := get(w, "disableTLS"); n != nil {
			if h.DisableTLS, err = p.boolean(n, wp+".disableTLS"); err != nil {
				return err
			}
			if h.DisableTLS && called {
				p.note(c, wp+".disableTLS", NoteMapped, "the TLS certificate of webhook %q is not verified, as the hook asks", h.Name)
			}
		}
		if n := get(w, "muteAlert"); n != nil {
			mute, err := p.boolean(n, wp+".muteAlert")
			if err != nil {
				return err
			}
			if mute {
				p.note(c, wp+".muteAlert", NoteNotApplicable, "Flightline sends no alerts")
			}
		}
		if !called {
			p.note(c, wp, NoteNotApplicable, "webhook %q (%s) is %s", h.Name, h.Type, effect)
		}
		c.Webhooks = append(c.Webhooks, h)
	}
	return nil
}

// hookURL checks a webhook's address: an absolute http(s) URL with a host. Errors never repeat
// credentials the URL may carry.
func hookURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("missing: give the webhook's http(s) address, e.g. http://flagger-loadtester.test/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL (give an absolute http(s) address, e.g. http://flagger-loadtester.test/)")
	}
	if u.Scheme == "" {
		return nil, errors.New("not an absolute URL: give the webhook's http(s) address, e.g. http://flagger-loadtester.test/")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: want http or https", Clean(u.Scheme))
	}
	if u.Host == "" {
		return nil, errors.New("no host: give an absolute http(s) address, e.g. http://flagger-loadtester.test/")
	}
	return u, nil
}

// endpoint is u without userinfo, query or fragment: safe to print.
func endpoint(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := v.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// calledHooks are the webhooks Flightline calls, of the given types (all when none is given).
func (c *Config) calledHooks(types ...string) []Webhook {
	var out []Webhook
	for _, h := range c.Webhooks {
		if h.Called && (len(types) == 0 || contains(types, h.Type)) {
			out = append(out, h)
		}
	}
	return out
}

// Checksum identifies the watched revision in webhook payloads, as Flagger's checksum (a hash of
// the canary's last applied spec and tracked configs) does: an FNV-32a hash of the version and
// the digest, written as Flagger writes its hashes. Empty when neither is known.
func (c *Config) Checksum() string {
	if c.Version == "" && c.Digest == "" {
		return ""
	}
	h := fnv.New32a()
	_, _ = io.WriteString(h, c.Version+"\x00"+c.Digest) // a hash's Write never fails
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	dec := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(dec))
	for i := range dec {
		out[i] = alphabet[int(dec[i])%len(alphabet)]
	}
	return string(out)
}

// WebhookCaller calls webhooks as Flagger does: a JSON POST; HTTP 200 to 202 is success, any
// other answer or none a failure; each attempt bounded by the hook's timeout; a failure that
// may pass (no answer, 429, 5xx but 501) tried again up to the hook's retries, waiting 1s, 2s,
// 4s… up to 30s between attempts, or what Retry-After says on a 429 or 503 (at most 30s).
type WebhookCaller struct {
	client           *http.Client
	waitMin, waitMax time.Duration
	dial             func(ctx context.Context, network, addr string) (net.Conn, error)
	redact           func(string) string
}

// WebhookOption configures a WebhookCaller.
type WebhookOption func(*WebhookCaller)

// WithHTTPClient sets the HTTP client of webhook requests (its own Timeout, if any, also
// applies). Default: a client on Go's default transport.
func WithHTTPClient(c *http.Client) WebhookOption { return func(w *WebhookCaller) { w.client = c } }

// WithRetryWait sets the first and the longest wait between attempts. Default: 1s and 30s.
func WithRetryWait(first, longest time.Duration) WebhookOption {
	return func(w *WebhookCaller) { w.waitMin, w.waitMax = first, longest }
}

// WithDialer sets how Reachable connects. Default: a net.Dialer.
func WithDialer(d func(ctx context.Context, network, addr string) (net.Conn, error)) WebhookOption {
	return func(w *WebhookCaller) { w.dial = d }
}

// WithRedactor sets a function applied to every answer and error text before it is kept (e.g.
// one that replaces the run's masked secrets). Default: none beyond Clean.
func WithRedactor(f func(string) string) WebhookOption {
	return func(w *WebhookCaller) { w.redact = f }
}

// NewWebhookCaller returns a caller with the options applied over the defaults.
func NewWebhookCaller(opts ...WebhookOption) *WebhookCaller {
	w := &WebhookCaller{client: &http.Client{}, waitMin: time.Second, waitMax: 30 * time.Second}
	for _, o := range opts {
		o(w)
	}
	if w.dial == nil {
		w.dial = (&net.Dialer{}).DialContext
	}
	return w
}

// Reachable connects to the hook's host and port, sending nothing (a call could start a test):
// before a watch, a hook this runner cannot reach is "cannot watch", never a failed check. When
// the HTTP client's transport sends the hook's requests through a proxy, the proxy is what must
// answer.
func (w *WebhookCaller) Reachable(ctx context.Context, h Webhook) error {
	u, err := url.Parse(h.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("webhook %q (%s): not an http(s) URL", h.Name, h.Type)
	}
	target, via := u, ""
	if proxy := w.proxyFor(u); proxy != nil {
		target, via = proxy, " through its proxy "+endpoint(proxy)
	}
	port := target.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[target.Scheme]
		if port == "" {
			port = "80"
		}
	}
	dctx, cancel := context.WithTimeout(ctx, min(h.Timeout, DefaultWebhookTimeout))
	defer cancel()
	conn, err := w.dial(dctx, "tcp", net.JoinHostPort(target.Hostname(), port))
	if err != nil {
		return fmt.Errorf("webhook %q (%s) at %s cannot be reached from this runner%s: %s", h.Name, h.Type, h.Endpoint, via, Clean(unwrapURLError(err).Error()))
	}
	return conn.Close()
}

// proxyFor is the proxy the client's transport would use for u, or nil.
func (w *WebhookCaller) proxyFor(u *url.URL) *url.URL {
	rt := w.client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok || tr.Proxy == nil {
		return nil
	}
	p, err := tr.Proxy(&http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}})
	if err != nil || p == nil {
		return nil
	}
	return p
}

// Call posts p to the hook and returns what it answered; it never fails otherwise.
func (w *WebhookCaller) Call(ctx context.Context, h Webhook, p WebhookPayload) HookCall {
	call := HookCall{Name: h.Name, Type: h.Type, Phase: p.Phase}
	body, err := json.Marshal(p)
	if err != nil { // a struct of strings: cannot happen
		call.Detail = Clean(err.Error())
		return call
	}
	client := w.client
	if h.DisableTLS {
		client = insecureClient(client)
	}
	for attempt := 0; ; attempt++ {
		call.Attempts = attempt + 1
		a := w.attempt(ctx, client, h, body, attempt)
		if w.redact != nil {
			a.detail = Clean(w.redact(a.detail))
		}
		call.Status, call.Detail, call.OK = a.status, a.detail, a.ok
		if a.ok {
			return call
		}
		if !a.retry || attempt >= h.Retries || ctx.Err() != nil {
			return call
		}
		select {
		case <-ctx.Done():
			return call
		case <-time.After(a.wait):
		}
	}
}

// attempt is one request's outcome: ok is Flagger's success (HTTP 200 to 202, the answer
// read); retry says whether Flagger's retry policy (go-retryablehttp's default) tries again,
// wait how long it waits first.
type attempt struct {
	status int
	detail string
	ok     bool
	retry  bool
	wait   time.Duration
}

func (w *WebhookCaller) attempt(ctx context.Context, client *http.Client, h Webhook, body []byte, n int) attempt {
	actx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return attempt{detail: "cannot build the request: " + Clean(unwrapURLError(err).Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return attempt{detail: "cancelled: " + ctx.Err().Error()}
		case errors.Is(err, context.DeadlineExceeded) || actx.Err() != nil:
			return attempt{detail: fmt.Sprintf("POST %s: no answer within the timeout of %s", h.Endpoint, h.Timeout), retry: true, wait: w.backoff(n, nil)}
		}
		return attempt{detail: fmt.Sprintf("POST %s: %s", h.Endpoint, Clean(unwrapURLError(err).Error())), retry: retryable(err), wait: w.backoff(n, nil)}
	}
	defer func() { _ = resp.Body.Close() }() // the answer has been read
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHookBody))
	a := attempt{status: resp.StatusCode}
	if err != nil { // as in Flagger, an answer that cannot be read is a failure, not retried
		a.detail = fmt.Sprintf("HTTP %d, reading the answer: %s", a.status, Clean(unwrapURLError(err).Error()))
		return a
	}
	a.detail = Clean(string(b))
	a.ok = a.status >= http.StatusOK && a.status <= http.StatusAccepted // Flagger: above 202 fails
	a.retry = a.status == http.StatusTooManyRequests || (a.status >= 500 && a.status != http.StatusNotImplemented)
	a.wait = w.backoff(n, resp)
	return a
}

// backoff is the wait before attempt n+1: waitMin·2ⁿ up to waitMax, or Retry-After on a 429
// or 503, at most waitMax.
func (w *WebhookCaller) backoff(n int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, w.waitMax)
		}
	}
	d := w.waitMin
	for range n {
		d *= 2
		if d >= w.waitMax {
			return w.waitMax
		}
	}
	return min(d, w.waitMax)
}

// retryable is go-retryablehttp's default policy for errors without an answer: everything is
// tried again except too many redirects, an unsupported scheme, a bad header and an unknown
// certificate authority.
func retryable(err error) bool {
	var ua x509.UnknownAuthorityError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &ce) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"stopped after", "unsupported protocol scheme", "invalid header"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// unwrapURLError drops net/url's wrapper, which repeats the URL (and so its credentials).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// insecureClient is c with TLS verification off (a hook's disableTLS).
func insecureClient(c *http.Client) *http.Client {
	cp := *c
	tr, ok := c.Transport.(*http.Transport)
	if c.Transport == nil {
		tr, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return c // a custom round tripper: its own TLS settings apply
	}
	tr = tr.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the hook's disableTLS asks for it, and the summary says so
	cp.Transport = tr
	return &cp
}
