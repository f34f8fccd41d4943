package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// transport adds the token and GitHub's recommended headers to every request and retries
// what is safe to retry:
//
//   - rate limits, whatever the request: 429, 403 secondary (or exhausted primary) limits, and
//     GraphQL limits, which GitHub answers with HTTP 200 and an error ("If you exceed your
//     primary rate limit, the response status will still be 200 … the value of the
//     x-ratelimit-remaining header will be 0"; a secondary limit comes as 200 or 403 — GitHub
//     docs, "Rate limits and query limits for the GraphQL API"): GitHub did nothing, so trying
//     again is safe. It waits Retry-After, or until x-ratelimit-reset when the limit is
//     exhausted, or at least a minute after a secondary limit that names no time, else an
//     exponential backoff;
//   - 5xx and dropped connections, only for idempotent requests (GET, PUT, PATCH, DELETE, and
//     GraphQL queries). A POST or a GraphQL mutation whose answer is lost may have been done
//     (GitHub answers 502/504 on timeouts after doing the work): the forge looks for what it
//     may have made before trying again (Forge.write).
type transport struct {
	base      http.RoundTripper
	token     string
	userAgent string
	attempts  int           // total tries per request
	backoff   time.Duration // first wait; doubles each retry
	maxWait   time.Duration // longest wait accepted; beyond it the answer is returned as is
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	reset time.Time // when the last exhausted rate limit resets (zero: none seen)
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

// isGraphQL: a request to the GraphQL endpoint (/graphql, or /api/graphql on GHES).
func isGraphQL(req *http.Request) bool {
	return req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/graphql")
}

// idempotent says whether sending req twice does what sending it once does.
func idempotent(req *http.Request, body []byte) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	if isGraphQL(req) {
		var in struct{ Query string }
		if json.Unmarshal(body, &in) == nil && !strings.HasPrefix(strings.TrimSpace(in.Query), "mutation") {
			return true
		}
	}
	return false
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		body, _ = io.ReadAll(rc)
		rc.Close()
	}
	safe := idempotent(req, body)
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if req.Body != nil && req.GetBody != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if t.hosts == nil || t.hosts[strings.ToLower(r.URL.Host)] {
			r.Header.Set("Authorization", "Bearer "+t.token)
		} else {
			r.Header.Del("Authorization")
		}
		r.Header.Set("User-Agent", t.userAgent)
		// GitHub's recommended media type; go-github still asks for obsolete preview types
		// on some calls (repository topics, codes of conduct), which GitHub now serves by default.
		r.Header.Set("Accept", "application/vnd.github+json")
		r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		resp, err := t.base.RoundTrip(r)
		if attempt >= t.attempts || (req.Body != nil && req.GetBody == nil) || req.Context().Err() != nil {
			return resp, err
		}
		wait, retry := t.retryable(req, resp, err, attempt, safe)
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

// neverSent: the connection was refused, so the request did nothing.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryable says whether to try again and after how long.
func (t *transport) retryable(req *http.Request, resp *http.Response, err error, attempt int, safe bool) (time.Duration, bool) {
	backoff := t.backoff << (attempt - 1)
	if err != nil {
		return backoff, safe || neverSent(err)
	}
	wait, told := t.serverWait(resp)
	if told && wait > t.maxWait {
		return 0, false // longer than we may wait: the caller gets GitHub's answer and says so
	}
	if !told {
		wait = backoff
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return wait, true
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return wait, safe
	case resp.StatusCode == http.StatusForbidden:
		if told || resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return wait, true
		}
		// A secondary rate limit without Retry-After: GitHub says so in the body.
		if secondary(peek(resp)) {
			return t.minute(wait)
		}
	case resp.StatusCode == http.StatusOK && isGraphQL(req):
		limited, sec := graphQLRateLimited(peek(resp))
		switch {
		case !limited:
			return 0, false
		case told:
			return wait, true
		case sec:
			return t.minute(wait)
		default: // a primary limit without its headers: back off
			return wait, true
		}
	}
	return 0, false
}

// minute: GitHub asks to wait at least a minute after a secondary rate limit that names no time.
func (t *transport) minute(wait time.Duration) (time.Duration, bool) {
	if time.Minute > t.maxWait {
		return 0, false
	}
	return max(wait, time.Minute), true
}

// peek reads the body and puts it back.
func peek(resp *http.Response) []byte {
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

func secondary(body []byte) bool {
	return strings.Contains(strings.ToLower(string(body)), "secondary rate limit")
}

// graphQLRateLimited reads a GraphQL answer's errors: a RATE_LIMITED error (GitHub's primary
// limit) or a message about a secondary rate limit.
func graphQLRateLimited(body []byte) (limited, secondaryLimit bool) {
	var out struct {
		Errors []struct{ Type, Message string }
	}
	if json.Unmarshal(body, &out) != nil {
		return false, false
	}
	for _, e := range out.Errors {
		low := strings.ToLower(e.Message)
		if strings.Contains(low, "secondary rate limit") {
			return true, true
		}
		// RATE_LIMITED (GitHub's docs, octokit) or RATE_LIMIT ("API rate limit already exceeded
		// for user ID …", yanyongyu/githubkit#271); x-ratelimit-remaining is not always 0
		// then (octokit/plugin-throttling.js#636), so the type or the message decides.
		if e.Type == "RATE_LIMITED" || e.Type == "RATE_LIMIT" || strings.Contains(low, "rate limit") {
			limited = true
		}
	}
	return limited, false
}

// serverWait reads how long GitHub asks to wait: Retry-After, or the rate limit's reset time
// when the limit is exhausted (remembered, for the error message when it is too long).
func (t *transport) serverWait(resp *http.Response) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			reset := time.Unix(n, 0)
			t.mu.Lock()
			t.reset = reset
			t.mu.Unlock()
			return max(reset.Sub(t.now()), 0), true
		}
	}
	return 0, false
}

// lastReset is when the last exhausted rate limit resets (zero when none was seen).
func (t *transport) lastReset() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reset
}
