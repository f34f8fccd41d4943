package imagetags_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/imagetags"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestApply(t *testing.T) {
	tag := func(v string) imagetags.Context { return imagetags.Context{Ref: "refs/tags/" + v, SHA: sha} }
	branch := func(b string) imagetags.Context { return imagetags.Context{Ref: "refs/heads/" + b, SHA: sha} }
	semverRules := []string{"type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}", "type=semver,pattern={{major}}"}
	tests := []struct {
		name        string
		rules       []string
		ctx         imagetags.Context
		want        []string
		wantVersion string
	}{
		{"release tag", semverRules, tag("v1.2.3"), []string{"1.2.3", "1.2", "1"}, "1.2.3"},
		{"release tag without v", semverRules, tag("1.2.3"), []string{"1.2.3", "1.2", "1"}, "1.2.3"},
		{"pre-release gets only its version", semverRules, tag("v2.0.0-rc.1"), []string{"2.0.0-rc.1"}, "2.0.0-rc.1"},
		{"build metadata is sanitised", []string{"type=semver,pattern={{version}}"}, tag("v1.0.0+build.5"), []string{"1.0.0-build.5"}, "1.0.0-build.5"},
		{"branch push has no semver tag", semverRules, branch("main"), nil, ""},
		{"non-semver tag has no semver tag", semverRules, tag("nightly"), nil, ""},
		{"semver from value=", []string{"type=semver,pattern=v{{major}}.{{minor}}.{{patch}},value=3.4.5"}, branch("main"), []string{"v3.4.5"}, ""},
		{"raw pattern", []string{"type=semver,pattern={{raw}}"}, tag("v1.2.3"), []string{"v1.2.3"}, ""},
		{"sha short with default prefix", []string{"type=sha"}, branch("main"), []string{"sha-0123456"}, ""},
		{"sha prefix and long", []string{"type=sha,prefix=,format=long"}, branch("main"), []string{sha}, ""},
		{"sha custom prefix", []string{"type=sha,prefix=git-"}, branch("main"), []string{"git-0123456"}, ""},
		{"no sha, no sha tag", []string{"type=sha"}, imagetags.Context{Ref: "refs/heads/main"}, nil, ""},
		{"branch", []string{"type=ref,event=branch"}, branch("main"), []string{"main"}, ""},
		{"branch with slashes is sanitised", []string{"type=ref,event=branch"}, branch("feature/Add Thing"), []string{"feature-Add-Thing"}, ""},
		{"branch rule on a tag push", []string{"type=ref,event=branch"}, tag("v1.0.0"), nil, ""},
		{"tag ref", []string{"type=ref,event=tag"}, tag("v1.0.0"), []string{"v1.0.0"}, ""},
		{"pull request ref", []string{"type=ref,event=pr"}, imagetags.Context{Ref: "refs/pull/42/merge"}, []string{"pr-42"}, ""},
		{"raw with prefix and suffix", []string{"type=raw,value=latest,prefix=x-,suffix=-y"}, branch("main"), []string{"x-latest-y"}, ""},
		{"disabled rule", []string{"type=raw,value=latest,enable=false", "type=raw,value=edge"}, branch("main"), []string{"edge"}, ""},
		{"duplicates dropped, order kept", []string{"type=raw,value=b", "type=raw,value=a", "type=raw,value=b"}, branch("main"), []string{"b", "a"}, ""},
		{"leading dot and dash dropped", []string{"type=raw,value=.-x"}, branch("main"), []string{"x"}, ""},
		{"long value cut to 128", []string{"type=raw,value=" + strings.Repeat("a", 200)}, branch("main"), []string{strings.Repeat("a", 128)}, ""},
		{"quoted value with a comma", []string{`type=raw,"value=a,b"`}, branch("main"), []string{"a-b"}, ""},
		{"defaults on a release", imagetags.DefaultRules, tag("v0.3.0"), []string{"0.3.0", "sha-0123456"}, "0.3.0"},
		{"defaults on main", imagetags.DefaultRules, branch("main"), []string{"main", "sha-0123456"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := imagetags.ParseRules(tc.rules)
			require.NoError(t, err)
			res, err := imagetags.Apply(rules, tc.ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Tags)
			assert.Equal(t, tc.wantVersion, res.Version)
		})
	}
}

func TestParseRule_Errors(t *testing.T) {
	tests := []struct {
		rule    string
		wantErr []string
	}{
		{"type=foo", []string{`"type=foo"`, `unknown type "foo"`, "valid types: raw, ref, semver, sha"}},
		{"pattern={{version}}", []string{"no type=", "valid types: raw, ref, semver, sha"}},
		{"type=semver", []string{"needs pattern="}},
		{"type=semver,pattern={{minr}}", []string{"unknown placeholder {{minr}}", "{{minor}}"}},
		{"type=raw", []string{"type=raw needs value="}},
		{"type=ref,event=push", []string{`event="push"`, "branch, tag, pr"}},
		{"type=ref", []string{`event=""`}},
		{"type=sha,format=medium", []string{`format="medium"`}},
		{"type=sha,pattern=x", []string{`unknown attribute "pattern" for type=sha`, "valid: prefix, suffix, format, enable"}},
		{"type=raw,value=a,enable=yes", []string{`enable="yes"`}},
		{"type=raw,value", []string{`"value" is not key=value`}},
		{"type=raw,value=a,value=b", []string{"value given twice"}},
		{"  ", []string{"empty rule"}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := imagetags.ParseRule(tc.rule)
			require.ErrorIs(t, err, imagetags.ErrRule)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseRules_NamesEveryBadRule(t *testing.T) {
	_, err := imagetags.ParseRules([]string{"type=raw,value=ok", "", "type=bad", "type=sha,x=1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"type=bad"`)
	assert.Contains(t, err.Error(), `"type=sha,x=1"`)
}

func TestApply_BadSemverValue(t *testing.T) {
	rules, err := imagetags.ParseRules([]string{"type=semver,pattern={{version}},value=banana"})
	require.NoError(t, err)
	_, err = imagetags.Apply(rules, imagetags.Context{})
	require.ErrorIs(t, err, imagetags.ErrRule)
	assert.Contains(t, err.Error(), `value "banana" is not a semantic version`)
}

func TestRepository(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"ghcr.io/Acme/Agent", "ghcr.io/acme/agent", ""},
		{" GHCR.IO/acme/agent ", "ghcr.io/acme/agent", ""},
		{"127.0.0.1:5000/x/y", "127.0.0.1:5000/x/y", ""},
		{"", "", "empty"},
		{"ghcr.io/acme/agent:1.0", "", `"ghcr.io/acme/agent:1.0"`},
		{"ghcr.io/acme/ag ent", "", "want HOST/PATH"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := imagetags.Repository(tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestContextFromEnv(t *testing.T) {
	env := map[string]string{"GITHUB_REF": "refs/tags/v1.0.0", "GITHUB_SHA": sha}
	assert.Equal(t, imagetags.Context{Ref: "refs/tags/v1.0.0", SHA: sha}, imagetags.ContextFromEnv(func(k string) string { return env[k] }))
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"type=semver,pattern={{version}}", "type=sha,prefix=", `type=raw,"value=a,b"`, "type=ref,event=branch", "=", `"`} {
		f.Add(s, "refs/tags/v1.2.3-rc.1")
	}
	f.Fuzz(func(t *testing.T, rule, ref string) {
		r, err := imagetags.ParseRule(rule)
		if err != nil {
			return
		}
		res, err := imagetags.Apply([]imagetags.Rule{r}, imagetags.Context{Ref: ref, SHA: sha})
		if err != nil {
			return
		}
		for _, tag := range res.Tags {
			if tag != imagetags.Sanitize(tag) || tag == "" || len(tag) > 128 {
				t.Fatalf("rule %q, ref %q gave the invalid tag %q", rule, ref, tag)
			}
		}
	})
}

func ExampleApply() {
	rules, err := imagetags.ParseRules([]string{
		"type=semver,pattern={{version}}",
		"type=semver,pattern={{major}}.{{minor}}",
		"type=sha",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := imagetags.Apply(rules, imagetags.Context{Ref: "refs/tags/v1.4.2", SHA: sha})
	fmt.Println(res.Tags, res.Version)
	// Output: [1.4.2 1.4 sha-0123456] 1.4.2
}

func ExampleRepository() {
	repo, _ := imagetags.Repository("ghcr.io/Labrats-Work/Agent")
	fmt.Println(repo)
	// Output: ghcr.io/labrats-work/agent
}
