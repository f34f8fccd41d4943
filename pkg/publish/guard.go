package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// PushBlocked says why this run must build without pushing, or "" when it may push:
//
//   - a pull_request event whose head repository differs from the base repository (a fork):
//     GitHub gives such runs a read-only GITHUB_TOKEN, without packages: write;
//   - a pull_request event without a token (GITHUB_TOKEN empty);
//   - a push to ghcr.io for which the keychain has no credentials.
//
// getenv reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH (the event payload, read from disk),
// GITHUB_REPOSITORY and GITHUB_TOKEN.
func PushBlocked(ctx context.Context, getenv func(string) string, repo name.Repository, kc authn.Keychain) string {
	if ev := getenv("GITHUB_EVENT_NAME"); ev == "pull_request" || ev == "pull_request_review" || ev == "pull_request_review_comment" {
		head, base := prRepos(getenv)
		if head != "" && base != "" && !strings.EqualFold(head, base) {
			return fmt.Sprintf("this is a pull request from the fork %s into %s: GitHub gives it a read-only GITHUB_TOKEN (no packages: write), so the image was built but not pushed", head, base)
		}
		if getenv("GITHUB_TOKEN") == "" {
			return "this pull request run has no token (GITHUB_TOKEN is empty), so the image was built but not pushed"
		}
	}
	if strings.EqualFold(repo.RegistryStr(), "ghcr.io") && kc != nil {
		auth, err := authn.Resolve(ctx, kc, repo)
		if err == nil && auth == authn.Anonymous {
			return "no credentials for ghcr.io: pass the token input (a GITHUB_TOKEN with permissions: packages: write) or log in with docker login, so the image was built but not pushed"
		}
	}
	return ""
}

// prRepos returns the full names of a pull request's head and base repositories from the event
// payload, or "" for what it cannot tell.
func prRepos(getenv func(string) string) (head, base string) {
	p := getenv("GITHUB_EVENT_PATH")
	if p == "" {
		return "", ""
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", ""
	}
	var ev struct {
		PullRequest *struct {
			Head struct {
				Repo *struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"head"`
			Base struct {
				Repo struct {
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(data, &ev) != nil || ev.PullRequest == nil {
		return "", ""
	}
	base = ev.PullRequest.Base.Repo.FullName
	if base == "" {
		base = getenv("GITHUB_REPOSITORY")
	}
	if ev.PullRequest.Head.Repo == nil {
		// The head repository was deleted: it can only have been a fork.
		return "(deleted fork)", base
	}
	return ev.PullRequest.Head.Repo.FullName, base
}
