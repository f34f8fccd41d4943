package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v90/github"

	"github.com/labrats-work/flightline/pkg/forge"
)

// Errors callers (doctor, the command layer) branch on, beside forge's.
var (
	// ErrAuth: GitHub rejected the token (401).
	ErrAuth = errors.New("GitHub rejected the token")
	// ErrPermission: the token may not do this (403), or a repository setting forbids it.
	ErrPermission = errors.New("permission denied by GitHub")
	// ErrUnavailable: GitHub kept failing (5xx, rate limits) after the retries.
	ErrUnavailable = errors.New("GitHub unavailable")
)

// status and message of an API error: REST (go-github's ErrorResponse) or GraphQL (HTTP
// status in the error text, or the first message of the errors array).
func apiStatus(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		for _, d := range er.Errors {
			if d.Message != "" {
				msg += ": " + d.Message
			} else if d.Code != "" {
				msg += fmt.Sprintf(": %s %s %s", d.Resource, d.Field, d.Code)
			}
		}
		return er.Response.StatusCode, msg
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode, rl.Message + " (resets at " + rl.Rate.Reset.UTC().Format("15:04:05 MST") + ")"
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode, ab.Message
	}
	if m := gqlStatusRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, err.Error()
}

var gqlStatusRE = regexp.MustCompile(`non-200 OK status code: (\d{3})[^"]*body: "(.*)"`)

// explain turns an API error into one a person can act on. what says what was being done
// ("opening the PR for flightline/promote/…").
func (f *Forge) explain(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return f.redact(fmt.Errorf("%s: %w", what, err))
	}
	status, msg := apiStatus(err)
	low := strings.ToLower(msg)
	repo := f.repo
	var out error
	switch {
	case status == http.StatusUnauthorized:
		out = fmt.Errorf("%s: %w (401 %s): the token is wrong or expired — GitHub App installation tokens last one hour, so mint one in the job that writes to %s", what, ErrAuth, msg, repo)
	case strings.Contains(low, "github actions is not permitted to create or approve pull requests"):
		out = fmt.Errorf("%s: %w: %s — in %s, Settings → Actions → General → Workflow permissions, tick \"Allow GitHub Actions to create and approve pull requests\"; better, use a GitHub App installation token, whose PRs also trigger %s's own checks", what, ErrPermission, msg, repo, repo)
	case strings.Contains(low, "protected branch") || strings.Contains(low, "branch protection") || strings.Contains(low, "repository rule"):
		out = fmt.Errorf("%s: %w: %s — a branch protection rule or ruleset on %s refuses this; let the token's app or user bypass it, or merge through a PR (merge: auto)", what, ErrPermission, msg, repo)
	case strings.Contains(low, "rate limit"):
		// REST answers 403/429; GraphQL answers 200 with a RATE_LIMITED error (or 200/403 for a
		// secondary limit): the same thing for the user.
		when := "wait for the limit to reset"
		if f.tr != nil {
			if reset := f.tr.lastReset(); !reset.IsZero() {
				when = "wait until it resets at " + reset.UTC().Format("15:04:05 MST")
			}
		}
		out = fmt.Errorf("%s: %w: GitHub's rate limit: %s — %s (Flightline waits up to WithRetry's maxWait by itself), or use a GitHub App token (higher limits)", what, ErrUnavailable, msg, when)
	case status == http.StatusForbidden || strings.Contains(low, "resource not accessible") || strings.Contains(low, "must have admin rights"):
		out = fmt.Errorf("%s: %w: %s — the token cannot do this on %s: give it Contents: write and Pull requests: write (fine-grained PAT or GitHub App installation), or the repo scope (classic PAT). A workflow's GITHUB_TOKEN only reaches its own repository", what, ErrPermission, msg, repo)
	case strings.Contains(low, "could not resolve to a repository"):
		out = notVisible(what, repo, msg)
	case status == http.StatusNotFound || strings.Contains(low, "could not resolve to a node"):
		out = fmt.Errorf("%s: %w (%s)", what, forge.ErrNotFound, msg)
	case status == http.StatusConflict || strings.Contains(low, "expected branch to point to") || strings.Contains(low, "head sha didn't match") || strings.Contains(low, "was modified"):
		out = fmt.Errorf("%s: %w: %s", what, forge.ErrStale, msg)
	case strings.Contains(low, "reference already exists"):
		out = fmt.Errorf("%s: %w", what, forge.ErrExists)
	case strings.Contains(low, "no commits between"):
		out = fmt.Errorf("%s: %w: %s", what, forge.ErrEmpty, msg)
	case strings.Contains(low, "couldn't be reverted") || strings.Contains(low, "conflict") || strings.Contains(low, "dirty status"):
		out = fmt.Errorf("%s: %w: %s", what, forge.ErrConflict, msg)
	case status == http.StatusTooManyRequests || status >= 500:
		out = fmt.Errorf("%s: %w: GitHub answered %d %s after %d attempts; try again later (see githubstatus.com)", what, ErrUnavailable, status, msg, f.attempts)
	case status == http.StatusUnprocessableEntity:
		out = fmt.Errorf("%s: GitHub refused the request (422 %s)", what, msg)
	default:
		out = fmt.Errorf("%s: %w", what, err)
	}
	return f.redact(out)
}

func notVisible(what, repo, msg string) error {
	return fmt.Errorf("%s: %w: %s is not visible to the token (%s). A workflow's GITHUB_TOKEN is scoped to the workflow's own repository: pass a GitHub App installation token or a fine-grained PAT that has access to %s as the token input",
		what, ErrPermission, repo, msg, repo)
}

// redactedError hides the token in a message while keeping the chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact makes sure the token never appears in an error, whatever GitHub echoed back.
func (f *Forge) redact(err error) error {
	if err == nil || f.token == "" || !strings.Contains(err.Error(), f.token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), f.token, "***"), err: err}
}
