package github

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// transport adds the token to every request and retries what GitHub asks to retry: 429, 5xx,
// and 403 secondary (or exhausted primary) rate limits, waiting Retry-After (or until
// X-RateLimit-Reset) when GitHub says how long, else an exponential backoff.
type transport struct {
	base     http.RoundTripper
	token    string
	attempts int           // total tries per request
	backoff  time.Duration // first wait; doubles each retry
	maxWait  time.Duration // longest wait accepted; beyond it the answer is returned as is
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	// hosts are the API's hosts: the token goes to them only, never to the host a redirect
	// points at (an attacker's, or a storage host that would log it).
	hosts map[string]bool
}

// apiHosts are the hosts of the REST and GraphQL endpoints.
func apiHosts(urls ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			m[strings.ToLower(u.Host)] = true
		}
	}
	return m
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		if t.hosts == nil || t.hosts[strings.ToLower(r.URL.Host)] {
			r.Header.Set("Authorization", "Bearer "+t.token)
		} else {
			r.Header.Del("Authorization")
		}
		resp, err := t.base.RoundTrip(r)
		if attempt >= t.attempts || (req.Body != nil && req.GetBody == nil) || req.Context().Err() != nil {
			return resp, err
		}
		wait, retry := t.retryable(resp, err, attempt)
		if !retry {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// retryable says whether to try again and after how long.
func (t *transport) retryable(resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := t.backoff << (attempt - 1)
	if err != nil {
		return backoff, true // connection reset, timeout: writes are compare-and-swap, so a retry is safe
	}
	wait, told := t.serverWait(resp)
	if told && wait > t.maxWait {
		return 0, false // longer than we may wait: the caller gets GitHub's answer and says so
	}
	if !told {
		wait = backoff
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return wait, true
	case resp.StatusCode == http.StatusForbidden:
		if told || resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return wait, true
		}
		// A secondary rate limit without Retry-After: GitHub says so in the body.
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		// GitHub asks to wait at least a minute after a secondary rate limit that names no time.
		if strings.Contains(strings.ToLower(string(body)), "secondary rate limit") && time.Minute <= t.maxWait {
			return max(wait, time.Minute), true
		}
	}
	return 0, false
}

// serverWait reads how long GitHub asks to wait: Retry-After, or the rate limit's reset time
// when the limit is exhausted.
func (t *transport) serverWait(resp *http.Response) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(n, 0).Sub(t.now()), 0), true
		}
	}
	return 0, false
}
