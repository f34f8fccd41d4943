package github

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/forgetest"
	"github.com/labrats-work/flightline/internal/githubtest"
	"github.com/labrats-work/flightline/internal/githubtest/apidesc"
	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/forge"
)

// recording collects the emulators the scenarios start, to validate their request logs.
type recording struct {
	mu      sync.Mutex
	servers []*githubtest.Server
}

func (r *recording) add(s *githubtest.Server) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers = append(r.servers, s)
}

func (r *recording) platform(t testing.TB, files map[string][]byte) forgetest.Platform {
	p := ghPlatform(t, files).(*platform)
	r.add(p.s)
	return p
}

// TestContract_EveryRequestAndAnswerMatchesGitHubsDescriptions runs the promotion, rollback,
// forge and trust suites (forgetest), doctor with each kind of token and the GitHub Enterprise Server layout on
// the emulator, then validates every request the forge sent and every answer the emulator
// gave against GitHub's published descriptions (package apidesc: @octokit/openapi 23.0.2 and
// @octokit/graphql-schema 15.26.1). The tally per operation is logged:
//
//	go test -v -run TestContract ./pkg/forge/github/
func TestContract_EveryRequestAndAnswerMatchesGitHubsDescriptions(t *testing.T) {
	testenv.CIOnly(t, "replays every forge suite against the emulator and validates each of ~1,300 exchanges")
	d, err := apidesc.Load()
	require.NoError(t, err)
	rec := &recording{}
	t.Run("promote", func(t *testing.T) { forgetest.RunPromote(t, rec.platform) })
	t.Run("rollback", func(t *testing.T) { forgetest.RunRollback(t, rec.platform) })
	t.Run("forge", func(t *testing.T) { forgetest.RunForge(t, rec.platform) })
	t.Run("trust", func(t *testing.T) { forgetest.RunTrust(t, rec.platform) })
	t.Run("doctor", func(t *testing.T) {
		for name, tk := range map[string]githubtest.Token{
			"admin":        {Write: true, Admin: true},
			"writer":       {Write: true},
			"reader":       {},
			"installation": {Write: true, Installation: true},
			"actions":      {Write: true, Actions: true},
		} {
			t.Run(name, func(t *testing.T) {
				s := newServer(t, map[string][]byte{forgetest.PlatformFile: []byte("a: b\n")})
				rec.add(s)
				s.AddToken(testToken, tk)
				f := newForge(t, s)
				for _, c := range f.Diagnose(context.Background(), []string{"promotion"}) {
					if name != "reader" {
						assert.NotEqual(t, Fail, c.Status, c.String())
					}
				}
				_, err := f.ReadFile(context.Background(), "main", forgetest.PlatformFile)
				require.NoError(t, err)
			})
		}
	})
	t.Run("enterprise", func(t *testing.T) {
		s := newServer(t, map[string][]byte{file: v1})
		rec.add(s)
		f, err := New(context.Background(), testRepo, testToken, WithBaseURL(s.URL+"/api/v3"), WithHTTPClient(s.Client()))
		require.NoError(t, err)
		f.perPage = 1
		for i, content := range [][]byte{v2, v3, v1} {
			pr, _, err := f.Propose(context.Background(), change(t, f, fmt.Sprintf("flightline/promote/ns/app/%d", i), content, "b <!-- m -->"))
			require.NoError(t, err)
			_, err = f.Merge(context.Background(), pr, forge.MergeOptions{})
			require.NoError(t, err)
		}
		found, err := f.Find(context.Background(), forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"<!-- m -->"}, Limit: 3})
		require.NoError(t, err)
		assert.Len(t, found, 3, "pages followed under /api/v3")
	})

	type tally struct{ n, badReq, badResp int }
	byOp := map[string]*tally{}
	var badReq, badResp []string
	total := 0
	for _, s := range rec.servers {
		for _, r := range s.Log() {
			x := exchangeOf(r)
			op := d.Operation(x)
			if op == "graphql" {
				op = r.Op
			}
			if op == "" {
				op = r.Method + " " + r.Path + " (not described)"
			}
			tl := byOp[op]
			if tl == nil {
				tl = &tally{}
				byOp[op] = tl
			}
			tl.n++
			total++
			if p := d.Request(x); len(p) > 0 {
				tl.badReq++
				badReq = append(badReq, fmt.Sprintf("%s %s: %s", r.Method, r.Path, strings.Join(p, "; ")))
			}
			if p := d.Response(x); len(p) > 0 {
				tl.badResp++
				badResp = append(badResp, fmt.Sprintf("%s %s → %d: %s", r.Method, r.Path, r.Status, strings.Join(p, "; ")))
			}
		}
	}
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "%d exchanges against %s and %s:\n", total, apidesc.OpenAPIVersion, apidesc.GraphQLSchemaVersion)
	for _, op := range ops {
		tl := byOp[op]
		fmt.Fprintf(&b, "  %-70s %4d sent, %d invalid requests, %d invalid answers\n", op, tl.n, tl.badReq, tl.badResp)
	}
	t.Log(b.String())
	require.NotZero(t, total)
	assert.Empty(t, dedupe(badReq), "requests GitHub's descriptions refuse")
	assert.Empty(t, dedupe(badResp), "answers that are not what GitHub's descriptions promise")
}

// checkContract fails t for every exchange of log that GitHub's descriptions refuse.
func checkContract(t testing.TB, log []githubtest.Request) {
	t.Helper()
	d, err := apidesc.Load()
	require.NoError(t, err)
	var bad []string
	for _, r := range log {
		x := exchangeOf(r)
		for _, p := range d.Request(x) {
			bad = append(bad, fmt.Sprintf("request %s %s: %s", r.Method, r.Path, p))
		}
		for _, p := range d.Response(x) {
			bad = append(bad, fmt.Sprintf("answer %s %s → %d: %s", r.Method, r.Path, r.Status, p))
		}
	}
	for _, b := range dedupe(bad) {
		t.Errorf("contract: %s", b)
	}
}

func exchangeOf(r githubtest.Request) apidesc.Exchange {
	return apidesc.Exchange{Method: r.Method, Path: r.Path, Query: r.Query, Header: r.Header, Body: r.Body,
		Status: r.Status, RespHeader: r.RespHeader, RespBody: r.RespBody}
}

// dedupe keeps one of each problem, with a count.
func dedupe(list []string) []string {
	n := map[string]int{}
	for _, s := range list {
		n[s]++
	}
	out := make([]string, 0, len(n))
	for s, k := range n {
		out = append(out, fmt.Sprintf("%s (×%d)", s, k))
	}
	sort.Strings(out)
	return out
}
