package imagepolicy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

func TestFind_APIVersions(t *testing.T) {
	p, err := Find(readTestdata(t, "set/v1beta1.yaml"), mustRef(t, "flux-system/podinfo"))
	require.NoError(t, err)
	assert.Equal(t, ">=5.0.0 <6.0.0", p.Range)
	assert.Equal(t, &TagFilter{Pattern: `^(?P<semver>[0-9]+\.[0-9]+\.[0-9]+)$`, Extract: "$semver", Line: 20}, p.Filter)
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0], "Flux 2.7 and later (image-reflector-controller v1.0+) no longer serve image.toolkit.fluxcd.io/v1beta1: run `flux migrate`")

	p, err = Find(readTestdata(t, "set/v1.yaml"), mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Empty(t, p.Warnings, "v1 is current")

	_, err = Find(readTestdata(t, "errors/old-api.yaml"), mustRef(t, "apps/agent"))
	require.ErrorIs(t, err, ErrAPIVersion)
	assert.False(t, errors.Is(err, ErrNotFound), "an unsupported apiVersion is not 'not found'")
	assert.Contains(t, err.Error(), "unsupported apiVersion: ImagePolicy \"apps/agent\" (line 1) uses apiVersion image.toolkit.fluxcd.io/v1alpha2")
}

func TestFind_List(t *testing.T) {
	data := readTestdata(t, "set/list.yaml")
	p, err := Find(data, mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", p.Range)
	assert.Equal(t, 25, p.Line)
	ps, err := List(data)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	img, err := ImageOf(data, mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/acme/agent", img)

	// An anchor on the list means an alias elsewhere could share the edited bytes: refused.
	anchored := strings.Replace(string(data), "items:", "items: &all", 1) + "---\nkind: Copy\nitems: *all\n"
	_, err = SetRange([]byte(anchored), mustRef(t, "apps/agent"), "1.5.0")
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "lies under an anchor (&all")
}

// Reading a range refuses what writing one refuses: a value that is not a YAML string.
func TestFind_RangeNotAString(t *testing.T) {
	base := "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: agent\n  namespace: apps\nspec:\n  policy:\n    semver:\n      range: "
	tests := []struct{ value, fragment string }{
		{"1.10", `(!!float: YAML reads "1.10" as a number)`},
		{"", `(!!null: YAML reads "" as null (no value))`},
		{"~", `(!!null: YAML reads "~" as null (no value))`},
		{"true", `(!!bool: YAML reads "true" as a boolean)`},
		{"2", `(!!int: YAML reads "2" as a number)`},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			_, err := Find([]byte(base+tc.value+"\n"), mustRef(t, "apps/agent"))
			require.ErrorIs(t, err, ErrUnsupported)
			assert.Contains(t, err.Error(), "is not a string "+tc.fragment)
			assert.Contains(t, err.Error(), `quote it, e.g. range: "1.2.3"`)
		})
	}
	p, err := Find([]byte(base+`"1.10"`+"\n"), mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Equal(t, "1.10", p.Range)
}

func TestFindRepository(t *testing.T) {
	data := readTestdata(t, "real/filter-extract.yaml")
	r, err := FindRepository(data, mustRef(t, "flux-system/agent"))
	require.NoError(t, err)
	assert.Equal(t, "IMAGE", r.Image)
	assert.Equal(t, []string{`^.*\.sig$`, `^.*\.att$`, `^prod-v1\.8\.0-`}, r.ExclusionList)
	assert.Equal(t, r.ExclusionList, r.Exclusions())

	// Unset or empty: Flux's default.
	assert.Equal(t, []string{`^.*\.sig$`}, Repository{}.Exclusions())
	assert.Equal(t, []string{`^.*\.sig$`}, Repository{ExclusionList: []string{}}.Exclusions())

	_, err = FindRepository(data, mustRef(t, "flux-system/other"))
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "it has: flux-system/agent (line 3)")
}

func TestSearchRepository(t *testing.T) {
	repo := func(ns, name, image string) string {
		return "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\nspec:\n  image: " + image + "\n"
	}
	fsys := fstest.MapFS{
		"clusters/prod/policy.yaml":      {Data: []byte("kind: ImagePolicy\n")},
		"clusters/prod/repos/agent.yaml": {Data: []byte(repo("apps", "agent", "ghcr.io/acme/agent"))},
		"clusters/prod/broken.yaml":      {Data: []byte("kind: ImageRepository\n\t: :\n")},
		"charts/t/templates/r.yaml":      {Data: []byte("{{ .Values.x }} ImageRepository")},
		".git/objects/x.yaml":            {Data: []byte(repo("apps", "other", "nope"))},
		"node_modules/x/r.yml":           {Data: []byte(repo("apps", "other", "nope"))},
		"README.md":                      {Data: []byte(repo("apps", "other", "nope"))},
	}
	r, file, err := SearchRepository(fsys, mustRef(t, "apps/agent"))
	require.NoError(t, err)
	assert.Equal(t, "clusters/prod/repos/agent.yaml", file)
	assert.Equal(t, "ghcr.io/acme/agent", r.Image)

	_, _, err = SearchRepository(fsys, mustRef(t, "apps/other"))
	require.ErrorIs(t, err, ErrNotFound, "hidden directories, node_modules and non-YAML files are skipped")
	assert.Contains(t, err.Error(), "is in none of the 4 YAML files searched")

	fsys["clusters/staging/agent.yml"] = &fstest.MapFile{Data: []byte(repo("apps", "agent", "ghcr.io/acme/agent"))}
	_, _, err = SearchRepository(fsys, mustRef(t, "apps/agent"))
	require.ErrorIs(t, err, ErrDuplicate)
	assert.Contains(t, err.Error(), "defined in 2 files (clusters/prod/repos/agent.yaml, clusters/staging/agent.yml)")

	many := fstest.MapFS{}
	for i := range MaxSearchFiles + 1 {
		many[filepath.Join("d", strings.Repeat("x", 3)+string(rune('a'+i%26))+strings.Repeat("y", i/26)+".yaml")] = &fstest.MapFile{Data: []byte("a: 1\n")}
	}
	_, _, err = SearchRepository(many, mustRef(t, "apps/agent"))
	require.ErrorIs(t, err, ErrSearchLimit)
}

func TestLoad(t *testing.T) {
	policy := readTestdata(t, "real/filter-extract.yaml")
	ref := mustRef(t, "flux-system/agent")

	// Same file.
	tg, err := Load(policy, ref, LoadOptions{})
	require.NoError(t, err)
	require.NotNil(t, tg.Repository)
	assert.Equal(t, "", tg.RepositoryFile)
	assert.Equal(t, "IMAGE", tg.Image())
	assert.Len(t, tg.Exclusions(), 3)

	// The policy alone: found by the search, or in the named file.
	i := strings.Index(string(policy), "---\n")
	repoOnly, policyOnly := policy[:i], policy[i:]
	fsys := fstest.MapFS{"infra/repos.yaml": {Data: repoOnly}}
	tg, err = Load(policyOnly, ref, LoadOptions{Search: fsys})
	require.NoError(t, err)
	assert.Equal(t, "infra/repos.yaml", tg.RepositoryFile)
	assert.Len(t, tg.Exclusions(), 3)

	read := func(name string) ([]byte, error) {
		if name == "repos.yaml" {
			return repoOnly, nil
		}
		return nil, os.ErrNotExist
	}
	tg, err = Load(policyOnly, ref, LoadOptions{RepositoryFile: "repos.yaml", ReadFile: read})
	require.NoError(t, err)
	assert.Equal(t, "repos.yaml", tg.RepositoryFile)
	_, err = Load(policyOnly, ref, LoadOptions{RepositoryFile: "nope.yaml", ReadFile: read})
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "image-repository-file: reading nope.yaml")

	// Not found: an error, unless the image is given (then Flux's default, with a warning).
	_, err = Load(policyOnly, ref, LoadOptions{Search: fstest.MapFS{}})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "name its file with image-repository-file, or give the image")
	tg, err = Load(policyOnly, ref, LoadOptions{ImageGiven: true})
	require.NoError(t, err)
	assert.Nil(t, tg.Repository)
	assert.Equal(t, DefaultExclusions, tg.Exclusions())
	require.Len(t, tg.Warnings, 1)
	assert.Contains(t, tg.Warnings[0], `Flux's default exclusionList ["^.*\\.sig$"] is assumed`)

	// A bad pattern is an error naming the policy (or the ImageRepository).
	bad := strings.Replace(string(policy), "(-rc\\.[0-9]+)?)", "(-rc\\.[0-9]+?)", 1)
	_, err = Load([]byte(bad), ref, LoadOptions{})
	require.ErrorIs(t, err, ErrInvalidFilter)
	assert.Contains(t, err.Error(), `ImagePolicy "flux-system/agent" spec.filterTags.pattern (line 25)`)
	assert.Contains(t, err.Error(), "missing closing )")
	bad = strings.Replace(string(policy), `'^.*\.att$'`, `'^(.*\.att$'`, 1)
	_, err = Load([]byte(bad), ref, LoadOptions{})
	require.ErrorIs(t, err, ErrInvalidExclusion)
	assert.Contains(t, err.Error(), `ImageRepository "flux-system/agent" (line 3) spec.exclusionList`)
}

func TestSelector_Explain(t *testing.T) {
	tg, err := Load(readTestdata(t, "real/filter-extract.yaml"), mustRef(t, "flux-system/agent"), LoadOptions{})
	require.NoError(t, err)
	s := tg.Selector
	tests := []struct{ tag, fragment string }{
		{"prod-v1.7.3-abcdef0", ""},
		{"prod-v1.8.0-abcdef0", `matches the ImageRepository's exclusionList pattern "^prod-v1\\.8\\.0-"`},
		{"prod-v1.7.3-abcdef0.sig", `exclusionList pattern "^.*\\.sig$"`},
		{"1.9.0", `does not match spec.filterTags.pattern "^prod-v(?P<version>`},
		{"staging-v1.9.0-abcdef0", "does not match spec.filterTags.pattern"},
	}
	for _, tc := range tests {
		err := s.Explain(tc.tag)
		if tc.fragment == "" {
			require.NoError(t, err, tc.tag)
			v, err := s.Version(tc.tag)
			require.NoError(t, err)
			assert.Equal(t, "1.7.3", v.String())
			continue
		}
		require.ErrorIs(t, err, ErrNotSelectable, tc.tag)
		assert.Contains(t, err.Error(), tc.fragment)
		assert.Contains(t, err.Error(), `ImagePolicy "flux-system/agent"`)
	}

	// An extracted value that is not a version, and the rules that decide it.
	s, err = NewSelector(mustRef(t, "apps/a"), &TagFilter{Pattern: `^app-(?P<v>.*)$`, Extract: "$v"}, nil, Flux26)
	require.NoError(t, err)
	err = s.Explain("app-2024.01.15")
	require.ErrorIs(t, err, ErrNotSelectable)
	assert.Contains(t, err.Error(), `tag "app-2024.01.15" extracts to "2024.01.15" (filterTags.extract "$v"), which is not a version under Flux ≤ 2.6 rules`)
	s.Rules = Flux27
	require.NoError(t, s.Explain("app-2024.01.15"))
}

func TestParseRules(t *testing.T) {
	for in, want := range map[string]Rules{"": Flux27, "2.7": Flux27, "v2.7.0": Flux27, "2.8": Flux27, "2.10": Flux27, "2.6": Flux26, "2.0": Flux26, "v2.6.4": Flux26} {
		got, err := ParseRules(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"1.0", "3.0", "2", "latest", "2.x"} {
		_, err := ParseRules(bad)
		require.ErrorIs(t, err, ErrInvalidFluxVersion, bad)
		assert.Contains(t, err.Error(), "2.7 (the default")
	}
}

func TestSelector_TagsFor(t *testing.T) {
	tg, err := Load(readTestdata(t, "real/filter-extract.yaml"), mustRef(t, "flux-system/agent"), LoadOptions{})
	require.NoError(t, err)
	tags := []string{"prod-v1.7.3-abcdef0", "1.7.3", "prod-v1.8.0-abcdef0", "1.8.0", "1.9.0"}
	v, _ := ParseVersion("1.7.3")
	got, err := tg.Selector.TagsFor(v, tags)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod-v1.7.3-abcdef0"}, got, "1.7.3 itself does not match filterTags")

	v, _ = ParseVersion("1.8.0")
	_, err = tg.Selector.TagsFor(v, tags)
	require.ErrorIs(t, err, ErrNotSelectable)
	assert.Contains(t, err.Error(), `tag "prod-v1.8.0-abcdef0" matches the ImageRepository's exclusionList pattern`)
	_, err = tg.Selector.TagsFor(v, []string{"1.8.0"})
	require.ErrorIs(t, err, ErrNotSelectable)
	assert.Contains(t, err.Error(), `tag "1.8.0" does not match spec.filterTags.pattern`)

	v, _ = ParseVersion("2.0.0")
	got, err = tg.Selector.TagsFor(v, tags)
	require.NoError(t, err)
	assert.Empty(t, got, "no tag at all: the caller says the tag is missing")
}
