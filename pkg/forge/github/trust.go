package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v90/github"

	"github.com/labrats-work/flightline/pkg/forge"
)

// Identity is the login of the token's user (GET /user). An App installation token cannot
// read /user (403): then it is forge.ErrIdentityUnknown and the caller names the App itself
// (SLUG[bot]).
func (f *Forge) Identity(ctx context.Context) (string, error) {
	f.mu.Lock()
	login := f.login
	f.mu.Unlock()
	if login != "" {
		return login, nil
	}
	u, _, err := f.rest.Users.Get(ctx, "")
	if err != nil {
		if status, _ := apiStatus(err); status == http.StatusForbidden || status == http.StatusNotFound {
			return "", fmt.Errorf("asking GitHub who the token is (GET /user answered %d, as it does for a GitHub App installation token): %w", status, forge.ErrIdentityUnknown)
		}
		return "", f.explain("asking GitHub who the token is", err)
	}
	f.mu.Lock()
	f.login = u.GetLogin()
	f.mu.Unlock()
	return u.GetLogin(), nil
}

func toCommit(c *gh.RepositoryCommit) forge.Commit {
	out := forge.Commit{SHA: c.GetSHA(), Author: c.GetAuthor().GetLogin()}
	for _, p := range c.Parents {
		out.Parents = append(out.Parents, p.GetSHA())
	}
	for _, fl := range c.Files {
		out.Files = append(out.Files, fl.GetFilename())
		if prev := fl.GetPreviousFilename(); prev != "" {
			out.Files = append(out.Files, prev) // a rename changes both paths
		}
	}
	return out
}

// Commit reads one commit (GET /commits/{sha}) with the files it changes against its first
// parent.
func (f *Forge) Commit(ctx context.Context, sha string) (forge.Commit, error) {
	c, _, err := f.rest.Repositories.GetCommit(ctx, f.owner, f.name, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		err = f.explain(fmt.Sprintf("reading commit %s of %s", short(sha), f.repo), err)
		if status, _ := apiStatus(errors.Unwrap(err)); status == http.StatusUnprocessableEntity {
			err = fmt.Errorf("%w: %w", forge.ErrNotFound, err)
		}
		return forge.Commit{}, err
	}
	return toCommit(c), nil
}

// History lists the commits of branch that changed path (GET /commits?sha=&path=), one page.
func (f *Forge) History(ctx context.Context, branch, path string, limit int) ([]forge.Commit, error) {
	limit = min(max(limit, 1), 100)
	list, _, err := f.rest.Repositories.ListCommits(ctx, f.owner, f.name, &gh.CommitsListOptions{SHA: branch, Path: path,
		ListOptions: gh.ListOptions{PerPage: limit}})
	if err != nil {
		return nil, f.explain(fmt.Sprintf("reading the history of %s on %s of %s", path, branch, f.repo), err)
	}
	out := make([]forge.Commit, 0, len(list))
	for _, c := range list {
		out = append(out, toCommit(c))
	}
	return out, nil
}

// MergedPR finds the merged PR into base that sha belongs to (GET /commits/{sha}/pulls).
func (f *Forge) MergedPR(ctx context.Context, base, sha string) (forge.PR, error) {
	list, _, err := f.rest.PullRequests.ListPullRequestsWithCommit(ctx, f.owner, f.name, sha, &gh.ListOptions{PerPage: 30})
	if err != nil {
		return forge.PR{}, f.explain(fmt.Sprintf("looking for the PR of commit %s in %s", short(sha), f.repo), err)
	}
	for _, p := range list {
		pr := f.toPR(p)
		if pr.State == forge.StateMerged && pr.Base == base && (pr.MergeSHA == sha || pr.HeadSHA == sha) {
			return pr, nil
		}
	}
	return forge.PR{}, fmt.Errorf("commit %s of %s came to %s by no merged PR: %w", short(sha), f.repo, base, forge.ErrNotFound)
}

// PRCommits lists the PR's commits, oldest first (GET /pulls/{n}/commits, up to 100).
func (f *Forge) PRCommits(ctx context.Context, pr forge.PR) ([]forge.Commit, error) {
	if pr.Number <= 0 {
		return nil, fmt.Errorf("listing the commits of %s: a GitHub PR needs its number", pr.Ref())
	}
	list, _, err := f.rest.PullRequests.ListCommits(ctx, f.owner, f.name, pr.Number, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return nil, f.explain(fmt.Sprintf("listing the commits of %s in %s", pr.Ref(), f.repo), err)
	}
	out := make([]forge.Commit, 0, len(list))
	for _, c := range list {
		out = append(out, toCommit(c))
	}
	return out, nil
}

// isFork says whether a PR's head lives in another repository than f's.
func (f *Forge) isFork(p *gh.PullRequest) bool {
	if r := p.GetHead().GetRepo(); r != nil && r.GetFullName() != "" {
		return !strings.EqualFold(r.GetFullName(), f.repo)
	}
	if owner, _, ok := strings.Cut(p.GetHead().GetLabel(), ":"); ok {
		return !strings.EqualFold(owner, f.owner)
	}
	return false
}
