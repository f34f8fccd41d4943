package githubtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// repo is one emulated repository.
type repo struct {
	owner, name string
	id          int
	git         *gitRepo
	Settings
	pulls  []*pull          // PR n is pulls[n-1]
	labels map[string]label // by lower-case name
}

type label struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

// pull is one PR.
type pull struct {
	number                  int
	title, body, head, base string
	state                   string // open, closed
	merged                  bool
	created, updated        time.Time
	mergedAt, closedAt      time.Time
	mergeSHA                string
	lastHead                string // the head SHA when it was merged or closed
	labels                  []string
	comments                []string
	autoMerge               bool
	autoMethod              string
	autoTitle, autoMessage  string
	author                  string // login of who opened it
	fork                    string // owner of the fork the head lives in ("": this repository)
}

// forkRef is where the emulator keeps a fork's branch: in the same object store (so merges
// work), outside refs/heads (so it is not a branch of the repository).
func forkRef(owner, branch string) string { return "refs/forks/" + owner + "/" + branch }

func (rp *repo) full() string { return rp.owner + "/" + rp.name }

func (rp *repo) pull(n int) *pull {
	if n < 1 || n > len(rp.pulls) {
		return nil
	}
	return rp.pulls[n-1]
}

func (rp *repo) headSHA(p *pull) string {
	if p.state == "open" {
		ref := "refs/heads/" + p.head
		if p.fork != "" {
			ref = forkRef(p.fork, p.head)
		}
		if sha, err := rp.git.revParse(ref); err == nil {
			return sha
		}
	}
	return p.lastHead
}

func (p *pull) labelNames() []string {
	out := append([]string(nil), p.labels...)
	sort.Strings(out)
	return out
}

func (rp *repo) nodeID() string        { return fmt.Sprintf("R_kgDO%06d", rp.id) }
func (rp *repo) prNodeID(n int) string { return fmt.Sprintf("PR_kwDO%06d_%d", rp.id, n) }

type callKey struct{}

func withCall(r *http.Request, c *call) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callKey{}, c))
}

func callOf(r *http.Request) *call { return r.Context().Value(callKey{}).(*call) }

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("Problems parsing JSON: %v", err)
	}
	return nil
}

func (s *Server) restMux() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn func(c *call, rp *repo)) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c := callOf(r)
			c.r = r
			s.mu.Lock()
			defer s.mu.Unlock()
			rp := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
			if rp == nil || !c.sees(rp.full()) {
				writeError(c.w, http.StatusNotFound, "Not Found")
				return
			}
			fn(c, rp)
		})
	}
	h("GET /repos/{owner}/{repo}", s.getRepo)
	h("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.getRef)
	h("POST /repos/{owner}/{repo}/git/refs", s.createRef)
	h("DELETE /repos/{owner}/{repo}/git/refs/{ref...}", s.deleteRef)
	h("GET /repos/{owner}/{repo}/contents/{path...}", s.getContents)
	h("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	h("POST /repos/{owner}/{repo}/pulls", s.createPull)
	h("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	h("PATCH /repos/{owner}/{repo}/pulls/{number}", s.editPull)
	h("PUT /repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	h("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	h("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	h("GET /repos/{owner}/{repo}/labels/{name}", s.getLabel)
	h("POST /repos/{owner}/{repo}/labels", s.createLabel)
	h("GET /repos/{owner}/{repo}/actions/permissions/workflow", s.getWorkflowPermissions)
	h("GET /repos/{owner}/{repo}/pulls/{number}/commits", s.listPullCommits)
	h("GET /repos/{owner}/{repo}/commits", s.listCommits)
	h("GET /repos/{owner}/{repo}/commits/{sha}", s.getCommit)
	h("GET /repos/{owner}/{repo}/commits/{sha}/pulls", s.commitPulls)
	m.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		c := callOf(r)
		if c.token.Installation {
			writeError(c.w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"login": c.login(), "type": "User"})
	})
	return m
}

// denyWrite answers 403 when the token may not write.
func denyWrite(c *call) bool {
	if c.canWrite() {
		return false
	}
	writeError(c.w, http.StatusForbidden, "Resource not accessible by integration")
	return true
}

func (s *Server) getRepo(c *call, rp *repo) {
	j := map[string]any{
		"id": rp.id, "node_id": rp.nodeID(), "name": rp.name, "full_name": rp.full(),
		"owner": map[string]any{"login": rp.owner}, "private": true,
		"html_url": s.URL + "/" + rp.full(), "default_branch": rp.DefaultBranch,
		"allow_auto_merge": rp.AllowAutoMerge, "delete_branch_on_merge": rp.DeleteBranchOnMerge,
		"allow_squash_merge": true, "allow_merge_commit": true, "allow_rebase_merge": false,
	}
	if !c.token.Installation {
		j["permissions"] = map[string]bool{"admin": c.isAdmin(), "maintain": c.isAdmin(), "push": c.canWrite(), "triage": c.canWrite(), "pull": true}
	}
	writeJSON(c.w, http.StatusOK, j)
}

func (s *Server) refJSON(rp *repo, ref, sha string) map[string]any {
	return map[string]any{"ref": ref, "node_id": "REF_" + sha[:12], "url": s.URL + "/repos/" + rp.full() + "/git/" + ref,
		"object": map[string]any{"sha": sha, "type": "commit"}}
}

func (s *Server) getRef(c *call, rp *repo) {
	ref := c.r.PathValue("ref")
	if !strings.HasPrefix(ref, "heads/") {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	sha, err := rp.git.revParse("refs/" + ref)
	if err != nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, s.refJSON(rp, "refs/"+ref, sha))
}

func (s *Server) createRef(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	var in struct{ Ref, SHA string }
	if err := decode(c.r, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, err.Error())
		return
	}
	if !strings.HasPrefix(in.Ref, "refs/heads/") || strings.Count(in.Ref, "/") < 2 {
		writeError(c.w, http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, err := rp.git.revParse(in.SHA); err != nil || len(in.SHA) != 40 {
		writeError(c.w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	if err := rp.git.updateRef(in.Ref, in.SHA, ""); err != nil {
		if errors.Is(err, errStale) {
			writeError(c.w, http.StatusUnprocessableEntity, "Reference already exists")
			return
		}
		writeError(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(c.w, http.StatusCreated, s.refJSON(rp, in.Ref, in.SHA))
}

func (s *Server) deleteRef(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	ref := "refs/" + c.r.PathValue("ref")
	sha, err := rp.git.revParse(ref)
	if err != nil {
		writeError(c.w, http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	if err := rp.git.updateRef(ref, "", sha); err != nil {
		writeError(c.w, http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	s.closeOrphans(rp, strings.TrimPrefix(ref, "refs/heads/"))
	c.w.WriteHeader(http.StatusNoContent)
}

// closeOrphans closes the open PRs whose head branch was deleted, as GitHub does.
func (s *Server) closeOrphans(rp *repo, branch string) {
	for _, p := range rp.pulls {
		if p.state == "open" && p.head == branch && p.fork == "" {
			p.state, p.closedAt, p.updated, p.autoMerge = "closed", s.now(), s.now(), false
		}
	}
}

func (s *Server) getContents(c *call, rp *repo) {
	ref := c.r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.DefaultBranch
	}
	sha, err := rp.git.resolve(ref)
	if err != nil {
		writeError(c.w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	path := c.r.PathValue("path")
	data, err := rp.git.readFile(sha, path)
	if err != nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	blob, _ := rp.git.line("rev-parse", sha+":"+path)
	// GitHub wraps the base64 content at 60 characters.
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for i := 0; i < len(enc); i += 60 {
		b.WriteString(enc[i:min(i+60, len(enc))])
		b.WriteString("\n")
	}
	name := path[strings.LastIndex(path, "/")+1:]
	writeJSON(c.w, http.StatusOK, map[string]any{"type": "file", "encoding": "base64", "size": len(data),
		"name": name, "path": path, "sha": blob, "content": b.String()})
}

func (s *Server) pullURL(rp *repo, n int) string {
	return fmt.Sprintf("%s/%s/pull/%d", s.URL, rp.full(), n)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// pullJSON is the REST representation; detail adds the mergeability that GitHub computes only
// for a single PR.
func (s *Server) pullJSON(rp *repo, p *pull, detail bool) map[string]any {
	labels := []map[string]any{}
	for _, l := range p.labelNames() {
		labels = append(labels, map[string]any{"name": l, "color": rp.labels[strings.ToLower(l)].Color})
	}
	baseSHA, _ := rp.git.revParse("refs/heads/" + p.base)
	headOwner := rp.owner
	if p.fork != "" {
		headOwner = p.fork
	}
	var auto any
	if p.autoMerge {
		auto = map[string]any{"merge_method": p.autoMethod, "enabled_by": map[string]any{"login": "flightline"}}
	}
	j := map[string]any{
		"url": s.URL + "/repos/" + rp.full() + "/pulls/" + strconv.Itoa(p.number), "html_url": s.pullURL(rp, p.number),
		"id": rp.id*100000 + p.number, "node_id": rp.prNodeID(p.number), "number": p.number, "state": p.state,
		"title": p.title, "body": p.body, "labels": labels, "user": map[string]any{"login": p.author},
		"head": map[string]any{"ref": p.head, "sha": rp.headSHA(p), "label": headOwner + ":" + p.head,
			"repo": map[string]any{"full_name": headOwner + "/" + rp.name, "fork": p.fork != ""}},
		"base":   map[string]any{"ref": p.base, "sha": baseSHA, "label": rp.owner + ":" + p.base},
		"merged": p.merged, "merged_at": ts(p.mergedAt), "closed_at": ts(p.closedAt),
		"created_at": ts(p.created), "updated_at": ts(p.updated), "auto_merge": auto,
	}
	if p.mergeSHA != "" {
		j["merge_commit_sha"] = p.mergeSHA
	}
	if detail && p.state == "open" {
		state, mergeable := s.mergeState(rp, p)
		j["mergeable"], j["mergeable_state"] = mergeable, state
	}
	return j
}

// mergeState is GitHub's mergeable_state: dirty (conflicts), blocked (protection) or clean.
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

func (s *Server) listPulls(c *call, rp *repo) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	headOwner := rp.owner
	if o, b, ok := strings.Cut(head, ":"); ok {
		headOwner, head = o, b
	}
	var list []*pull
	for _, p := range rp.pulls {
		owner := rp.owner
		if p.fork != "" {
			owner = p.fork
		}
		if (state != "all" && p.state != state) || (head != "" && (p.head != head || !strings.EqualFold(owner, headOwner))) || (q.Get("base") != "" && p.base != q.Get("base")) {
			continue
		}
		list = append(list, p)
	}
	sortBy := q.Get("sort")
	desc := q.Get("direction") == "desc" || (q.Get("direction") == "" && (sortBy == "" || sortBy == "created"))
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].created, list[j].created
		if sortBy == "updated" {
			a, b = list[i].updated, list[j].updated
		}
		if a.Equal(b) {
			a, b = time.Unix(int64(list[i].number), 0), time.Unix(int64(list[j].number), 0)
		}
		if desc {
			return a.After(b)
		}
		return a.Before(b)
	})
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	from := min((page-1)*per, len(list))
	to := min(from+per, len(list))
	if to < len(list) {
		next := *c.r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		nq.Set("per_page", strconv.Itoa(per))
		next.RawQuery = nq.Encode()
		c.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	out := []map[string]any{}
	for _, p := range list[from:to] {
		out = append(out, s.pullJSON(rp, p, false))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (s *Server) createPull(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	if c.token.Actions && !rp.ActionsCanCreatePRs {
		writeError(c.w, http.StatusForbidden, "GitHub Actions is not permitted to create or approve pull requests.")
		return
	}
	var in struct{ Title, Head, Base, Body string }
	if err := decode(c.r, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, err.Error())
		return
	}
	if _, b, ok := strings.Cut(in.Head, ":"); ok {
		in.Head = b
	}
	p, status, msg, det := s.openPull(rp, in.Title, in.Body, in.Head, in.Base)
	if p == nil {
		writeError(c.w, status, msg, det...)
		return
	}
	p.author = c.login()
	writeJSON(c.w, http.StatusCreated, s.pullJSON(rp, p, false))
}

// openPull validates and records a new PR, as POST /pulls does.
func (s *Server) openPull(rp *repo, title, body, head, base string) (*pull, int, string, []errorDetails) {
	return s.openPullFrom(rp, title, body, head, base, "")
}

// openPullFrom is openPull for a head branch in fork's fork ("": the repository itself).
func (s *Server) openPullFrom(rp *repo, title, body, head, base, fork string) (*pull, int, string, []errorDetails) {
	invalid := func(field string) (*pull, int, string, []errorDetails) {
		return nil, http.StatusUnprocessableEntity, "Validation Failed", []errorDetails{{Resource: "PullRequest", Field: field, Code: "invalid"}}
	}
	if strings.TrimSpace(title) == "" {
		return nil, http.StatusUnprocessableEntity, "Validation Failed", []errorDetails{{Resource: "PullRequest", Field: "title", Code: "missing_field"}}
	}
	headRef := "refs/heads/" + head
	if fork != "" {
		headRef = forkRef(fork, head)
	}
	headSHA, err := rp.git.revParse(headRef)
	if err != nil {
		return invalid("head")
	}
	baseSHA, err := rp.git.revParse("refs/heads/" + base)
	if err != nil {
		return invalid("base")
	}
	for _, p := range rp.pulls {
		if p.state == "open" && p.head == head && p.base == base && p.fork == fork {
			return nil, http.StatusUnprocessableEntity, "Validation Failed", []errorDetails{{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner, head)}}
		}
	}
	if _, err := rp.git.run(nil, nil, "merge-base", "--is-ancestor", headSHA, baseSHA); err == nil {
		return nil, http.StatusUnprocessableEntity, "Validation Failed", []errorDetails{{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", base, head)}}
	}
	now := s.now()
	p := &pull{number: len(rp.pulls) + 1, title: title, body: body, head: head, base: base, state: "open", created: now, updated: now,
		author: defaultLogin, fork: fork}
	rp.pulls = append(rp.pulls, p)
	return p, 0, "", nil
}

func (s *Server) pullParam(c *call, rp *repo) *pull {
	n, err := strconv.Atoi(c.r.PathValue("number"))
	p := rp.pull(n)
	if err != nil || p == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return nil
	}
	return p
}

func (s *Server) getPull(c *call, rp *repo) {
	if p := s.pullParam(c, rp); p != nil {
		writeJSON(c.w, http.StatusOK, s.pullJSON(rp, p, true))
	}
}

func (s *Server) editPull(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	p := s.pullParam(c, rp)
	if p == nil {
		return
	}
	var in struct{ Title, Body, State *string }
	if err := decode(c.r, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, err.Error())
		return
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.State != nil && *in.State == "closed" && p.state == "open" {
		p.lastHead = rp.headSHA(p)
		p.state, p.closedAt, p.autoMerge = "closed", s.now(), false
	}
	p.updated = s.now()
	writeJSON(c.w, http.StatusOK, s.pullJSON(rp, p, false))
}

func (s *Server) mergePull(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	p := s.pullParam(c, rp)
	if p == nil {
		return
	}
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if err := decode(c.r, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, err.Error())
		return
	}
	if p.state != "open" {
		writeError(c.w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	if in.SHA != "" && in.SHA != rp.headSHA(p) {
		writeError(c.w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	}
	if in.MergeMethod == "" {
		in.MergeMethod = "merge"
	}
	if in.MergeMethod != "merge" && in.MergeMethod != "squash" {
		writeError(c.w, http.StatusMethodNotAllowed, "Merge method "+in.MergeMethod+" is not allowed on this repository")
		return
	}
	prot := rp.Protection[p.base]
	switch {
	case prot.MergeQueue:
		writeError(c.w, http.StatusMethodNotAllowed, "Changes must be made through the merge queue")
		return
	case prot.RequireReview:
		writeError(c.w, http.StatusMethodNotAllowed, "At least 1 approving review is required by reviewers with write access.")
		return
	case prot.PendingChecks:
		writeError(c.w, http.StatusMethodNotAllowed, `Required status check "ci" is expected.`)
		return
	}
	sha, err := s.merge(rp, p, in.MergeMethod, in.CommitTitle, in.CommitMessage)
	switch {
	case errors.Is(err, errConflict):
		writeError(c.w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	case errors.Is(err, errStale):
		writeError(c.w, http.StatusMethodNotAllowed, "Base branch was modified. Review and try the merge again.")
		return
	case err != nil:
		writeError(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// merge merges p into its base with method (squash or merge) and records it.
func (s *Server) merge(rp *repo, p *pull, method, title, message string) (string, error) {
	base, err := rp.git.revParse("refs/heads/" + p.base)
	if err != nil {
		return "", err
	}
	head := rp.headSHA(p)
	tree, err := rp.git.mergeTrees(base, head)
	if err != nil {
		return "", err
	}
	when := s.now()
	var sha string
	if method == "squash" {
		if title == "" {
			title = fmt.Sprintf("%s (#%d)", p.title, p.number)
		}
		sha, err = rp.git.commitTree(tree, strings.TrimSpace(title+"\n\n"+message)+"\n", when, base)
	} else {
		if title == "" {
			title = fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, rp.owner, p.head)
		}
		if message == "" {
			message = p.title
		}
		sha, err = rp.git.commitTree(tree, strings.TrimSpace(title+"\n\n"+message)+"\n", when, base, head)
	}
	if err != nil {
		return "", err
	}
	if err := rp.git.updateRef("refs/heads/"+p.base, sha, base); err != nil {
		return "", err
	}
	p.lastHead = head
	p.state, p.merged, p.mergedAt, p.closedAt, p.updated, p.mergeSHA, p.autoMerge = "closed", true, when, when, when, sha, false
	if rp.DeleteBranchOnMerge {
		_ = rp.git.updateRef("refs/heads/"+p.head, "", head)
	}
	return sha, nil
}

func (s *Server) createComment(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	p := s.pullParam(c, rp)
	if p == nil {
		return
	}
	var in struct{ Body string }
	if err := decode(c.r, &in); err != nil || in.Body == "" {
		writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed", errorDetails{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	p.comments = append(p.comments, in.Body)
	p.updated = s.now()
	writeJSON(c.w, http.StatusCreated, map[string]any{"id": len(p.comments), "body": in.Body,
		"html_url": fmt.Sprintf("%s#issuecomment-%d", s.pullURL(rp, p.number), len(p.comments))})
}

func (s *Server) addLabels(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	p := s.pullParam(c, rp)
	if p == nil {
		return
	}
	raw := readBody(c.r)
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		var obj struct{ Labels []string }
		if err := json.Unmarshal(raw, &obj); err != nil {
			writeError(c.w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		names = obj.Labels
	}
	// Unlike github.com, which creates unknown labels on the fly here, the emulator refuses
	// them, so that the forge's create-if-missing path is exercised (doc.go).
	for _, n := range names {
		if _, ok := rp.labels[strings.ToLower(n)]; !ok {
			writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed", errorDetails{Resource: "Label", Field: "name", Code: "invalid",
				Message: fmt.Sprintf("label %q does not exist", n)})
			return
		}
	}
	for _, n := range names {
		name := rp.labels[strings.ToLower(n)].Name
		if !containsFold(p.labels, name) {
			p.labels = append(p.labels, name)
		}
	}
	p.updated = s.now()
	out := []label{}
	for _, n := range p.labelNames() {
		out = append(out, rp.labels[strings.ToLower(n)])
	}
	writeJSON(c.w, http.StatusOK, out)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) getLabel(c *call, rp *repo) {
	name, _ := url.PathUnescape(c.r.PathValue("name"))
	l, ok := rp.labels[strings.ToLower(name)]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, l)
}

func (s *Server) createLabel(c *call, rp *repo) {
	if denyWrite(c) {
		return
	}
	var in struct{ Name, Color, Description string }
	if err := decode(c.r, &in); err != nil || strings.TrimSpace(in.Name) == "" {
		writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed", errorDetails{Resource: "Label", Field: "name", Code: "missing_field"})
		return
	}
	if _, ok := rp.labels[strings.ToLower(in.Name)]; ok {
		writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed", errorDetails{Resource: "Label", Field: "name", Code: "already_exists"})
		return
	}
	if in.Color == "" {
		in.Color = "ededed"
	}
	l := label{Name: in.Name, Color: in.Color}
	rp.labels[strings.ToLower(in.Name)] = l
	writeJSON(c.w, http.StatusCreated, l)
}

func (s *Server) getWorkflowPermissions(c *call, rp *repo) {
	if !c.isAdmin() {
		writeError(c.w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"default_workflow_permissions": "read",
		"can_approve_pull_request_reviews": rp.ActionsCanCreatePRs})
}

// commitJSON is a commit as the commits routes answer it: author.login is the login that
// authored it (null for the GitHub bot's own commits).
func commitJSON(ci commitInfo, files []string) map[string]any {
	parents := []map[string]any{}
	for _, p := range ci.parents {
		parents = append(parents, map[string]any{"sha": p})
	}
	var author any
	if ci.author != botName {
		author = map[string]any{"login": ci.author}
	}
	j := map[string]any{"sha": ci.sha, "parents": parents, "author": author,
		"commit": map[string]any{"message": ci.message, "author": map[string]any{"name": ci.author}}}
	if files != nil {
		fs := []map[string]any{}
		for _, f := range files {
			fs = append(fs, map[string]any{"filename": f, "status": "modified"})
		}
		j["files"] = fs
	}
	return j
}

// listPullCommits answers the commits of a PR, oldest first (those on its head and not on its
// base).
func (s *Server) listPullCommits(c *call, rp *repo) {
	p := s.pullParam(c, rp)
	if p == nil {
		return
	}
	head := rp.headSHA(p)
	args := []string{"--reverse", head}
	if p.merged {
		args = append(args, "^"+p.mergeSHA+"^1")
	} else if base, err := rp.git.revParse("refs/heads/" + p.base); err == nil {
		args = append(args, "^"+base)
	}
	list, err := rp.git.commitsOf(args...)
	if err != nil {
		writeError(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []map[string]any{}
	for _, ci := range list {
		out = append(out, commitJSON(ci, nil))
	}
	writeJSON(c.w, http.StatusOK, out)
}

// listCommits answers GET /commits: sha (a branch or SHA), path, per_page, page; newest first,
// with git's default history simplification for a path, as GitHub lists them.
func (s *Server) listCommits(c *call, rp *repo) {
	q := c.r.URL.Query()
	ref := q.Get("sha")
	if ref == "" {
		ref = rp.DefaultBranch
	}
	sha, err := rp.git.resolve(ref)
	if err != nil {
		writeError(c.w, http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	args := []string{"-n", strconv.Itoa(per + 1), "--skip", strconv.Itoa((page - 1) * per), sha}
	if path := q.Get("path"); path != "" {
		args = append(args, "--", path)
	}
	list, err := rp.git.commitsOf(args...)
	if err != nil {
		writeError(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(list) > per {
		list = list[:per]
		next := *c.r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		c.w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, next.RequestURI()))
	}
	out := []map[string]any{}
	for _, ci := range list {
		out = append(out, commitJSON(ci, nil))
	}
	writeJSON(c.w, http.StatusOK, out)
}

// getCommit answers one commit with the files it changed compared with its first parent.
func (s *Server) getCommit(c *call, rp *repo) {
	sha, err := rp.git.resolve(c.r.PathValue("sha"))
	if err != nil {
		writeError(c.w, http.StatusUnprocessableEntity, "No commit found for SHA: "+c.r.PathValue("sha"))
		return
	}
	list, err := rp.git.commitsOf("-1", sha)
	if err != nil || len(list) == 0 {
		writeError(c.w, http.StatusUnprocessableEntity, "No commit found for SHA: "+sha)
		return
	}
	files, err := rp.git.changedFiles(sha)
	if err != nil {
		writeError(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(c.w, http.StatusOK, commitJSON(list[0], files))
}

// commitPulls answers the PRs a commit belongs to: the merged PR whose merge commit it is, or
// the PRs whose head holds it.
func (s *Server) commitPulls(c *call, rp *repo) {
	sha, err := rp.git.resolve(c.r.PathValue("sha"))
	if err != nil {
		writeError(c.w, http.StatusUnprocessableEntity, "No commit found for SHA: "+c.r.PathValue("sha"))
		return
	}
	out := []map[string]any{}
	for _, p := range rp.pulls {
		if p.mergeSHA == sha || rp.headSHA(p) == sha {
			out = append(out, s.pullJSON(rp, p, false))
		}
	}
	writeJSON(c.w, http.StatusOK, out)
}
