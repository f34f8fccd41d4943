package forgetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
)

// PlatformFile is the file the flow suites promote in.
const PlatformFile = "ai-agents-image-automation.yaml"

// Policy is the policy the flow suites promote.
const Policy = "ai-agents-platform/ai-agents-prod"

// platformYAML is a platform file with the prod policy pinned to 1.4.0, a staging policy on a
// wide range, comments and quoting that must survive every edit byte for byte.
func platformYAML(image string) []byte {
	return []byte(`# Production image automation for the AI agents (edited by Flightline promotions)
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: ai-agents
  namespace: ai-agents-platform
spec:
  image: ` + image + `
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: ai-agents-prod
  namespace: ai-agents-platform
spec:
  imageRepositoryRef:
    name: ai-agents
  policy:
    semver:
      range: "1.4.0" # prod pin: bump by PR only
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: ai-agents-staging
  namespace: ai-agents-platform
spec:
  imageRepositoryRef:
    name: ai-agents
  policy:
    semver:
      range: '>=1.0.0'
`)
}

// Env is one flow test's world: a platform repository, a registry with the image's tags, and
// the file as it was at the start.
type Env struct {
	T        testing.TB
	P        Platform
	Reg      *Registry
	Image    string            // HOST/labrats-work/ai-agents
	Digests  map[string]string // by tag
	Original []byte            // the platform file at the start
}

// NewEnv makes the world: tags 1.3.0, 1.4.0, 1.5.0, 1.6.0 and latest in the registry, the
// platform file pinning 1.4.0.
func NewEnv(t testing.TB, newPlatform NewPlatform) *Env {
	t.Helper()
	reg := NewRegistry(t)
	image := reg.Host + "/labrats-work/ai-agents"
	digests := reg.Push(t, "labrats-work/ai-agents", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "latest")
	data := platformYAML(image)
	return &Env{T: t, P: newPlatform(t, map[string][]byte{PlatformFile: data, "README.md": []byte("platform\n")}),
		Reg: reg, Image: image, Digests: digests, Original: data}
}

// Promote runs a promotion with the suite's policy and file unless the request names others.
func (e *Env) Promote(req promote.Request) (promote.Result, error) {
	if req.Policy == "" {
		req.Policy = Policy
	}
	if req.File == "" {
		req.File = PlatformFile
	}
	return promote.Run(context.Background(), e.P.Forge(), Tags{}, req)
}

// MustPromote promotes and fails the test on error.
func (e *Env) MustPromote(req promote.Request) promote.Result {
	e.T.Helper()
	r, err := e.Promote(req)
	require.NoError(e.T, err)
	return r
}

// File reads the platform file at ref.
func (e *Env) File(ref string) []byte {
	e.T.Helper()
	b, err := e.P.Forge().ReadFile(context.Background(), ref, PlatformFile)
	require.NoError(e.T, err)
	return b
}

// WithRange is the original file with the prod range replaced.
func (e *Env) WithRange(rng string) []byte {
	return []byte(strings.Replace(string(e.Original), `range: "1.4.0"`, `range: "`+rng+`"`, 1))
}

// PRBranches are the repository's branches other than the base.
func (e *Env) PRBranches() []string {
	var b []string
	for _, n := range e.P.Branches(e.T) {
		if n != e.P.Base() {
			b = append(b, n)
		}
	}
	return b
}

const branch15 = "flightline/promote/" + Policy + "/1.5.0"
const branch16 = "flightline/promote/" + Policy + "/1.6.0"

// RunPromote runs the promotion flow's table on the platform newPlatform makes.
func RunPromote(t *testing.T, newPlatform NewPlatform) {
	tests := []struct {
		name         string
		before       func(e *Env)
		req          func(e *Env) promote.Request
		wantOp       promote.Operation
		wantErr      error
		wantBranches []string
		check        func(t *testing.T, e *Env, r promote.Result)
	}{
		{
			name: "Create",
			req: func(e *Env) promote.Request {
				return promote.Request{Version: "1.5.0", ScanCheck: PassedScan(), Labels: []string{"promotion"}}
			},
			wantOp:       promote.Created,
			wantBranches: []string{branch15},
			check: func(t *testing.T, e *Env, r promote.Result) {
				assert.Equal(t, "1.4.0", r.PreviousRange)
				assert.Equal(t, "1.5.0", r.Range)
				assert.Equal(t, "1.5.0", r.Tag)
				assert.Equal(t, e.Digests["1.5.0"], r.Digest)
				assert.Equal(t, "promote "+Policy+" to 1.5.0", r.PR.Title)
				assert.Equal(t, []string{"promotion"}, r.PR.Labels)
				assert.Equal(t, e.WithRange("1.5.0"), e.File(r.PR.Branch), "exactly one value changed")
				assert.Equal(t, e.Original, e.File(e.P.Base()), "the base waits for the merge")
				m, err := marker.ParsePromotion(r.PR.Body)
				require.NoError(t, err)
				assert.Equal(t, marker.Promotion{V: 1, Policy: Policy, File: PlatformFile, PreviousRange: "1.4.0", Range: "1.5.0",
					Tag: "1.5.0", Digest: e.Digests["1.5.0"], Image: e.Image, Scan: "passed"}, m)
				assert.Contains(t, r.Diff, "-      range: \"1.4.0\" # prod pin: bump by PR only\n+      range: \"1.5.0\" # prod pin: bump by PR only\n")
				assert.Contains(t, r.Summary(), "| `"+Policy+"` | `1.4.0` | `1.5.0` | `1.5.0` |")
				outs := map[string]string{}
				for _, o := range r.Outputs() {
					outs[o[0]] = o[1]
				}
				assert.Equal(t, "created", outs["operation"])
				assert.Equal(t, "1.4.0", outs["previous-range"])
				assert.Equal(t, r.PR.URL, outs["pr-url"])
			},
		},
		{
			name:         "Rerun_Unchanged",
			before:       func(e *Env) { e.MustPromote(promote.Request{Version: "1.5.0", ScanCheck: PassedScan()}) },
			req:          func(e *Env) promote.Request { return promote.Request{Version: "v1.5.0", ScanCheck: PassedScan()} },
			wantOp:       promote.Unchanged,
			wantBranches: []string{branch15},
		},
		{
			name:         "Rerun_UpdatedWhenTheScanVerdictChanged",
			before:       func(e *Env) { e.MustPromote(promote.Request{Version: "1.5.0"}) },
			req:          func(e *Env) promote.Request { return promote.Request{Version: "1.5.0", ScanCheck: PassedScan()} },
			wantOp:       promote.Updated,
			wantBranches: []string{branch15},
			check: func(t *testing.T, e *Env, r promote.Result) {
				m, err := marker.ParsePromotion(r.PR.Body)
				require.NoError(t, err)
				assert.Equal(t, "passed", m.Scan)
			},
		},
		{
			name:         "Supersede_NewerVersionClosesOlderOpenPromotion",
			before:       func(e *Env) { e.MustPromote(promote.Request{Version: "1.5.0"}) },
			req:          func(e *Env) promote.Request { return promote.Request{Version: "1.6.0"} },
			wantOp:       promote.Created,
			wantBranches: []string{branch16},
			check: func(t *testing.T, e *Env, r promote.Result) {
				require.Len(t, r.Superseded, 1)
				assert.Equal(t, branch15, r.Superseded[0].Branch)
				assert.Contains(t, r.Summary(), "Superseded")
				assert.Equal(t, "1.4.0", r.PreviousRange)
			},
		},
		{
			name:   "Merge",
			req:    func(e *Env) promote.Request { return promote.Request{Version: "1.5.0", Merge: promote.MergeNow} },
			wantOp: promote.Merged,
			check: func(t *testing.T, e *Env, r promote.Result) {
				assert.Equal(t, forge.StateMerged, r.PR.State)
				assert.Equal(t, e.WithRange("1.5.0"), e.File(e.P.Base()))
				again, err := e.Promote(promote.Request{Version: "1.5.0"})
				require.NoError(t, err)
				assert.Equal(t, promote.Unchanged, again.Operation, "a merged promotion is not reopened")
			},
		},
		{
			name:   "AlreadyPinned_NoPR",
			req:    func(e *Env) promote.Request { return promote.Request{Version: "1.4.0"} },
			wantOp: promote.Unchanged,
			check: func(t *testing.T, e *Env, r promote.Result) {
				assert.Empty(t, r.PR.ID())
				assert.Contains(t, r.Message, "nothing to promote")
			},
		},
		{
			name:    "Downgrade_Refused",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "1.3.0"} },
			wantErr: imagepolicy.ErrDowngrade,
		},
		{
			name:         "Downgrade_Allowed",
			req:          func(e *Env) promote.Request { return promote.Request{Version: "1.3.0", AllowDowngrade: true} },
			wantOp:       promote.Created,
			wantBranches: []string{"flightline/promote/" + Policy + "/1.3.0"},
		},
		{
			name:    "TagMissingFromRegistry_Refused",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "1.7.0"} },
			wantErr: promote.ErrTagMissing,
		},
		{
			name: "DigestMismatch_Refused",
			req: func(e *Env) promote.Request {
				return promote.Request{Version: "1.5.0", Image: e.Image + "@" + e.Digests["1.6.0"]}
			},
			wantErr: promote.ErrDigestMismatch,
		},
		{
			name: "ImageWithDigest_Matches",
			req: func(e *Env) promote.Request {
				return promote.Request{Version: "1.5.0", Image: e.Image + "@" + e.Digests["1.5.0"]}
			},
			wantOp:       promote.Created,
			wantBranches: []string{branch15},
		},
		{
			name:         "PatchPin",
			req:          func(e *Env) promote.Request { return promote.Request{Version: "1.6.0", Pin: imagepolicy.PinPatch} },
			wantOp:       promote.Created,
			wantBranches: []string{branch16},
			check: func(t *testing.T, e *Env, r promote.Result) {
				assert.Equal(t, "~1.6.0", r.Range)
				assert.Equal(t, e.WithRange("~1.6.0"), e.File(r.PR.Branch))
			},
		},
		{
			name: "DryRun_WritesNothing",
			req: func(e *Env) promote.Request {
				return promote.Request{Version: "1.5.0", DryRun: true, Merge: promote.MergeNow}
			},
			wantOp: promote.Created,
			check: func(t *testing.T, e *Env, r promote.Result) {
				assert.True(t, r.DryRun)
				assert.Contains(t, r.Summary(), "dry run")
				assert.Equal(t, e.Original, e.File(e.P.Base()))
			},
		},
		{
			name:   "DryRun_RerunWouldUpdate",
			before: func(e *Env) { e.MustPromote(promote.Request{Version: "1.5.0"}) },
			req: func(e *Env) promote.Request {
				return promote.Request{Version: "1.5.0", ScanCheck: PassedScan(), DryRun: true}
			},
			wantOp:       promote.Updated,
			wantBranches: []string{branch15},
			check: func(t *testing.T, e *Env, r promote.Result) {
				open, err := e.P.Forge().Find(context.Background(), forge.Query{Base: e.P.Base(), State: forge.StateOpen})
				require.NoError(t, err)
				require.Len(t, open, 1)
				m, err := marker.ParsePromotion(open[0].Body)
				require.NoError(t, err)
				assert.Equal(t, "unknown", m.Scan, "a dry run writes nothing")
			},
		},
		{
			name:    "InvalidPolicy",
			req:     func(e *Env) promote.Request { return promote.Request{Policy: "Not A Policy", Version: "1.5.0"} },
			wantErr: promote.ErrInvalidInput,
		},
		{
			name:    "InvalidMergeMode",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "1.5.0", Merge: "sometimes"} },
			wantErr: promote.ErrInvalidInput,
		},
		{
			name:    "ScanRequiredButMissing",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "1.5.0", ScanCheck: NoScan()} },
			wantErr: promote.ErrScanMissing,
		},
		{
			name:    "InvalidVersion",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "latest"} },
			wantErr: promote.ErrInvalidInput,
		},
		{
			name:    "ImageWithTag_Refused",
			req:     func(e *Env) promote.Request { return promote.Request{Version: "1.5.0", Image: e.Image + ":1.5.0"} },
			wantErr: promote.ErrInvalidInput,
		},
		{
			name: "PolicyNotInFile",
			req: func(e *Env) promote.Request {
				return promote.Request{Policy: "ai-agents-platform/nope", Version: "1.5.0"}
			},
			wantErr: imagepolicy.ErrNotFound,
		},
		{
			name:    "FileMissing",
			req:     func(e *Env) promote.Request { return promote.Request{File: "missing.yaml", Version: "1.5.0"} },
			wantErr: forge.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEnv(t, newPlatform)
			if tt.before != nil {
				tt.before(e)
			}
			r, err := e.Promote(tt.req(e))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, e.PRBranches(), "a refused run leaves no branch behind")
				assert.Equal(t, e.Original, e.File(e.P.Base()))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOp, r.Operation, r.Message)
			assert.Equal(t, tt.wantBranches, e.PRBranches())
			if tt.check != nil {
				tt.check(t, e, r)
			}
		})
	}
}
