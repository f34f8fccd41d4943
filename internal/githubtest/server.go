package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the emulator: an httptest.Server answering the REST routes and GraphQL mutations
// the GitHub forge uses, over one bare git repository per emulated repository.
//
// REST is served at URL and at URL+"/api/v3" (GitHub Enterprise Server's layout); GraphQL at
// URL+"/graphql" and URL+"/api/graphql".
type Server struct {
	// URL is the base URL (http://127.0.0.1:PORT), as GITHUB_API_URL would be on github.com.
	URL string

	t     testing.TB
	srv   *httptest.Server
	git   string
	dir   string
	clock time.Time

	mu     sync.Mutex
	repos  map[string]*repo // by lower-case OWNER/NAME
	tokens map[string]Token
	faults []*Fault
	log    []Request
	tick   int
}

// Token describes what a bearer token may do. When no token is registered, every request is
// served as if by an administrator of every repository.
type Token struct {
	// Repos lists the repositories (OWNER/NAME) the token can see; others answer 404, as GitHub
	// does. Empty: all.
	Repos []string
	// Write: the token may push, open, edit and merge PRs and create labels (Contents and Pull
	// requests: write). Without it, writes answer 403 "Resource not accessible by integration".
	Write bool
	// Admin: the token may read the repository's Actions settings (Administration: read).
	Admin bool
	// Actions marks a workflow's GITHUB_TOKEN: it may open PRs only when the repository allows
	// GitHub Actions to create and approve pull requests.
	Actions bool
	// Installation marks a GitHub App installation token: repository answers carry no
	// "permissions" field for it, and GET /user answers 403, as on GitHub.
	Installation bool
	// Login is who the token acts as: the author of the PRs it opens and the commits it makes
	// (an App's is "SLUG[bot]"). Default "flightline".
	Login string
}

// defaultLogin is the identity of requests made without a registered token.
const defaultLogin = "flightline"

// Request is one entry of the request log.
type Request struct {
	Method string // HTTP method
	Path   string // URL path as sent
	// Op names the operation: the route pattern for REST ("GET /repos/{owner}/{repo}/pulls")
	// or "graphql NAME" for a GraphQL operation ("graphql createCommitOnBranch").
	Op     string
	Status int // the status answered
}

// Fault makes the emulator misbehave on one operation.
type Fault struct {
	// Op is the operation to affect, as in Request.Op.
	Op string
	// Status, when non-zero, is answered instead of handling the request, Times times (0: every
	// time), with Message as the error message.
	Status  int
	Message string
	// RetryAfter sets the Retry-After header (seconds) on the injected answer.
	RetryAfter int
	// Header adds headers to the injected answer (X-RateLimit-Remaining, X-RateLimit-Reset).
	Header map[string]string
	// Times bounds how often the fault fires (0: always).
	Times int
	// Delay is slept before the request is handled (the request's context is honoured).
	Delay time.Duration
	// Lose handles the request, then answers Status instead of the real answer: the change
	// was made but the client never learns it (a 502 from a proxy after the write).
	Lose bool
	// Before runs before the request is handled and outside the emulator's lock: a concurrent
	// push between the forge's read and its write, for example.
	Before func()
	// Redirect answers Status (default 307) with Location: Redirect followed by the request's
	// path and query, without handling the request (a moved repository, a proxy).
	Redirect string

	fired int
}

// Option configures a Server.
type Option func(*Server)

// WithGit sets the git binary (default: "git").
func WithGit(path string) Option { return func(s *Server) { s.git = path } }

// WithClock sets the time of the emulator's first event (default: the real time at start);
// every mutation advances the emulator's clock by one second, so orderings are deterministic.
func WithClock(start time.Time) Option { return func(s *Server) { s.clock = start } }

// New starts an emulator for the test; it is closed at the test's end.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, git: "git", dir: t.TempDir(), clock: time.Now().UTC().Truncate(time.Second),
		repos: map[string]*repo{}, tokens: map[string]Token{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s.handler())
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server (it is also stopped at the test's end).
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddToken registers a bearer token. Once any token is registered, requests without a known
// token answer 401 "Bad credentials".
func (s *Server) AddToken(value string, tk Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[value] = tk
}

// Inject adds a fault.
func (s *Server) Inject(f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Log returns a copy of the request log.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Count tallies the log by Op.
func Count(log []Request) map[string]int {
	m := map[string]int{}
	for _, r := range log {
		m[r.Op]++
	}
	return m
}

// now is the emulator clock; each call advances it by a second.
func (s *Server) now() time.Time {
	s.tick++
	return s.clock.Add(time.Duration(s.tick) * time.Second)
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// call is one request being served: the writer, the token's rights, the log entry.
type call struct {
	w     *statusWriter
	r     *http.Request
	token Token
	all   bool // no tokens registered: full rights
}

func (s *Server) handler() http.Handler {
	rest := s.restMux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		sent := r.URL.Path
		path := r.URL.Path
		if p, ok := strings.CutPrefix(path, "/api/v3"); ok && (p == "" || strings.HasPrefix(p, "/")) {
			path = p
		}
		var op string
		var body []byte
		graphql := r.Method == http.MethodPost && (path == "/graphql" || r.URL.Path == "/api/graphql")
		if graphql {
			body = readBody(r)
			op = "graphql " + graphqlOp(body)
		} else {
			r2 := r.Clone(r.Context())
			r2.URL.Path = path
			_, pattern := rest.Handler(r2)
			op = pattern
			if op == "" {
				op = r.Method + " (unknown route)"
			}
			r = r2
		}
		defer func() {
			s.mu.Lock()
			s.log = append(s.log, Request{Method: r.Method, Path: sent, Op: op, Status: sw.status})
			s.mu.Unlock()
		}()
		f := s.fault(op)
		if f != nil {
			if f.Delay > 0 {
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
			}
			if f.Before != nil {
				f.Before()
			}
			if f.Redirect != "" {
				status := f.Status
				if status == 0 {
					status = http.StatusTemporaryRedirect
				}
				sw.Header().Set("Location", f.Redirect+r.URL.RequestURI())
				sw.WriteHeader(status)
				return
			}
			if f.Status != 0 && !f.Lose {
				if f.RetryAfter > 0 {
					sw.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
				}
				for k, v := range f.Header {
					sw.Header().Set(k, v)
				}
				msg := f.Message
				if msg == "" {
					msg = http.StatusText(f.Status)
				}
				writeError(sw, f.Status, msg)
				return
			}
		}
		if f != nil && f.Lose && f.Status != 0 {
			lost := &statusWriter{ResponseWriter: httptest.NewRecorder()}
			s.serve(rest, lost, r, graphql, body)
			writeError(sw, f.Status, http.StatusText(f.Status))
			return
		}
		s.serve(rest, sw, r, graphql, body)
	})
}

// serve authenticates and handles one request.
func (s *Server) serve(rest *http.ServeMux, sw *statusWriter, r *http.Request, graphql bool, body []byte) {
	c := &call{w: sw, r: r}
	if !s.authenticate(c) {
		return
	}
	if graphql {
		s.serveGraphQL(c, body)
		return
	}
	rest.ServeHTTP(sw, withCall(r, c))
}

// fault returns the fault for op that fires now, if any.
func (s *Server) fault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Op != op || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		f.fired++
		return f
	}
	return nil
}

func (s *Server) authenticate(c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 {
		c.all = true
		return true
	}
	h := c.r.Header.Get("Authorization")
	value := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, "Bearer "), "token "))
	tk, ok := s.tokens[value]
	if h == "" || !ok {
		writeError(c.w, http.StatusUnauthorized, "Bad credentials")
		return false
	}
	c.token = tk
	return true
}

// login is who the call acts as.
func (c *call) login() string {
	if c.token.Login != "" {
		return c.token.Login
	}
	return defaultLogin
}

// sees says whether the call's token can see the repository.
func (c *call) sees(full string) bool {
	if c.all || len(c.token.Repos) == 0 {
		return true
	}
	for _, r := range c.token.Repos {
		if strings.EqualFold(r, full) {
			return true
		}
	}
	return false
}

func (c *call) canWrite() bool { return c.all || c.token.Write }
func (c *call) isAdmin() bool  { return c.all || c.token.Admin }

// errorBody is GitHub's REST error document.
type errorBody struct {
	Message          string         `json:"message"`
	Errors           []errorDetails `json:"errors,omitempty"`
	DocumentationURL string         `json:"documentation_url,omitempty"`
}

type errorDetails struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string, details ...errorDetails) {
	doc := "https://docs.github.com/rest"
	if strings.Contains(strings.ToLower(msg), "secondary rate limit") {
		doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	}
	writeJSON(w, status, errorBody{Message: msg, Errors: details, DocumentationURL: doc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// CreateRepo creates OWNER/NAME with one commit holding files on its default branch "main",
// auto-merge allowed and Actions allowed to create PRs; change them with Configure.
func (s *Server) CreateRepo(fullName string, files map[string][]byte) {
	s.t.Helper()
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		s.t.Fatalf("githubtest: repository %q: want OWNER/NAME", fullName)
	}
	dir := filepath.Join(s.dir, owner, name+".git")
	g := &gitRepo{git: s.git, dir: dir}
	if err := g.init(); err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := &repo{owner: owner, name: name, git: g, id: len(s.repos) + 1, labels: map[string]label{},
		Settings: Settings{DefaultBranch: "main", AllowAutoMerge: true, ActionsCanCreatePRs: true, Protection: map[string]Protection{}}}
	sha, err := g.commitFiles("", files, nil, "initial commit", s.now())
	if err == nil {
		err = g.updateRef("refs/heads/main", sha, "")
	}
	if err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	s.repos[strings.ToLower(fullName)] = rp
}

// Settings are a repository's settings that the forge and doctor look at.
type Settings struct {
	DefaultBranch       string
	AllowAutoMerge      bool // "Allow auto-merge"
	DeleteBranchOnMerge bool // "Automatically delete head branches"
	// ActionsCanCreatePRs is "Allow GitHub Actions to create and approve pull requests".
	ActionsCanCreatePRs bool
	// Protection by branch name.
	Protection map[string]Protection
}

// Protection is what stands between a PR and its merge on a base branch.
type Protection struct {
	RequireReview bool // an approving review is required (none is ever given here)
	PendingChecks bool // a required status check has not reported yet
	MergeQueue    bool // merges go through a merge queue
}

func (p Protection) blocked() bool { return p.RequireReview || p.PendingChecks || p.MergeQueue }

// Configure changes a repository's settings. Lifting a protection merges the PRs whose
// auto-merge was waiting for it, as GitHub does.
func (s *Server) Configure(fullName string, change func(*Settings)) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[strings.ToLower(fullName)]
	if rp == nil {
		s.t.Fatalf("githubtest: no repository %q", fullName)
	}
	change(&rp.Settings)
	if rp.Settings.Protection == nil {
		rp.Settings.Protection = map[string]Protection{}
	}
	for _, p := range rp.pulls {
		if p.state == "open" && p.autoMerge && !rp.Settings.Protection[p.base].blocked() {
			if _, err := s.merge(rp, p, p.autoMethod, "", ""); err != nil {
				s.t.Errorf("githubtest: auto-merging #%d: %v", p.number, err)
			}
		}
	}
}

func (s *Server) repo(fullName string) *repo {
	s.t.Helper()
	rp := s.repos[strings.ToLower(fullName)]
	if rp == nil {
		s.t.Fatalf("githubtest: no repository %q", fullName)
	}
	return rp
}

// Push commits files on branch directly, as a person pushing would, and returns the new tip.
func (s *Server) Push(fullName, branch string, files map[string][]byte, message string) string {
	s.t.Helper()
	return s.PushAs(fullName, branch, "", files, message)
}

// Branches lists the repository's branches, sorted.
func (s *Server) Branches(fullName string) []string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.repo(fullName).git.branches()
	if err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	sort.Strings(b)
	return b
}

// Head returns the tip of a branch ("" when it does not exist).
func (s *Server) Head(fullName, branch string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, _ := s.repo(fullName).git.revParse("refs/heads/" + branch)
	return sha
}

// File reads path at ref (nil when absent).
func (s *Server) File(fullName, ref, path string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(fullName)
	sha, err := rp.git.revParse(ref)
	if err != nil {
		return nil
	}
	b, err := rp.git.readFile(sha, path)
	if err != nil {
		return nil
	}
	return b
}

// PullRequest is a PR as the emulator holds it, for tests to inspect.
type PullRequest struct {
	Number    int
	Title     string
	Body      string
	State     string // open or closed
	Merged    bool
	Head      string // head branch
	HeadSHA   string
	Base      string
	MergeSHA  string
	Labels    []string
	Comments  []string
	AutoMerge bool
	Author    string // the login that opened it
	Fork      string // the owner of the fork it comes from ("" for a branch of the repository)
}

// Pull returns PR number n (ok false when there is none).
func (s *Server) Pull(fullName string, n int) (PullRequest, bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(fullName)
	p := rp.pull(n)
	if p == nil {
		return PullRequest{}, false
	}
	return PullRequest{Number: p.number, Title: p.title, Body: p.body, State: p.state, Merged: p.merged,
		Head: p.head, HeadSHA: rp.headSHA(p), Base: p.base, MergeSHA: p.mergeSHA, Labels: p.labelNames(),
		Comments: append([]string(nil), p.comments...), AutoMerge: p.autoMerge, Author: p.author, Fork: p.fork}, true
}

// Pulls returns every PR of the repository, by number.
func (s *Server) Pulls(fullName string) []PullRequest {
	s.t.Helper()
	s.mu.Lock()
	n := len(s.repo(fullName).pulls)
	s.mu.Unlock()
	out := make([]PullRequest, 0, n)
	for i := 1; i <= n; i++ {
		if p, ok := s.Pull(fullName, i); ok {
			out = append(out, p)
		}
	}
	return out
}

// Labels lists the repository's labels, sorted.
func (s *Server) Labels(fullName string) []string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.repo(fullName).labels {
		out = append(out, l.Name)
	}
	sort.Strings(out)
	return out
}

// CreateLabel adds a label to the repository.
func (s *Server) CreateLabel(fullName, name string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(fullName).labels[strings.ToLower(name)] = label{Name: name, Color: "ededed"}
}

// OpenPull opens a PR from head to base as another client would, and returns its number.
func (s *Server) OpenPull(fullName, title, body, head, base string) int {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, msg, det := s.openPull(s.repo(fullName), title, body, head, base)
	if p == nil {
		s.t.Fatalf("githubtest: opening a PR from %s: %s %v", head, msg, det)
	}
	p.author = defaultLogin
	return p.number
}

// PullSpec is a PR that someone other than the forge under test opens.
type PullSpec struct {
	Title, Body string
	Head, Base  string // head branch and base branch (Base default: main)
	// Author is the login that opens it (and authors its commit); default "flightline".
	Author string
	// Fork, when set, is the owner of a fork the head branch lives in (OWNER/NAME's name);
	// the platform repository's own branch of the same name, if any, is not the PR's.
	Fork string
	// Files, when set, are committed (by Author) on a new head branch made from the base tip;
	// otherwise Head must exist in the repository.
	Files map[string][]byte
}

// OpenPullBy opens a PR as spec.Author would, from the repository or from a fork, and returns
// its number.
func (s *Server) OpenPullBy(fullName string, spec PullSpec) int {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(fullName)
	if spec.Base == "" {
		spec.Base = "main"
	}
	if spec.Author == "" {
		spec.Author = defaultLogin
	}
	ref := "refs/heads/" + spec.Head
	if spec.Fork != "" {
		ref = forkRef(spec.Fork, spec.Head)
	}
	if spec.Files != nil {
		tip, err := rp.git.revParse("refs/heads/" + spec.Base)
		if err != nil {
			s.t.Fatalf("githubtest: base %s: %v", spec.Base, err)
		}
		sha, err := rp.git.commitFilesAs(spec.Author, tip, spec.Files, nil, spec.Title+"\n", s.now())
		if err == nil {
			err = rp.git.updateRef(ref, sha, "")
		}
		if err != nil {
			s.t.Fatalf("githubtest: head %s: %v", spec.Head, err)
		}
	}
	p, _, msg, det := s.openPullFrom(rp, spec.Title, spec.Body, spec.Head, spec.Base, spec.Fork)
	if p == nil {
		s.t.Fatalf("githubtest: opening a PR from %s: %s %v", spec.Head, msg, det)
	}
	p.author = spec.Author
	return p.number
}

// PushAs commits files on branch as login (a person pushing onto it; "": the GitHub bot) and
// returns the new tip.
func (s *Server) PushAs(fullName, branch, login string, files map[string][]byte, message string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(fullName)
	tip, err := rp.git.revParse("refs/heads/" + branch)
	if err != nil {
		s.t.Fatalf("githubtest: push to %s: %v", branch, err)
	}
	sha, err := rp.git.commitFilesAs(login, tip, files, nil, message, s.now())
	if err == nil {
		err = rp.git.updateRef("refs/heads/"+branch, sha, tip)
	}
	if err != nil {
		s.t.Fatalf("githubtest: push to %s: %v", branch, err)
	}
	for _, p := range rp.pulls {
		if p.state == "open" && p.head == branch && p.fork == "" {
			p.updated = s.now()
		}
	}
	return sha
}

// EditBody sets the description of PR n, open or merged, as anyone with triage access can.
func (s *Server) EditBody(fullName string, n int, body string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.repo(fullName).pull(n)
	if p == nil {
		s.t.Fatalf("githubtest: no PR #%d", n)
	}
	p.body, p.updated = body, s.now()
}

// ClosePull closes PR n without merging it.
func (s *Server) ClosePull(fullName string, n int) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(fullName)
	p := rp.pull(n)
	if p == nil {
		s.t.Fatalf("githubtest: no PR #%d", n)
	}
	if p.state == "open" {
		p.lastHead = rp.headSHA(p)
		p.state, p.closedAt, p.autoMerge = "closed", s.now(), false
	}
	p.updated = s.now()
}

// Parent returns the first parent of commit ("" for a root commit).
func (s *Server) Parent(fullName, commit string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.repo(fullName).git.parents(commit)
	if err != nil || len(p) == 0 {
		return ""
	}
	return p[0]
}
