package apidesc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

var (
	goodReq  = headers("User-Agent", "flightline/v1.2.3", "Accept", "application/vnd.github+json", "Authorization", "Bearer t")
	rateHdrs = []string{"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "4999", "X-RateLimit-Reset", "1", "X-RateLimit-Used", "1", "X-RateLimit-Resource", "core"}
)

func mustLoad(t *testing.T) *Descriptions {
	t.Helper()
	d, err := Load()
	require.NoError(t, err)
	return d
}

func TestOperation_MatchesRoutesWithSlashesAndTheGHESPrefix(t *testing.T) {
	d := mustLoad(t)
	tests := map[string]string{
		"GET /repos/acme/platform":                                "GET /repos/{owner}/{repo}",
		"GET /api/v3/repos/acme/platform/pulls/7":                 "GET /repos/{owner}/{repo}/pulls/{pull_number}",
		"GET /repos/acme/platform/contents/apps/prod/images.yaml": "GET /repos/{owner}/{repo}/contents/{path}",
		"GET /repos/acme/platform/git/ref/heads/flightline/x/1.0": "GET /repos/{owner}/{repo}/git/ref/{ref}",
		"POST /graphql":              "graphql",
		"POST /api/graphql":          "graphql",
		"GET /repos/acme/nope/hooks": "",
	}
	for in, want := range tests {
		method, path, _ := strings.Cut(in, " ")
		assert.Equal(t, want, d.Operation(Exchange{Method: method, Path: path}), in)
	}
}

func TestRequest_RefusesWhatGitHubsDescriptionsRefuse(t *testing.T) {
	d := mustLoad(t)
	tests := []struct {
		name string
		x    Exchange
		want string // "" = valid
	}{
		{"Valid", Exchange{Method: "GET", Path: "/repos/a/b/pulls", Query: url.Values{"state": {"closed"}, "per_page": {"100"}}, Header: goodReq}, ""},
		{"BadEnum", Exchange{Method: "GET", Path: "/repos/a/b/pulls", Query: url.Values{"state": {"merged"}}, Header: goodReq}, "query parameter state"},
		{"UnknownQueryParameter", Exchange{Method: "GET", Path: "/repos/a/b/pulls", Query: url.Values{"author": {"x"}}, Header: goodReq}, "not in the description"},
		{"LabelsAsABareArray", Exchange{Method: "POST", Path: "/repos/a/b/issues/1/labels", Header: goodReq, Body: []byte(`["x"]`)}, "request body"},
		{"LabelsAsAnObject", Exchange{Method: "POST", Path: "/repos/a/b/issues/1/labels", Header: goodReq, Body: []byte(`{"labels":["x"]}`)}, ""},
		{"PreviewMediaType", Exchange{Method: "GET", Path: "/repos/a/b", Header: headers("User-Agent", "flightline/dev", "Accept", "application/vnd.github.mercy-preview+json", "Authorization", "Bearer t")}, "Accept"},
		{"AnonymousClient", Exchange{Method: "GET", Path: "/repos/a/b", Header: headers("User-Agent", "Go-http-client/1.1", "Accept", "application/vnd.github+json", "Authorization", "Bearer t")}, "User-Agent"},
		{"GraphQLUnknownField", Exchange{Method: "POST", Path: "/graphql", Header: goodReq,
			Body: []byte(`{"query":"mutation($input:RevertPullRequestInput!){revertPullRequest(input:$input){revertPullRequest{number,nope}}}","variables":{"input":{"pullRequestId":"x"}}}`)}, "refused"},
		{"GraphQLBadVariables", Exchange{Method: "POST", Path: "/graphql", Header: goodReq,
			Body: []byte(`{"query":"mutation($input:RevertPullRequestInput!){revertPullRequest(input:$input){revertPullRequest{number}}}","variables":{"input":{}}}`)}, "variables"},
		{"GraphQLValid", Exchange{Method: "POST", Path: "/graphql", Header: goodReq,
			Body: []byte(`{"query":"mutation($input:RevertPullRequestInput!){revertPullRequest(input:$input){revertPullRequest{number,url}}}","variables":{"input":{"pullRequestId":"PR_1"}}}`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(d.Request(tt.x), "; ")
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}

func TestResponse_RefusesWhatGitHubDoesNotAnswer(t *testing.T) {
	d := mustLoad(t)
	gql := []byte(`{"query":"mutation($input:RevertPullRequestInput!){revertPullRequest(input:$input){revertPullRequest{number,url}}}","variables":{"input":{"pullRequestId":"PR_1"}}}`)
	tests := []struct {
		name string
		x    Exchange
		want string
	}{
		{"NoRateLimitHeaders", Exchange{Method: "GET", Path: "/repos/a/b/labels/x", Status: 404, RespHeader: headers(), RespBody: []byte(`{"message":"Not Found","documentation_url":"u"}`)}, "X-Ratelimit-Limit"},
		{"MissingRequiredProperty", Exchange{Method: "GET", Path: "/repos/a/b/labels/x", Status: 200, RespHeader: headers(rateHdrs...),
			RespBody: []byte(`{"name":"x","color":"fff"}`)}, "property"},
		{"ValidLabel", Exchange{Method: "GET", Path: "/repos/a/b/labels/x", Status: 200, RespHeader: headers(rateHdrs...),
			RespBody: []byte(`{"id":1,"node_id":"LA_1","url":"https://api.github.com/repos/a/b/labels/x","name":"x","description":null,"color":"fff","default":false}`)}, ""},
		{"UndocumentedStatus", Exchange{Method: "GET", Path: "/repos/a/b/labels/x", Status: 400, RespHeader: headers(rateHdrs...), RespBody: []byte(`{"message":"x"}`)}, "status not in the description"},
		{"LinkWithoutLast", Exchange{Method: "GET", Path: "/api/v3/repos/a/b/pulls", Status: 200, RespBody: []byte(`[]`),
			RespHeader: headers(append(rateHdrs, "Link", `<http://h/api/v3/repos/a/b/pulls?page=2>; rel="next"`)...)}, "next without last"},
		{"LinkDropsThePrefix", Exchange{Method: "GET", Path: "/api/v3/repos/a/b/pulls", Status: 200, RespBody: []byte(`[]`),
			RespHeader: headers(append(rateHdrs, "Link", `<http://h/repos/a/b/pulls?page=2>; rel="next", <http://h/repos/a/b/pulls?page=3>; rel="last"`)...)}, "does not keep the request's path"},
		{"GraphQLErrorAs422", Exchange{Method: "POST", Path: "/graphql", Body: gql, Status: 422, RespHeader: headers(rateHdrs...), RespBody: []byte(`{"message":"x"}`)}, "GitHub answers GraphQL with 200"},
		{"GraphQLErrorAs200", Exchange{Method: "POST", Path: "/graphql", Body: gql, Status: 200, RespHeader: headers(rateHdrs...),
			RespBody: []byte(`{"data":{"revertPullRequest":null},"errors":[{"type":"UNPROCESSABLE","path":["revertPullRequest"],"message":"x"}]}`)}, ""},
		{"GraphQLNullForNonNull", Exchange{Method: "POST", Path: "/graphql", Body: gql, Status: 200, RespHeader: headers(rateHdrs...),
			RespBody: []byte(`{"data":{"revertPullRequest":{"revertPullRequest":{"number":null,"url":"u"}}}}`)}, "null for non-null Int!"},
		{"GraphQLFieldNotAskedFor", Exchange{Method: "POST", Path: "/graphql", Body: gql, Status: 200, RespHeader: headers(rateHdrs...),
			RespBody: []byte(`{"data":{"revertPullRequest":{"revertPullRequest":{"number":1,"url":"u","title":"t"}}}}`)}, "not asked for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(d.Response(tt.x), "; ")
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}
