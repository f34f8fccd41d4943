package publish_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/publish"
)

func TestVersionTag(t *testing.T) {
	for _, tag := range []string{"1.5.0", "v1.5.0", "2024.01.15", "v1.2-beta.5", "1.5.0-rc.1", "prod-v1.7.3-abc1234", "release-1.2.3"} {
		assert.True(t, publish.VersionTag(tag), tag)
	}
	for _, tag := range []string{"latest", "sha-abc1234", "1.5", "1", "main", "pr-42", "v1.5"} {
		assert.False(t, publish.VersionTag(tag), tag)
	}
}

// versionTags returns the tags of repo a Flux ImagePolicy could select.
func versionTags(t *testing.T, repo string) []string {
	t.Helper()
	var out []string
	for _, tag := range tagsOf(t, repo) {
		if publish.VersionTag(tag) {
			out = append(out, tag)
		}
	}
	return out
}

// Version tags are written last, after the manifests and every other tag.
func TestRegistry_VersionTagsLast(t *testing.T) {
	for regName, start := range registries() {
		t.Run(regName, func(t *testing.T) {
			reg := start(t)
			p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
			require.NoError(t, err)
			tags := []string{"1.5.0", "latest", "sha-abc1234", "v1.5.0", "1.5", "1"}
			_, err = p.Publish(context.Background(), randomIndex(t), tags)
			require.NoError(t, err)
			assert.ElementsMatch(t, tags, tagsOf(t, reg.Ref("acme/agent")))
			puts := reg.Stats().Manifests
			last := func(ref string) int { return slices.Index(puts, "acme/agent:"+ref) }
			for _, other := range []string{"latest", "sha-abc1234", "1.5", "1"} {
				for _, v := range []string{"1.5.0", "v1.5.0"} {
					assert.Greater(t, last(v), last(other), "%s before %s in %v", other, v, puts)
				}
			}
			for _, m := range puts[:len(puts)-6] {
				assert.Contains(t, m, ":sha256:", "the manifests go up by digest before any tag")
			}
		})
	}
}

// Scenario 13 of issue 16: a registry failure while the tags are pushed leaves no version tag,
// and a re-run completes the publish.
func TestRegistry_FailureWhileTaggingLeavesNoVersionTag(t *testing.T) {
	tests := []struct {
		name   string
		inject func(r interface {
			Fail(method, pathRE string, skip, times, status int)
			Drop(method, pathRE string, skip, times int)
		})
		fragments []string
	}{
		{"5xx on another tag", func(r interface {
			Fail(method, pathRE string, skip, times, status int)
			Drop(method, pathRE string, skip, times int)
		}) {
			r.Fail(http.MethodPut, `/manifests/latest$`, 0, -1, http.StatusBadGateway)
		}, []string{"as " /* tag ref */, "latest", "no version tag was written; re-run to complete the publish"}},
		{"dropped connection on another tag", func(r interface {
			Fail(method, pathRE string, skip, times, status int)
			Drop(method, pathRE string, skip, times int)
		}) {
			r.Drop(http.MethodPut, `/manifests/sha-abc1234$`, 0, -1)
		}, []string{"sha-abc1234", "no version tag was written"}},
		{"dropped connection on the second version tag", func(r interface {
			Fail(method, pathRE string, skip, times, status int)
			Drop(method, pathRE string, skip, times int)
		}) {
			r.Drop(http.MethodPut, `/manifests/v1\.5\.0$`, 0, -1)
		}, []string{"as v1.5.0", "re-run to complete the publish"}},
		{"5xx on the first version tag", func(r interface {
			Fail(method, pathRE string, skip, times, status int)
			Drop(method, pathRE string, skip, times int)
		}) {
			r.Fail(http.MethodPut, `/manifests/1\.5\.0$`, 0, -1, http.StatusServiceUnavailable)
		}, []string{"as 1.5.0", "no version tag was written"}},
	}
	for regName, start := range registries() {
		for _, tc := range tests {
			t.Run(regName+"/"+tc.name, func(t *testing.T) {
				reg := start(t)
				tc.inject(reg)
				p, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
				require.NoError(t, err)
				idx := randomIndex(t)
				tags := []string{"1.5.0", "latest", "sha-abc1234", "v1.5.0"}
				_, err = p.Publish(context.Background(), idx, tags)
				require.ErrorIs(t, err, publish.ErrPush)
				for _, f := range tc.fragments {
					assert.Contains(t, err.Error(), f)
				}
				left := versionTags(t, reg.Ref("acme/agent"))
				if strings.Contains(err.Error(), "refused to delete") {
					// A registry that cannot delete a tag: the error names what is left.
					for _, tag := range left {
						assert.Contains(t, err.Error(), tag+" (")
					}
				} else {
					assert.Empty(t, left, "a failed publish leaves no version tag")
				}
				assert.Positive(t, reg.Stats().Faults)

				// The registry recovers: a re-run completes the publish.
				healthy, err := publish.NewRegistry(reg.Ref("acme/agent"), fast)
				require.NoError(t, err)
				reg.Heal()
				_, err = healthy.Publish(context.Background(), idx, tags)
				require.NoError(t, err)
				assert.ElementsMatch(t, tags, tagsOf(t, reg.Ref("acme/agent")))
			})
		}
	}
}
