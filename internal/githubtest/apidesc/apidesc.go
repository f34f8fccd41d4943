package apidesc

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// The versions of the descriptions the data was generated from.
const (
	OpenAPIVersion       = "@octokit/openapi 23.0.2 (generated/api.github.com.json)"
	GraphQLSchemaVersion = "@octokit/graphql-schema 15.26.1 (schema.graphql)"
)

var (
	//go:embed data/rest.json.gz
	restGz []byte
	//go:embed data/schema.graphql.gz
	schemaGz []byte
)

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// Descriptions are the loaded REST description and GraphQL schema.
type Descriptions struct {
	REST    *openapi3.T
	GraphQL *ast.Schema
	routes  []route
}

type route struct {
	method, template string
	segs             []string
	op               *openapi3.Operation
	params           openapi3.Parameters
}

var (
	loadOnce sync.Once
	loaded   *Descriptions
	loadErr  error
)

// Load parses the embedded descriptions (once per process).
func Load() (*Descriptions, error) {
	loadOnce.Do(func() { loaded, loadErr = load() })
	return loaded, loadErr
}

func load() (*Descriptions, error) {
	raw, err := gunzip(restGz)
	if err != nil {
		return nil, fmt.Errorf("REST description: %w", err)
	}
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("REST description: %w", err)
	}
	src, err := gunzip(schemaGz)
	if err != nil {
		return nil, fmt.Errorf("GraphQL schema: %w", err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(src)})
	if gerr != nil {
		return nil, fmt.Errorf("GraphQL schema: %w", gerr)
	}
	d := &Descriptions{REST: doc, GraphQL: schema}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			d.routes = append(d.routes, route{method: method, template: path, segs: strings.Split(strings.Trim(path, "/"), "/"), op: op, params: params})
		}
	}
	// Literal segments before parameters: /git/ref/{ref} never shadows a literal route.
	sort.Slice(d.routes, func(i, j int) bool { return d.routes[i].template < d.routes[j].template })
	return d, nil
}

// Exchange is one request and its answer, as sent and received.
type Exchange struct {
	Method     string
	Path       string // as sent, /api/v3 (GitHub Enterprise Server) included
	Query      url.Values
	Header     http.Header // the request's
	Body       []byte      // the request's
	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// IsGraphQL says whether the exchange is a GraphQL request.
func (x Exchange) IsGraphQL() bool {
	p := strings.TrimPrefix(x.Path, "/api")
	return x.Method == http.MethodPost && (p == "/graphql")
}

// restPath strips GitHub Enterprise Server's /api/v3 prefix.
func restPath(p string) (string, string) {
	if rest, ok := strings.CutPrefix(p, "/api/v3"); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
		return rest, "/api/v3"
	}
	return p, ""
}

// Operation names the REST operation an exchange matches ("GET /repos/{owner}/{repo}"), or
// "graphql" — "" when the description has none.
func (d *Descriptions) Operation(x Exchange) string {
	if x.IsGraphQL() {
		return "graphql"
	}
	if r, _ := d.match(x.Method, x.Path); r != nil {
		return r.method + " " + r.template
	}
	return ""
}

// match finds the route of method and path, with the path parameters. A parameter named
// path, ref or basehead as the last segment takes the rest of the path (GitHub's own routes
// take slashes there: contents/a/b.yaml, git/ref/heads/a/b).
func (d *Descriptions) match(method, path string) (*route, map[string]string) {
	p, _ := restPath(path)
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var best *route
	var bestParams map[string]string
	bestLiterals := -1
	for i := range d.routes {
		r := &d.routes[i]
		if r.method != method {
			continue
		}
		params, literals, ok := matchSegs(r.segs, segs)
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = r, params, literals
		}
	}
	return best, bestParams
}

func matchSegs(tmpl, segs []string) (map[string]string, int, bool) {
	params := map[string]string{}
	literals := 0
	for i, t := range tmpl {
		if i >= len(segs) {
			return nil, 0, false
		}
		if strings.HasPrefix(t, "{") {
			name := strings.Trim(t, "{}")
			if i == len(tmpl)-1 && (name == "path" || name == "ref" || name == "basehead") {
				v, _ := url.PathUnescape(strings.Join(segs[i:], "/"))
				params[name] = v
				return params, literals, true
			}
			v, _ := url.PathUnescape(segs[i])
			params[name] = v
			continue
		}
		if t != segs[i] {
			return nil, 0, false
		}
		literals++
	}
	return params, literals, len(tmpl) == len(segs)
}

var uaRE = regexp.MustCompile(`^flightline/\S+`)

// Request lists what is wrong with the request of x: no matching operation, parameters or a
// body the description refuses, a GraphQL document the schema refuses, or headers GitHub asks
// for (User-Agent flightline/VERSION, Accept application/vnd.github+json without preview media
// types, a token).
func (d *Descriptions) Request(x Exchange) []string {
	var out []string
	if ua := x.Header.Get("User-Agent"); !uaRE.MatchString(ua) {
		out = append(out, fmt.Sprintf("User-Agent %q: want flightline/VERSION", ua))
	}
	if a := x.Header.Get("Accept"); a != "application/vnd.github+json" {
		out = append(out, fmt.Sprintf("Accept %q: want application/vnd.github+json (GitHub's recommended media type; preview types are obsolete)", a))
	}
	if v := x.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" {
		out = append(out, fmt.Sprintf("X-GitHub-Api-Version %q: want 2022-11-28", v))
	}
	if !strings.HasPrefix(x.Header.Get("Authorization"), "Bearer ") {
		out = append(out, "no Authorization: Bearer header")
	}
	if x.IsGraphQL() {
		return append(out, d.graphqlRequest(x)...)
	}
	r, params := d.match(x.Method, x.Path)
	if r == nil {
		return append(out, fmt.Sprintf("%s %s: no such operation in %s", x.Method, x.Path, OpenAPIVersion))
	}
	name := r.method + " " + r.template
	known := map[string]bool{}
	for _, pr := range r.params {
		p := pr.Value
		known[p.In+":"+p.Name] = true
		var raw string
		var present bool
		switch p.In {
		case "path":
			raw, present = params[p.Name]
		case "query":
			present = x.Query.Has(p.Name)
			raw = x.Query.Get(p.Name)
		default:
			continue
		}
		if !present {
			if p.Required {
				out = append(out, fmt.Sprintf("%s: required %s parameter %s missing", name, p.In, p.Name))
			}
			continue
		}
		if err := checkParam(p.Schema.Value, raw); err != nil {
			out = append(out, fmt.Sprintf("%s: %s parameter %s=%q: %v", name, p.In, p.Name, raw, err))
		}
	}
	for k := range x.Query {
		if !known["query:"+k] {
			out = append(out, fmt.Sprintf("%s: query parameter %s is not in the description", name, k))
		}
	}
	rb := r.op.RequestBody
	switch {
	case rb == nil || rb.Value == nil:
		if len(bytes.TrimSpace(x.Body)) > 0 {
			out = append(out, fmt.Sprintf("%s: a body where the description has none", name))
		}
	case len(bytes.TrimSpace(x.Body)) == 0:
		if rb.Value.Required {
			out = append(out, fmt.Sprintf("%s: the request body is required", name))
		}
	default:
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			out = append(out, fmt.Sprintf("%s: the description has no JSON body", name))
			break
		}
		var v any
		if err := json.Unmarshal(x.Body, &v); err != nil {
			out = append(out, fmt.Sprintf("%s: request body is not JSON: %v", name, err))
			break
		}
		if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			out = append(out, fmt.Sprintf("%s: request body: %s", name, oneLine(err)))
		}
	}
	return out
}

// checkParam validates a parameter's text against its schema (integers, booleans, enums).
func checkParam(s *openapi3.Schema, raw string) error {
	if s == nil {
		return nil
	}
	var v any = raw
	switch {
	case s.Type.Is("integer"), s.Type.Is("number"):
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v = n
	case s.Type.Is("boolean"):
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		v = b
	}
	return s.VisitJSON(v)
}

func oneLine(err error) string {
	s := err.Error()
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// graphQLBody is a GraphQL request.
type graphQLBody struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

func (d *Descriptions) graphqlRequest(x Exchange) []string {
	var in graphQLBody
	if err := json.Unmarshal(x.Body, &in); err != nil {
		return []string{"graphql: body is not JSON: " + err.Error()}
	}
	doc, errs := gqlparser.LoadQueryWithRules(d.GraphQL, in.Query, nil)
	if len(errs) > 0 {
		return []string{fmt.Sprintf("graphql: document refused by %s: %v (%s)", GraphQLSchemaVersion, errs, in.Query)}
	}
	if len(doc.Operations) != 1 {
		return []string{fmt.Sprintf("graphql: want one operation, got %d", len(doc.Operations))}
	}
	if _, err := validator.VariableValues(d.GraphQL, doc.Operations[0], in.Variables); err != nil {
		return []string{fmt.Sprintf("graphql: variables refused by %s: %v", GraphQLSchemaVersion, err)}
	}
	return nil
}

// rate-limit headers GitHub sends on every API answer.
var rateHeaders = []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Used", "X-Ratelimit-Resource"}

// Response lists what is wrong with the answer of x: a status the operation does not
// document (beyond those any request can get: 401, 403, 429 and 5xx, with GitHub's error
// body), a body its schema refuses, a GraphQL answer that is not what GitHub sends (HTTP 200
// with data matching the document and the schema, errors as an array), missing rate-limit
// headers, or a Link header without the rels GitHub sends or that leaves the request's prefix.
func (d *Descriptions) Response(x Exchange) []string {
	var out []string
	for _, h := range rateHeaders {
		if x.RespHeader.Get(h) == "" {
			out = append(out, "answer lacks "+h)
		}
	}
	if x.IsGraphQL() {
		return append(out, d.graphqlResponse(x)...)
	}
	r, _ := d.match(x.Method, x.Path)
	if r == nil {
		return append(out, fmt.Sprintf("%s %s: no such operation in %s", x.Method, x.Path, OpenAPIVersion))
	}
	name := fmt.Sprintf("%s %s → %d", r.method, r.template, x.Status)
	out = append(out, checkLink(x)...)
	resp := r.op.Responses.Status(x.Status)
	if (resp == nil || resp.Value == nil) && redirect(x.Status) {
		// "Any request may result in a redirection. Receiving an HTTP redirection is not an
		// error" (GitHub docs, "Getting started with the REST API"): a renamed or transferred
		// repository answers 301/302/307 on any route, with Location.
		if x.RespHeader.Get("Location") == "" {
			out = append(out, name+": a redirect without Location")
		}
		return out
	}
	if resp == nil || resp.Value == nil {
		if generic(x.Status) {
			return append(out, basicError(name, x.RespBody)...)
		}
		return append(out, fmt.Sprintf("%s: status not in the description (documented: %s)", name, strings.Join(statuses(r.op), ", ")))
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		if len(bytes.TrimSpace(x.RespBody)) > 0 && x.Status != http.StatusNoContent {
			if generic(x.Status) {
				return append(out, basicError(name, x.RespBody)...)
			}
		}
		if x.Status == http.StatusNoContent && len(bytes.TrimSpace(x.RespBody)) > 0 {
			out = append(out, name+": a body on 204")
		}
		return out
	}
	var v any
	if err := json.Unmarshal(x.RespBody, &v); err != nil {
		return append(out, fmt.Sprintf("%s: body is not JSON: %v", name, err))
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		out = append(out, fmt.Sprintf("%s: body: %s", name, oneLine(err)))
	}
	return out
}

func statuses(op *openapi3.Operation) []string {
	var s []string
	for k := range op.Responses.Map() {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// generic: statuses any request can get whether or not the operation lists them.
func generic(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests || status >= 500
}

func redirect(status int) bool {
	return status == http.StatusMovedPermanently || status == http.StatusFound || status == http.StatusTemporaryRedirect
}

// basicError checks GitHub's error document (components/schemas/basic-error).
func basicError(name string, body []byte) []string {
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		return []string{fmt.Sprintf("%s: error body is not JSON: %v", name, err)}
	}
	if _, ok := e["message"].(string); !ok {
		return []string{name + ": error body without a message"}
	}
	return nil
}

var linkRE = regexp.MustCompile(`<([^>]*)>;\s*rel="([a-z]+)"`)

// checkLink: rels among first, prev, next, last; next and last together, first and prev
// together; every URL keeps the request's path (the /api/v3 prefix included).
func checkLink(x Exchange) []string {
	h := x.RespHeader.Get("Link")
	if h == "" {
		return nil
	}
	var out []string
	rels := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(h, -1) {
		rels[m[2]] = m[1]
		switch m[2] {
		case "first", "prev", "next", "last":
		default:
			out = append(out, fmt.Sprintf("Link: unknown rel %q", m[2]))
		}
		u, err := url.Parse(m[1])
		if err != nil || u.Path != x.Path {
			out = append(out, fmt.Sprintf("Link %s: %q does not keep the request's path %q", m[2], m[1], x.Path))
		}
	}
	if len(rels) == 0 {
		out = append(out, fmt.Sprintf("Link %q: no rel", h))
	}
	if (rels["next"] == "") != (rels["last"] == "") {
		out = append(out, "Link: next without last (or the reverse)")
	}
	if (rels["prev"] == "") != (rels["first"] == "") {
		out = append(out, "Link: prev without first (or the reverse)")
	}
	return out
}

// graphqlResponse: GitHub answers GraphQL with HTTP 200 and a JSON object holding data and/or
// errors; only authentication failures (401), secondary rate limits (403) and server errors
// come with another status, and then a REST-style error body.
func (d *Descriptions) graphqlResponse(x Exchange) []string {
	if x.Status != http.StatusOK {
		if x.Status == http.StatusUnauthorized || x.Status == http.StatusForbidden || x.Status >= 500 {
			return basicError(fmt.Sprintf("graphql → %d", x.Status), x.RespBody)
		}
		return []string{fmt.Sprintf("graphql → %d: GitHub answers GraphQL with 200 (errors in the body), not %d", x.Status, x.Status)}
	}
	var in graphQLBody
	_ = json.Unmarshal(x.Body, &in)
	doc, errs := gqlparser.LoadQueryWithRules(d.GraphQL, in.Query, nil)
	if len(errs) > 0 || len(doc.Operations) != 1 {
		return []string{"graphql: cannot check the answer of a document the schema refuses"}
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(x.RespBody, &resp); err != nil {
		return []string{"graphql: answer is not a JSON object: " + err.Error()}
	}
	var out []string
	for k := range resp {
		if k != "data" && k != "errors" && k != "extensions" {
			out = append(out, fmt.Sprintf("graphql: unexpected top-level key %q", k))
		}
	}
	if raw, ok := resp["errors"]; ok {
		var list []map[string]any
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			out = append(out, "graphql: errors is not a non-empty array")
		}
		for _, e := range list {
			if _, ok := e["message"].(string); !ok {
				out = append(out, "graphql: an error without a message")
			}
			if t, ok := e["type"]; ok {
				if _, isString := t.(string); !isString {
					out = append(out, "graphql: an error whose type is not a string")
				}
			}
			if p, ok := e["path"]; ok {
				if _, isList := p.([]any); !isList {
					out = append(out, "graphql: an error whose path is not a list")
				}
			}
			if l, ok := e["locations"]; ok {
				if _, isList := l.([]any); !isList {
					out = append(out, "graphql: an error whose locations is not a list")
				}
			}
		}
	}
	raw, ok := resp["data"]
	if !ok {
		if _, hasErrors := resp["errors"]; !hasErrors {
			out = append(out, "graphql: neither data nor errors")
		}
		return out
	}
	var data any
	if err := json.Unmarshal(raw, &data); err != nil {
		return append(out, "graphql: data is not JSON")
	}
	if data == nil {
		return out
	}
	op := doc.Operations[0]
	root := d.GraphQL.Query
	if op.Operation == ast.Mutation {
		root = d.GraphQL.Mutation
	}
	checkObject(d.GraphQL, root, op.SelectionSet, data, "data", &out)
	return out
}

func checkObject(s *ast.Schema, def *ast.Definition, sel ast.SelectionSet, v any, path string, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok {
		*out = append(*out, fmt.Sprintf("graphql %s: want an object of type %s, got %T", path, def.Name, v))
		return
	}
	want := map[string]bool{}
	for _, f := range collect(sel) {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		want[key] = true
		fv, present := m[key]
		if !present {
			*out = append(*out, fmt.Sprintf("graphql %s.%s: missing (asked for)", path, key))
			continue
		}
		if f.Name == "__typename" {
			continue
		}
		checkValue(s, f.Definition.Type, f.SelectionSet, fv, path+"."+key, out)
	}
	for k := range m {
		if !want[k] {
			*out = append(*out, fmt.Sprintf("graphql %s.%s: not asked for", path, k))
		}
	}
}

// collect flattens a selection set's fields (inline fragments and spreads included).
func collect(sel ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, s := range sel {
		switch x := s.(type) {
		case *ast.Field:
			out = append(out, x)
		case *ast.InlineFragment:
			out = append(out, collect(x.SelectionSet)...)
		case *ast.FragmentSpread:
			if x.Definition != nil {
				out = append(out, collect(x.Definition.SelectionSet)...)
			}
		}
	}
	return out
}

func checkValue(s *ast.Schema, t *ast.Type, sel ast.SelectionSet, v any, path string, out *[]string) {
	if v == nil {
		if t.NonNull {
			*out = append(*out, fmt.Sprintf("graphql %s: null for non-null %s", path, t.String()))
		}
		return
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("graphql %s: want a list (%s), got %T", path, t.String(), v))
			return
		}
		for i, e := range list {
			checkValue(s, t.Elem, sel, e, fmt.Sprintf("%s[%d]", path, i), out)
		}
		return
	}
	def := s.Types[t.NamedType]
	if def == nil {
		*out = append(*out, fmt.Sprintf("graphql %s: unknown type %s", path, t.NamedType))
		return
	}
	switch def.Kind {
	case ast.Scalar:
		ok := true
		switch def.Name {
		case "Int":
			n, isNum := v.(float64)
			ok = isNum && n == float64(int64(n))
		case "Float":
			_, ok = v.(float64)
		case "Boolean":
			_, ok = v.(bool)
		case "ID":
			switch v.(type) {
			case string, float64:
			default:
				ok = false
			}
		default: // String and GitHub's custom scalars (DateTime, GitObjectID, URI, …) are strings
			_, ok = v.(string)
		}
		if !ok {
			*out = append(*out, fmt.Sprintf("graphql %s: %v is not a %s", path, v, def.Name))
		}
	case ast.Enum:
		str, _ := v.(string)
		if def.EnumValues.ForName(str) == nil {
			*out = append(*out, fmt.Sprintf("graphql %s: %v is not a value of %s", path, v, def.Name))
		}
	case ast.Object, ast.Interface, ast.Union:
		checkObject(s, def, sel, v, path, out)
	}
}
