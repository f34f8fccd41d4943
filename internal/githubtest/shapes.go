package githubtest

import (
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// The REST answers in the shapes GitHub's OpenAPI description gives them (components/schemas
// of @octokit/openapi 23.0.2): every property it marks required, with plausible values.

// apiURL is the REST API root under which the emulator answers (the request's /api/v3 prefix
// kept, as GitHub Enterprise Server does).
func (s *Server) apiURL(c *call) string {
	if c != nil && c.prefix != "" {
		return s.URL + c.prefix
	}
	return s.URL
}

// userID is a stable positive ID for a login.
func userID(login string) int {
	return int(crc32.ChecksumIEEE([]byte(strings.ToLower(login)))%90000000) + 1000
}

// userJSON is a simple-user.
func (s *Server) userJSON(c *call, login string) map[string]any {
	api := s.apiURL(c) + "/users/" + login
	kind := "User"
	if strings.HasSuffix(login, "[bot]") {
		kind = "Bot"
	}
	id := userID(login)
	return map[string]any{
		"login": login, "id": id, "node_id": fmt.Sprintf("U_kgDO%08d", id), "type": kind, "site_admin": false,
		"avatar_url": fmt.Sprintf("%s/avatars/u/%d?v=4", s.URL, id), "gravatar_id": "", "url": api, "html_url": s.URL + "/" + login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}", "gists_url": api + "/gists{/gist_id}",
		"starred_url": api + "/starred{/owner}{/repo}", "subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}", "received_events_url": api + "/received_events",
	}
}

// repoJSON is a repository (as in a PR's head and base); full adds what full-repository
// requires (GET /repos/{owner}/{repo}).
func (s *Server) repoJSON(c *call, rp *repo, full bool) map[string]any {
	api := s.apiURL(c) + "/repos/" + rp.full()
	html := s.URL + "/" + rp.full()
	open := 0
	for _, p := range rp.pulls {
		if p.state == "open" {
			open++
		}
	}
	created := s.clock.Format(time.RFC3339)
	j := map[string]any{
		"id": rp.id, "node_id": rp.nodeID(), "name": rp.name, "full_name": rp.full(), "owner": s.userJSON(c, rp.owner),
		"private": true, "html_url": html, "description": nil, "fork": false, "url": api, "homepage": nil, "language": nil,
		"archive_url": api + "/{archive_format}{/ref}", "assignees_url": api + "/assignees{/user}", "blobs_url": api + "/git/blobs{/sha}",
		"branches_url": api + "/branches{/branch}", "collaborators_url": api + "/collaborators{/collaborator}",
		"comments_url": api + "/comments{/number}", "commits_url": api + "/commits{/sha}", "compare_url": api + "/compare/{base}...{head}",
		"contents_url": api + "/contents/{+path}", "contributors_url": api + "/contributors", "deployments_url": api + "/deployments",
		"downloads_url": api + "/downloads", "events_url": api + "/events", "forks_url": api + "/forks",
		"git_commits_url": api + "/git/commits{/sha}", "git_refs_url": api + "/git/refs{/sha}", "git_tags_url": api + "/git/tags{/sha}",
		"git_url": strings.Replace(html, "http", "git", 1) + ".git", "hooks_url": api + "/hooks",
		"issue_comment_url": api + "/issues/comments{/number}", "issue_events_url": api + "/issues/events{/number}",
		"issues_url": api + "/issues{/number}", "keys_url": api + "/keys{/key_id}", "labels_url": api + "/labels{/name}",
		"languages_url": api + "/languages", "merges_url": api + "/merges", "milestones_url": api + "/milestones{/number}",
		"notifications_url": api + "/notifications{?since,all,participating}", "pulls_url": api + "/pulls{/number}",
		"releases_url": api + "/releases{/id}", "ssh_url": "git@" + strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://") + ":" + rp.full() + ".git",
		"stargazers_url": api + "/stargazers", "statuses_url": api + "/statuses/{sha}", "subscribers_url": api + "/subscribers",
		"subscription_url": api + "/subscription", "tags_url": api + "/tags", "teams_url": api + "/teams", "trees_url": api + "/git/trees{/sha}",
		"clone_url": html + ".git", "mirror_url": nil, "svn_url": html, "default_branch": rp.DefaultBranch,
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "size": 1,
		"open_issues": open, "open_issues_count": open, "has_issues": true, "has_projects": false, "has_wiki": false,
		"has_pages": false, "has_downloads": true, "has_discussions": false, "archived": false, "disabled": false,
		"license": nil, "pushed_at": created, "created_at": created, "updated_at": created, "visibility": "private",
	}
	if full {
		j["network_count"], j["subscribers_count"] = 0, 1
	}
	return j
}

// labelJSON is a label.
func (s *Server) labelJSON(c *call, rp *repo, l label) map[string]any {
	id := userID(rp.full() + "/" + l.Name)
	// description is a string, "" when unset: the label schema allows null, but the labels
	// of a pull-request-simple do not.
	return map[string]any{"id": id, "node_id": fmt.Sprintf("LA_kwDO%08d", id), "url": s.apiURL(c) + "/repos/" + rp.full() + "/labels/" + pathEscape(l.Name),
		"name": l.Name, "description": l.Description, "color": l.Color, "default": false}
}

func pathEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "%", "%25"), " ", "%20")
}

// branchJSON is a PR's head or base.
func (s *Server) branchJSON(c *call, rp *repo, ref, sha string) map[string]any {
	return map[string]any{"label": rp.owner + ":" + ref, "ref": ref, "sha": sha, "repo": s.repoJSON(c, rp, false), "user": s.userJSON(c, rp.owner)}
}

// headJSON is a PR's head: a branch of the repository, or of a fork of it (p.fork).
func (s *Server) headJSON(c *call, rp *repo, p *pull, sha string) map[string]any {
	j := s.branchJSON(c, rp, p.head, sha)
	if p.fork == "" {
		return j
	}
	fork := s.repoJSON(c, rp, false)
	id := userID(p.fork + "/" + rp.name)
	fork["id"], fork["node_id"], fork["fork"] = id, fmt.Sprintf("R_kgDO%08d", id), true
	fork["full_name"], fork["owner"], fork["html_url"] = p.fork+"/"+rp.name, s.userJSON(c, p.fork), s.URL+"/"+p.fork+"/"+rp.name
	j["label"], j["repo"], j["user"] = p.fork+":"+p.head, fork, s.userJSON(c, p.fork)
	return j
}

// pullJSON is a pull-request (detail: GET, POST and PATCH answers) or a pull-request-simple
// (list answers). mergeable and mergeable_state are what the background job computed so far.
func (s *Server) pullJSON(c *call, rp *repo, p *pull, detail bool) map[string]any {
	labels := []any{}
	for _, l := range p.labelNames() {
		labels = append(labels, s.labelJSON(c, rp, rp.labels[strings.ToLower(l)]))
	}
	baseSHA, _ := rp.git.revParse("refs/heads/" + p.base)
	if p.state != "open" && p.lastBase != "" {
		baseSHA = p.lastBase
	}
	var auto any
	if p.autoMerge {
		auto = map[string]any{"merge_method": p.autoMethod, "enabled_by": s.userJSON(c, c.login()), "commit_title": p.autoTitle, "commit_message": p.autoMessage}
	}
	api := s.apiURL(c) + "/repos/" + rp.full()
	self := api + "/pulls/" + strconv.Itoa(p.number)
	html := s.pullURL(rp, p.number)
	issue := api + "/issues/" + strconv.Itoa(p.number)
	head := rp.headSHA(p)
	var body any
	if p.body != "" {
		body = p.body
	}
	author := p.author
	if author == "" {
		author = defaultLogin
	}
	j := map[string]any{
		"url": self, "id": rp.id*100000 + p.number, "node_id": rp.prNodeID(p.number), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue, "commits_url": self + "/commits",
		"review_comments_url": self + "/comments", "review_comment_url": api + "/pulls/comments{/number}",
		"comments_url": issue + "/comments", "statuses_url": api + "/statuses/" + head,
		"number": p.number, "state": p.state, "locked": false, "title": p.title, "user": s.userJSON(c, author), "body": body,
		"labels": labels, "milestone": nil, "active_lock_reason": nil, "created_at": ts(p.created), "updated_at": ts(p.updated),
		"closed_at": ts(p.closedAt), "merged_at": ts(p.mergedAt), "merge_commit_sha": nil, "assignee": nil, "assignees": []any{},
		"requested_reviewers": []any{}, "requested_teams": []any{}, "draft": false,
		"head": s.headJSON(c, rp, p, head), "base": s.branchJSON(c, rp, p.base, baseSHA),
		"_links": map[string]any{"self": href(self), "html": href(html), "issue": href(issue), "comments": href(issue + "/comments"),
			"review_comments": href(self + "/comments"), "review_comment": href(api + "/pulls/comments{/number}"),
			"commits": href(self + "/commits"), "statuses": href(api + "/statuses/" + head)},
		"author_association": "CONTRIBUTOR", "auto_merge": auto,
	}
	if p.mergeSHA != "" {
		j["merge_commit_sha"] = p.mergeSHA
	}
	if !detail {
		return j
	}
	var mergedBy any
	if p.merged {
		mergedBy = s.userJSON(c, c.login())
	}
	j["merged"], j["merged_by"] = p.merged, mergedBy
	j["comments"], j["review_comments"], j["commits"] = len(p.comments), 0, 1
	j["additions"], j["deletions"], j["changed_files"] = 1, 1, 1
	j["maintainer_can_modify"], j["rebaseable"] = false, nil
	j["mergeable"], j["mergeable_state"] = nil, "unknown"
	if p.state == "open" {
		if state, mergeable, known := s.mergeability(rp, p); known {
			j["mergeable"], j["mergeable_state"] = mergeable, state
		}
	} else if p.merged {
		j["mergeable_state"] = "unknown"
	}
	return j
}

func href(u string) map[string]any { return map[string]any{"href": u} }

// refJSON is a git-ref.
func (s *Server) refJSON(c *call, rp *repo, ref, sha string) map[string]any {
	api := s.apiURL(c) + "/repos/" + rp.full()
	return map[string]any{"ref": ref, "node_id": "REF_kwDO" + sha[:12], "url": api + "/git/" + ref,
		"object": map[string]any{"sha": sha, "type": "commit", "url": api + "/git/commits/" + sha}}
}

// mergeState is GitHub's mergeable_state as computed: dirty (conflicts), blocked
// (protection) or clean, and mergeable.
func (s *Server) mergeState(rp *repo, p *pull) (string, bool) {
	base, err1 := rp.git.revParse("refs/heads/" + p.base)
	head := rp.headSHA(p)
	if err1 != nil || head == "" {
		return "unknown", false
	}
	if _, err := rp.git.mergeTrees(base, head); err != nil {
		return "dirty", false
	}
	if rp.Protection[p.base].blocked() {
		return "blocked", true
	}
	return "clean", true
}

// mergeability is what a read of p shows: known false (mergeable null, "unknown") while the
// background job has not finished (each read brings it closer), else mergeState.
func (s *Server) mergeability(rp *repo, p *pull) (state string, mergeable, known bool) {
	if p.pendingReads > 0 {
		p.pendingReads--
		return "unknown", false, false
	}
	state, mergeable = s.mergeState(rp, p)
	return state, mergeable, true
}

// touched restarts the mergeability job of the open PRs whose head or base is branch.
func (s *Server) touched(rp *repo, branch string) {
	for _, p := range rp.pulls {
		if p.state == "open" && (p.head == branch || p.base == branch) {
			p.pendingReads = s.mergeDelay
		}
	}
}

// baseMoved: a merge into base restarts the mergeability of the PRs on it.
func (s *Server) baseMoved(rp *repo, base string) { s.touched(rp, base) }
