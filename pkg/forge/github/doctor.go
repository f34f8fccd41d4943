package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v90/github"
)

// Status of one check.
type Status string

// The outcomes of a check. Only Fail makes a diagnosis fail.
const (
	Pass Status = "ok"
	Warn Status = "warn" // works, with a caveat (the detail says which)
	Fail Status = "FAIL"
	// Unknown: the token cannot see this; the detail says what it cannot see and how to tell.
	Unknown Status = "unknown"
)

// Check is one line of a diagnosis: what was checked, how it went, and on anything but Pass
// what to do.
type Check struct {
	Name   string
	Status Status
	Detail string
}

// String is the line doctor prints: "ok    NAME" or "FAIL  NAME: DETAIL".
func (c Check) String() string {
	s := fmt.Sprintf("%-5s %s", c.Status, c.Name)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Diagnose checks, without changing anything, what promotions and rollbacks need of the
// repository and the token: write access, the Actions setting, auto-merge, the labels. (That
// the token can read the repository is what New checked.)
func (f *Forge) Diagnose(ctx context.Context, labels []string) []Check {
	return []Check{f.checkWrite(ctx), f.checkActions(ctx), f.checkAutoMerge(), f.checkLabels(ctx, labels)}
}

// checkWrite reads the token's permissions from the repository; when GitHub does not report
// them (installation tokens), it probes: creating a branch at a commit that does not exist is
// refused with 403 without write access and with 422 with it, and writes nothing either way.
func (f *Forge) checkWrite(ctx context.Context) Check {
	c := Check{Name: "token can write to " + f.repo + " (branches, PRs)"}
	fix := "give the token Contents: write and Pull requests: write (fine-grained PAT or GitHub App installation), or the repo scope (classic PAT)"
	if f.perms != nil && (f.perms["push"] || f.perms["admin"]) {
		c.Status = Pass
		return c
	}
	_, _, err := f.rest.Git.CreateRef(ctx, f.owner, f.name, gh.CreateRef{Ref: "refs/heads/flightline/doctor-probe", SHA: strings.Repeat("0", 39) + "1"})
	status, msg := apiStatus(err)
	switch {
	case err == nil: // cannot happen: the commit does not exist; remove what was made
		_ = f.deleteBranch(ctx, "flightline/doctor-probe")
		c.Status = Pass
	case status == http.StatusUnprocessableEntity:
		c.Status = Pass
	case status == http.StatusForbidden || status == http.StatusNotFound:
		c.Status, c.Detail = Fail, fmt.Sprintf("GitHub refused a write (%d %s): %s", status, msg, fix)
	default:
		c.Status, c.Detail = Warn, "could not tell: "+f.redact(err).Error()
	}
	return c
}

// checkActions reads "Allow GitHub Actions to create and approve pull requests".
func (f *Forge) checkActions(ctx context.Context) Check {
	c := Check{Name: "GitHub Actions may create pull requests in " + f.repo}
	p, _, err := f.rest.Repositories.GetDefaultWorkflowPermissions(ctx, f.owner, f.name)
	if err != nil {
		c.Status, c.Detail = Unknown, "cannot see: reading this setting needs Administration: read, which this token lacks; it only matters when the token is a workflow's GITHUB_TOKEN"
		return c
	}
	if p.GetCanApprovePullRequestReviews() {
		c.Status = Pass
		return c
	}
	c.Status, c.Detail = Warn, `off: a workflow's GITHUB_TOKEN cannot open PRs here. If that is the token you use, tick Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests"; a GitHub App token or a PAT does not need it`
	return c
}

// checkAutoMerge reads "Allow auto-merge", which GitHub shows only to tokens that may write to
// the repository's contents: a read-only token is told so instead of a guess.
func (f *Forge) checkAutoMerge() Check {
	c := Check{Name: "auto-merge allowed in " + f.repo}
	if f.autoAllowed == nil {
		c.Status, c.Detail = Unknown, `cannot see: GitHub shows a repository's merge settings only to tokens that may write to its contents ("To view merge-related settings, you must have the contents:read and contents:write permissions"), and this one cannot; run doctor with the token promote and rollback use to tell whether Settings → General → Pull Requests → "Allow auto-merge" is ticked`
		return c
	}
	if *f.autoAllowed {
		c.Status = Pass
		return c
	}
	c.Status, c.Detail = Warn, "off: merge: auto will merge at once when nothing blocks, and cannot wait for checks or reviews; tick Settings → General → Pull Requests → \"Allow auto-merge\""
	return c
}

// checkLabels: each label exists, or the token may create it.
func (f *Forge) checkLabels(ctx context.Context, labels []string) Check {
	c := Check{Name: "labels exist or can be created in " + f.repo}
	if len(labels) == 0 {
		c.Name, c.Status = "labels (none asked for)", Pass
		return c
	}
	c.Name = fmt.Sprintf("labels %s exist or can be created in %s", strings.Join(labels, ", "), f.repo)
	var missing []string
	for _, l := range labels {
		_, _, err := f.rest.Issues.GetLabel(ctx, f.owner, f.name, l)
		if status, _ := apiStatus(err); err != nil {
			if status != http.StatusNotFound {
				c.Status, c.Detail = Fail, f.explain("reading label "+l, err).Error()
				return c
			}
			missing = append(missing, l)
		}
	}
	c.Status = Pass
	if len(missing) > 0 {
		if w := f.checkWrite(ctx); w.Status == Fail {
			c.Status, c.Detail = Fail, fmt.Sprintf("%s missing and the token cannot create them: create them in %s, or %s", strings.Join(missing, ", "), f.repo, w.Detail)
		} else {
			c.Detail = strings.Join(missing, ", ") + " will be created on first use"
		}
	}
	return c
}
