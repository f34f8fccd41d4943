package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var opRE = regexp.MustCompile(`^\s*(?:(?:query|mutation)\b[^{]*)?\{\s*(\w+)`)

// graphqlOp names the first top-level field of a GraphQL document ("createCommitOnBranch").
func graphqlOp(body []byte) string {
	var in struct{ Query string }
	if json.Unmarshal(body, &in) != nil {
		return "(unparsable)"
	}
	if m := opRE.FindStringSubmatch(in.Query); m != nil {
		return m[1]
	}
	return "(unknown)"
}

// field is one node of a parsed selection set.
type field struct {
	name string
	sub  []field
}

// parseSelection parses the selection set of a GraphQL document well enough for the documents
// githubv4 builds: fields, arguments (skipped), aliases, nested sets.
func parseSelection(q string) ([]field, error) {
	i := strings.Index(q, "{")
	if i < 0 {
		return nil, errors.New("no selection set")
	}
	p := &selParser{s: q, i: i + 1}
	return p.set()
}

type selParser struct {
	s string
	i int
}

func (p *selParser) skipSpace() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\r\n,", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *selParser) ident() string {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == '_' || p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z' || p.s[p.i] >= '0' && p.s[p.i] <= '9') {
		p.i++
	}
	return p.s[start:p.i]
}

// set parses fields up to the closing brace.
func (p *selParser) set() ([]field, error) {
	var out []field
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated selection set")
		}
		if p.s[p.i] == '}' {
			p.i++
			return out, nil
		}
		name := p.ident()
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ':' { // alias: the response key is the alias
			p.i++
			p.skipSpace()
			p.ident()
			p.skipSpace()
		}
		if p.i < len(p.s) && p.s[p.i] == '(' {
			depth := 0
			for ; p.i < len(p.s); p.i++ {
				if p.s[p.i] == '(' {
					depth++
				} else if p.s[p.i] == ')' {
					depth--
					if depth == 0 {
						p.i++
						break
					}
				}
			}
			p.skipSpace()
		}
		f := field{name: name}
		if p.i < len(p.s) && p.s[p.i] == '{' {
			p.i++
			sub, err := p.set()
			if err != nil {
				return nil, err
			}
			f.sub = sub
		}
		out = append(out, f)
	}
}

// project keeps, of v, the fields the selection asks for.
func project(v any, sel []field) any {
	if len(sel) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for _, f := range sel {
			out[f.name] = project(x[f.name], f.sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = project(x[i], sel)
		}
		return out
	}
	return v
}

// gqlError is one entry of GraphQL's errors array.
type gqlError struct {
	Type    string   `json:"type,omitempty"`
	Path    []string `json:"path,omitempty"`
	Message string   `json:"message"`
}

func (s *Server) serveGraphQL(c *call, body []byte) {
	var in struct {
		Query     string
		Variables struct {
			Input json.RawMessage `json:"input"`
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(c.w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	sel, err := parseSelection(in.Query)
	if err != nil || len(sel) != 1 {
		writeJSON(c.w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: fmt.Sprintf("emulator: cannot parse the document: %v", err)}}})
		return
	}
	op := sel[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var data any
	var gerr *gqlError
	switch op.name {
	case "createCommitOnBranch":
		data, gerr = s.createCommitOnBranch(c, in.Variables.Input)
	case "enablePullRequestAutoMerge":
		data, gerr = s.enableAutoMerge(c, in.Variables.Input)
	case "revertPullRequest":
		data, gerr = s.revertPull(c, in.Variables.Input)
	default:
		gerr = &gqlError{Message: fmt.Sprintf("emulator: operation %q is not emulated", op.name)}
	}
	if gerr != nil {
		gerr.Path = []string{op.name}
		writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{op.name: nil}, "errors": []gqlError{*gerr}})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{op.name: project(data, op.sub)}})
}

// repoByName finds a repository the call can see.
func (s *Server) repoByName(c *call, full string) (*repo, *gqlError) {
	rp := s.repos[strings.ToLower(full)]
	if rp == nil || !c.sees(full) {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", full)}
	}
	return rp, nil
}

// pullByID finds a PR by node ID.
func (s *Server) pullByID(c *call, id string) (*repo, *pull, *gqlError) {
	notFound := &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
	var rid, n int
	if _, err := fmt.Sscanf(id, "PR_kwDO%06d_%d", &rid, &n); err != nil {
		return nil, nil, notFound
	}
	for _, rp := range s.repos {
		if rp.id == rid && c.sees(rp.full()) {
			if p := rp.pull(n); p != nil {
				return rp, p, nil
			}
		}
	}
	return nil, nil, notFound
}

func forbidden(c *call) *gqlError {
	if c.canWrite() {
		return nil
	}
	return &gqlError{Type: "FORBIDDEN", Message: "Resource not accessible by integration"}
}

func (s *Server) createCommitOnBranch(c *call, raw json.RawMessage) (any, *gqlError) {
	var in struct {
		Branch struct {
			RepositoryNameWithOwner string
			BranchName              string
		}
		Message         struct{ Headline, Body string }
		ExpectedHeadOid string
		FileChanges     struct {
			Additions []struct{ Path, Contents string }
			Deletions []struct{ Path string }
		}
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &gqlError{Message: "invalid input: " + err.Error()}
	}
	rp, gerr := s.repoByName(c, in.Branch.RepositoryNameWithOwner)
	if gerr != nil {
		return nil, gerr
	}
	if gerr := forbidden(c); gerr != nil {
		return nil, gerr
	}
	ref := "refs/heads/" + in.Branch.BranchName
	tip, err := rp.git.revParse(ref)
	if err != nil {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("A ref named %q does not exist.", ref)}
	}
	if in.ExpectedHeadOid != tip {
		return nil, &gqlError{Type: "STALE_DATA", Message: fmt.Sprintf("Expected branch to point to %q but it did not. Pull and try again.", in.ExpectedHeadOid)}
	}
	files := map[string][]byte{}
	for _, a := range in.FileChanges.Additions {
		b, err := base64.StdEncoding.DecodeString(a.Contents)
		if err != nil {
			return nil, &gqlError{Message: fmt.Sprintf("Invalid base64 contents for %s", a.Path)}
		}
		files[a.Path] = b
	}
	var dels []string
	for _, d := range in.FileChanges.Deletions {
		if _, err := rp.git.readFile(tip, d.Path); err != nil {
			return nil, &gqlError{Message: fmt.Sprintf("A path was requested for deletion which does not exist as of commit oid `%s`", tip)}
		}
		dels = append(dels, d.Path)
	}
	msg := in.Message.Headline
	if in.Message.Body != "" {
		msg += "\n\n" + in.Message.Body
	}
	sha, err := rp.git.commitFilesAs(c.login(), tip, files, dels, msg+"\n", s.now())
	if err != nil {
		return nil, &gqlError{Message: err.Error()}
	}
	if err := rp.git.updateRef(ref, sha, tip); err != nil {
		return nil, &gqlError{Type: "STALE_DATA", Message: fmt.Sprintf("Expected branch to point to %q but it did not. Pull and try again.", tip)}
	}
	for _, p := range rp.pulls {
		if p.state == "open" && p.head == in.Branch.BranchName {
			p.updated = s.now()
		}
	}
	tree, _ := rp.git.tree(sha)
	parentTree, _ := rp.git.tree(tip)
	return map[string]any{"commit": map[string]any{"oid": sha, "url": s.URL + "/" + rp.full() + "/commit/" + sha,
		"tree":    map[string]any{"oid": tree},
		"parents": map[string]any{"nodes": []any{map[string]any{"oid": tip, "tree": map[string]any{"oid": parentTree}}}}},
		"ref": map[string]any{"name": in.Branch.BranchName}}, nil
}

// pullGQL is a PR in GraphQL's shape.
func (s *Server) pullGQL(rp *repo, p *pull) map[string]any {
	state := "OPEN"
	if p.merged {
		state = "MERGED"
	} else if p.state == "closed" {
		state = "CLOSED"
	}
	labels := []any{}
	for _, l := range p.labelNames() {
		labels = append(labels, map[string]any{"name": l})
	}
	var mergeCommit, auto any
	if p.mergeSHA != "" {
		mergeCommit = map[string]any{"oid": p.mergeSHA}
	}
	if p.autoMerge {
		auto = map[string]any{"enabledAt": ts(p.updated), "mergeMethod": strings.ToUpper(p.autoMethod)}
	}
	return map[string]any{"id": rp.prNodeID(p.number), "number": p.number, "url": s.pullURL(rp, p.number),
		"title": p.title, "body": p.body, "state": state, "headRefName": p.head, "headRefOid": rp.headSHA(p),
		"baseRefName": p.base, "mergeCommit": mergeCommit, "mergedAt": ts(p.mergedAt), "createdAt": ts(p.created),
		"labels": map[string]any{"nodes": labels}, "autoMergeRequest": auto}
}

func (s *Server) enableAutoMerge(c *call, raw json.RawMessage) (any, *gqlError) {
	var in struct {
		PullRequestID   string `json:"pullRequestId"`
		MergeMethod     string
		ExpectedHeadOid string
		CommitHeadline  string
		CommitBody      string
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &gqlError{Message: "invalid input: " + err.Error()}
	}
	rp, p, gerr := s.pullByID(c, in.PullRequestID)
	if gerr != nil {
		return nil, gerr
	}
	if gerr := forbidden(c); gerr != nil {
		return nil, gerr
	}
	unprocessable := func(msg string) (any, *gqlError) {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "Pull request " + msg}
	}
	switch {
	case !rp.AllowAutoMerge:
		return unprocessable("Auto merge is not allowed for this repository")
	case p.state != "open":
		return unprocessable("Pull request is closed")
	case in.ExpectedHeadOid != "" && in.ExpectedHeadOid != rp.headSHA(p):
		return unprocessable("Head sha didn't match expected head sha")
	}
	state, _ := s.mergeState(rp, p)
	if state != "blocked" {
		return unprocessable("Pull request is in " + state + " status")
	}
	method := strings.ToLower(in.MergeMethod)
	if method == "" {
		method = "merge"
	}
	p.autoMerge, p.autoMethod, p.autoTitle, p.autoMessage, p.updated = true, method, in.CommitHeadline, in.CommitBody, s.now()
	return map[string]any{"pullRequest": s.pullGQL(rp, p)}, nil
}

func (s *Server) revertPull(c *call, raw json.RawMessage) (any, *gqlError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		Title, Body   *string
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &gqlError{Message: "invalid input: " + err.Error()}
	}
	rp, p, gerr := s.pullByID(c, in.PullRequestID)
	if gerr != nil {
		return nil, gerr
	}
	if gerr := forbidden(c); gerr != nil {
		return nil, gerr
	}
	if !p.merged {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "Pull request must be merged to be reverted"}
	}
	if c.token.Actions && !rp.ActionsCanCreatePRs {
		return nil, &gqlError{Type: "FORBIDDEN", Message: "GitHub Actions is not permitted to create or approve pull requests."}
	}
	base, err := rp.git.revParse("refs/heads/" + p.base)
	if err != nil {
		return nil, &gqlError{Message: "base branch " + p.base + " does not exist"}
	}
	when := s.now()
	tree, err := rp.git.revertTree(base, p.mergeSHA, when)
	if errors.Is(err, errConflict) {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "Sorry, this pull request couldn't be reverted automatically. It may have already been reverted, or the content may have changed since it was merged."}
	}
	if err != nil {
		return nil, &gqlError{Message: err.Error()}
	}
	if baseTree, _ := rp.git.tree(base); baseTree == tree {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "Sorry, this pull request couldn't be reverted automatically. It may have already been reverted, or the content may have changed since it was merged."}
	}
	sha, err := rp.git.commitTreeAs(c.login(), tree, fmt.Sprintf("Revert %q\n\nThis reverts commit %s.\n", p.title, p.mergeSHA), when, base)
	if err != nil {
		return nil, &gqlError{Message: err.Error()}
	}
	branch := fmt.Sprintf("revert-%d-%s", p.number, p.head)
	for k := 1; ; k++ {
		if _, err := rp.git.revParse("refs/heads/" + branch); err != nil {
			break
		}
		branch = fmt.Sprintf("revert-%d-%s-%d", p.number, p.head, k)
	}
	if err := rp.git.updateRef("refs/heads/"+branch, sha, ""); err != nil {
		return nil, &gqlError{Message: err.Error()}
	}
	title := fmt.Sprintf("Revert %q", p.title)
	if in.Title != nil {
		title = *in.Title
	}
	body := "Reverts " + rp.full() + "#" + strconv.Itoa(p.number)
	if in.Body != nil {
		body = *in.Body
	}
	rv, _, msg, _ := s.openPull(rp, title, body, branch, p.base)
	if rv == nil {
		_ = rp.git.updateRef("refs/heads/"+branch, "", sha)
		return nil, &gqlError{Message: msg}
	}
	rv.author = c.login()
	return map[string]any{"pullRequest": s.pullGQL(rp, p), "revertPullRequest": s.pullGQL(rp, rv)}, nil
}
