package githubtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
)

func TestParseSelection_ProjectsTheFieldsAskedFor(t *testing.T) {
	q := `mutation($input:CreateCommitOnBranchInput!){createCommitOnBranch(input: $input){commit{oid,tree{oid},parents(first: 1){nodes{tree{oid}}}}}}`
	sel, err := parseSelection(q)
	require.NoError(t, err)
	require.Len(t, sel, 1)
	assert.Equal(t, "createCommitOnBranch", sel[0].name)
	full := map[string]any{"commit": map[string]any{"oid": "c", "url": "u", "tree": map[string]any{"oid": "t", "x": 1},
		"parents": map[string]any{"nodes": []any{map[string]any{"oid": "p", "tree": map[string]any{"oid": "pt"}}}}}, "ref": "r"}
	got, err := json.Marshal(project(full, sel[0].sub))
	require.NoError(t, err)
	assert.JSONEq(t, `{"commit":{"oid":"c","tree":{"oid":"t"},"parents":{"nodes":[{"tree":{"oid":"pt"}}]}}}`, string(got))
}

func TestParseSelection_BadDocuments(t *testing.T) {
	for _, q := range []string{"", "mutation", "{a{b}", "{a(x:1"} {
		_, err := parseSelection(q)
		assert.Error(t, err, q)
	}
}

func TestGraphQLOp_NamesTheFirstField(t *testing.T) {
	tests := map[string]string{
		`{"query":"mutation($input:RevertPullRequestInput!){revertPullRequest(input: $input){revertPullRequest{number}}}"}`: "revertPullRequest",
		`{"query":"query{viewer{login}}"}`: "viewer",
		`{"query":"{viewer{login}}"}`:      "viewer",
		`not json`:                         "(unparsable)",
		`{"query":"subscription"}`:         "(unknown)",
	}
	for body, want := range tests {
		assert.Equal(t, want, graphqlOp([]byte(body)), body)
	}
}

func FuzzParseSelection(f *testing.F) {
	f.Add(`mutation($input:X!){a(input: $input){b{c d(first: 1){e}}}}`)
	f.Add(`{x:y{z}}`)
	f.Fuzz(func(t *testing.T, q string) {
		sel, err := parseSelection(q)
		if err == nil {
			_ = project(map[string]any{}, sel)
		}
	})
}

// get sends one request to the emulator.
func get(t *testing.T, s *Server, method, path, token string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func newTestServer(t *testing.T) *Server {
	testenv.LookPath(t, "git", "apt-get install git")
	s := New(t)
	s.CreateRepo("acme/platform", map[string][]byte{"f.txt": []byte("one\n")})
	return s
}

func TestFaults_FireTheirTimesAndAreLogged(t *testing.T) {
	s := newTestServer(t)
	s.Inject(&Fault{Op: "GET /repos/{owner}/{repo}", Status: 503, Times: 2})
	for _, want := range []int{503, 503, 200} {
		code, _ := get(t, s, "GET", "/repos/acme/platform", "", nil)
		assert.Equal(t, want, code)
	}
	log := s.Log()
	require.Len(t, log, 3)
	assert.Equal(t, Request{Method: "GET", Path: "/repos/acme/platform", Op: "GET /repos/{owner}/{repo}", Status: 200},
		Request{Method: log[2].Method, Path: log[2].Path, Op: log[2].Op, Status: log[2].Status})
	assert.Contains(t, string(log[2].RespBody), `"full_name":"acme/platform"`, "the answer is logged")
	assert.Equal(t, "3", log[2].RespHeader.Get("X-RateLimit-Used"), "rate-limit headers on every answer")
	code, _ := get(t, s, "GET", "/api/v3/repos/acme/platform/git/ref/heads/main", "", nil)
	assert.Equal(t, 200, code, "GitHub Enterprise Server's /api/v3 prefix")
	code, _ = get(t, s, "GET", "/repos/acme/nope", "", nil)
	assert.Equal(t, 404, code)
}

func TestTokens_CredentialsVisibilityAndWrites(t *testing.T) {
	s := newTestServer(t)
	s.AddToken("reader", Token{})
	s.AddToken("elsewhere", Token{Repos: []string{"acme/app"}, Write: true})
	code, body := get(t, s, "GET", "/repos/acme/platform", "wrong", nil)
	assert.Equal(t, 401, code)
	assert.Contains(t, body, "Bad credentials")
	code, _ = get(t, s, "GET", "/repos/acme/platform", "elsewhere", nil)
	assert.Equal(t, 404, code, "a repository the token cannot see is not found, as on GitHub")
	code, body = get(t, s, "POST", "/repos/acme/platform/git/refs", "reader", map[string]string{"ref": "refs/heads/x", "sha": s.Head("acme/platform", "main")})
	assert.Equal(t, 403, code)
	assert.Contains(t, body, "Resource not accessible by integration")
	assert.Equal(t, []string{"main"}, s.Branches("acme/platform"))
}

func TestMergeAndRevert_RealGitConflicts(t *testing.T) {
	s := newTestServer(t)
	const repo = "acme/platform"
	main := s.Head(repo, "main")
	code, _ := get(t, s, "POST", "/repos/acme/platform/git/refs", "", map[string]string{"ref": "refs/heads/feature", "sha": main})
	require.Equal(t, 201, code)
	s.Push(repo, "feature", map[string][]byte{"f.txt": []byte("two\n")}, "change")
	n := s.OpenPull(repo, "change f", "body", "feature", "main")
	code, body := get(t, s, "PUT", "/repos/acme/platform/pulls/1/merge", "", map[string]string{"merge_method": "squash"})
	assert.Equal(t, 405, code, "GitHub has not computed the new PR's mergeability yet: %s", body)
	code, body = get(t, s, "GET", "/repos/acme/platform/pulls/1", "", nil)
	require.Equal(t, 200, code)
	assert.Contains(t, body, `"mergeable":null`, "the first read after the PR opened")
	code, body = get(t, s, "GET", "/repos/acme/platform/pulls/1", "", nil)
	require.Equal(t, 200, code)
	assert.Contains(t, body, `"mergeable_state":"clean"`, "then it is computed")
	code, body = get(t, s, "PUT", "/repos/acme/platform/pulls/1/merge", "", map[string]string{"merge_method": "squash"})
	require.Equal(t, 200, code, body)
	p, _ := s.Pull(repo, n)
	assert.True(t, p.Merged)
	assert.Equal(t, "two\n", string(s.File(repo, "main", "f.txt")))

	// A later edit of the same line makes the revert conflict.
	s.Push(repo, "main", map[string][]byte{"f.txt": []byte("three\n")}, "hand edit")
	rp := s.repos["acme/platform"]
	_, err := rp.git.revertTree(s.Head(repo, "main"), p.MergeSHA, s.clock)
	require.ErrorIs(t, err, errConflict)
	assert.True(t, strings.Contains(err.Error(), "f.txt"))
}

func TestFaults_LatencyHonoursTheClientDeadline(t *testing.T) {
	s := newTestServer(t)
	s.Inject(&Fault{Op: "GET /repos/{owner}/{repo}", Delay: 300 * time.Millisecond, Times: 1})
	hc := s.Client()
	hc.Timeout = 50 * time.Millisecond
	_, err := hc.Get(s.URL + "/repos/acme/platform")
	require.Error(t, err, "the delayed answer misses the client's deadline")
	code, _ := get(t, s, "GET", "/repos/acme/platform", "", nil)
	assert.Equal(t, 200, code, "the fault fired once")
}

func TestFaults_GraphQLErrorsAsGitHubSendsThem(t *testing.T) {
	s := newTestServer(t)
	const op = "graphql revertPullRequest"
	doc := map[string]any{"query": "mutation($input:RevertPullRequestInput!){revertPullRequest(input: $input){revertPullRequest{number}}}",
		"variables": map[string]any{"input": map[string]any{"pullRequestId": "PR_x"}}}
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantType   string
	}{
		{"4xxBecomes200WithType", Fault{Op: op, Status: 422, Message: "nope"}, 200, "UNPROCESSABLE"},
		{"NotFound", Fault{Op: op, Status: 404, Message: "Could not resolve to a node"}, 200, "NOT_FOUND"},
		{"PrimaryRateLimit", Fault{Op: op, Status: 200, GraphQL: "RATE_LIMITED", Message: "API rate limit exceeded for user ID 1."}, 200, "RATE_LIMITED"},
		{"SecondaryAs403", Fault{Op: op, Status: 403, GraphQL: "RATE_LIMITED", Message: "You have exceeded a secondary rate limit."}, 403, "RATE_LIMITED"},
		{"ProxyErrorKeepsItsStatus", Fault{Op: op, Status: 502}, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ClearFaults()
			f := tt.fault
			f.Times = 1
			s.Inject(&f)
			code, body := get(t, s, "POST", "/graphql", "", doc)
			assert.Equal(t, tt.wantStatus, code)
			if tt.wantType == "" {
				assert.Contains(t, body, `"message"`)
				return
			}
			var out struct {
				Data   map[string]any
				Errors []struct{ Type, Message string }
			}
			require.NoError(t, json.Unmarshal([]byte(body), &out))
			require.Len(t, out.Errors, 1)
			assert.Equal(t, tt.wantType, out.Errors[0].Type)
			assert.Equal(t, tt.fault.Message, out.Errors[0].Message)
			assert.Contains(t, out.Data, "revertPullRequest")
		})
	}
}
