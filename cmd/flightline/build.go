package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/build"
	"github.com/labrats-work/flightline/pkg/imagetags"
	"github.com/labrats-work/flightline/pkg/publish"
	"github.com/labrats-work/flightline/pkg/registry"
)

// builders are the valid values of --builder.
var builders = []string{"go"}

type buildOptions struct {
	builder   string
	dir       string
	main      string
	image     string
	platforms string
	tags      []string
	labels    []string
	base      string
	push      bool
	token     string
	layout    string
	ports     []string
	likeSelf  bool
}

func newBuildCmd(a *app) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the agent image (daemonless, reproducible, multi-arch) and push it",
		Long: `Build a Go main package into an image per platform (CGO_ENABLED=0, -trimpath, the version
linked in as main.version, the binary at /usr/local/bin/NAME on the base image) and push it:
blobs and manifests first, by digest, and only then the tags, so a failed push tags nothing.
Layers the registry already has are not sent. Tags come from docker/metadata-action-style rules,
one per --tags flag (or per line of the tags input). With --push=false, or on a fork pull
request, the image is written to an OCI layout directory instead.

The version linked into the binary (and the org.opencontainers.image.version label) is the
semver tag, else the first tag. Locally, the git ref and commit come from the repository.

Outputs: digest, image (NAME@DIGEST), tags (NAME:TAG per line), metadata (JSON), version (the
semver tag, empty when the build has none: a Flux ImagePolicy semver range will not select it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBuild(cmd.Context(), a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.builder, "builder", "go", "builder: go")
	f.StringVar(&o.dir, "dir", ".", "the source directory (the Go module root)")
	f.StringVar(&o.main, "main", ".", "the main package, relative to --dir (e.g. ./examples/agent)")
	f.StringVar(&o.image, "image", "", "image repository, e.g. ghcr.io/OWNER/NAME (lower-cased for the registry)")
	f.StringVar(&o.platforms, "platforms", "linux/amd64", "comma-separated platforms, e.g. linux/amd64,linux/arm64")
	f.StringArrayVar(&o.tags, "tags", nil, "a tag rule such as type=semver,pattern={{version}} (repeatable; input: one per line; default: "+strings.Join(imagetags.DefaultRules, " ")+")")
	f.StringArrayVar(&o.labels, "labels", nil, "an image label KEY=VALUE (repeatable; input: one per line)")
	f.StringVar(&o.base, "base", "", "base image reference (default: empty, for a static binary)")
	f.BoolVar(&o.push, "push", true, "push to the registry; false writes an OCI layout to --layout")
	f.StringVar(&o.token, "token", "", "registry token for ghcr.io (a GITHUB_TOKEN with packages: write); default $GITHUB_TOKEN")
	f.StringVar(&o.layout, "layout", "dist/oci", "OCI layout directory written when not pushing")
	f.StringArrayVar(&o.ports, "ports", nil, "an exposed port such as 8080 or 8080/tcp (repeatable)")
	f.BoolVar(&o.likeSelf, "like-self", false, "compile with the -trimpath and CGO_ENABLED settings this flightline binary was built with, "+
		"to share Go's build cache with it (the demo, run with go run): neither reproducible nor static; never for an image that leaves the machine")
	_ = f.MarkHidden("like-self")
	_ = cmd.MarkFlagRequired("image")
	return cmd
}

func runBuild(ctx context.Context, a *app, o buildOptions) error {
	start := time.Now()
	if o.builder != "go" {
		return fmt.Errorf("builder %q: unknown (valid: %s)", o.builder, strings.Join(builders, ", "))
	}
	repoName, err := imagetags.Repository(o.image)
	if err != nil {
		return err
	}
	repo, err := name.NewRepository(repoName)
	if err != nil {
		return fmt.Errorf("image repository %q: %w", o.image, err)
	}
	platforms, err := build.ParsePlatforms(o.platforms)
	if err != nil {
		return fmt.Errorf("platforms: %w", err)
	}
	ruleText := o.tags
	if len(ruleText) == 0 {
		ruleText = imagetags.DefaultRules
	}
	rules, err := imagetags.ParseRules(ruleText)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	labels := map[string]string{}
	for _, l := range o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("label %q: want KEY=VALUE", l)
		}
		labels[strings.TrimSpace(k)] = v
	}
	getenv := a.getenv
	if o.token != "" {
		a.rt.Mask(o.token)
		getenv = func(k string) string {
			if k == "GITHUB_TOKEN" {
				return o.token
			}
			return a.getenv(k)
		}
	}
	tagCtx := gitContext(ctx, o.dir, imagetags.ContextFromEnv(getenv))
	res, err := imagetags.Apply(rules, tagCtx)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	version := res.Version
	if version == "" && len(res.Tags) > 0 {
		version = res.Tags[0]
	}

	kc := registry.Keychain(getenv)
	opts := []build.GoOption{
		build.WithPlatforms(platforms...),
		build.WithBase(o.base),
		build.WithRemoteOptions(remote.WithAuthFromKeychain(kc)),
		build.WithVersion(version),
		build.WithLabels(labels),
		build.WithExposedPorts(o.ports...),
		build.WithGetenv(getenv),
		build.WithGoEnv(a.childEnv()),
		build.WithLog(a.stderr),
	}
	if o.likeSelf {
		opts = append(opts, build.WithLocalFlags(selfCompileFlags()))
	}
	if cache := buildCacheDir(getenv, o.dir, o.main); cache != "" {
		opts = append(opts, build.WithCacheDir(cache))
	}
	var b build.Builder = build.NewGo(o.dir, o.main, opts...)
	art, err := b.Build(ctx)
	if err != nil {
		return err
	}

	push, why := o.push, ""
	if push {
		if why = publish.PushBlocked(ctx, getenv, repo, kc); why != "" {
			push = false
			a.rt.Annotate(actions.Warning, why, actions.Annotation{Title: "flightline build: not pushed"})
		}
	}
	var p publish.Publisher = publish.NewLayout(o.layout)
	if push {
		if p, err = publish.NewRegistry(repo.String(), publish.WithKeychain(kc)); err != nil {
			return err
		}
	}
	rep, err := p.Publish(ctx, art, res.Tags)
	if err != nil {
		return err
	}
	return buildOutputs(a, repo.String(), rep, res, why, o, time.Since(start))
}

// gitContext fills what Actions did not give (a local run) from the repository: the branch
// (or tag) checked out and the HEAD commit.
func gitContext(ctx context.Context, dir string, c imagetags.Context) imagetags.Context {
	git := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if c.SHA == "" {
		c.SHA = git("rev-parse", "HEAD")
	}
	if c.Ref == "" {
		if ref := git("symbolic-ref", "-q", "HEAD"); ref != "" {
			c.Ref = ref
		} else if tag := git("describe", "--tags", "--exact-match"); tag != "" {
			c.Ref = "refs/tags/" + tag
		}
	}
	return c
}

// buildCacheDir is where the per-platform binaries stay between builds (so go build can skip
// the link step): $FLIGHTLINE_CACHE or ~/.cache/flightline, under build/<hash of dir and main>.
func buildCacheDir(getenv func(string) string, dir, main string) string {
	root := getenv("FLIGHTLINE_CACHE")
	if root == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		root = filepath.Join(home, ".cache", "flightline")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + main))
	return filepath.Join(root, "build", hex.EncodeToString(sum[:6]))
}

func buildOutputs(a *app, repo string, rep *publish.Report, res imagetags.Result, why string, o buildOptions, took time.Duration) error {
	var refs []string
	for _, t := range rep.Tags {
		refs = append(refs, repo+":"+t)
	}
	image := repo + "@" + rep.Digest
	meta, err := json.Marshal(struct {
		ImageName string          `json:"image.name"`
		Digest    string          `json:"containerimage.digest"`
		Image     string          `json:"image"`
		Version   string          `json:"version"`
		Pushed    bool            `json:"pushed"`
		Layout    string          `json:"layout,omitempty"`
		Report    *publish.Report `json:"report"`
	}{strings.Join(refs, ","), rep.Digest, image, res.Version, rep.Pushed, layoutDir(rep, o), rep})
	if err != nil {
		return err
	}
	if err := a.rt.SetOutputs(
		[2]string{"digest", rep.Digest},
		[2]string{"image", image},
		[2]string{"tags", strings.Join(refs, "\n")},
		[2]string{"metadata", string(meta)},
		[2]string{"version", res.Version},
	); err != nil {
		return err
	}

	var platforms []string
	for _, img := range rep.Images {
		platforms = append(platforms, img.Platform)
	}
	sent, present := rep.Uploaded()
	done := fmt.Sprintf("Built and pushed to %s in %.1f s (push %.1f s): %d layer(s) uploaded, %d already present, %s sent.",
		repo, took.Seconds(), rep.Duration.Seconds(), sent, present, humanBytes(rep.BytesUploaded))
	if !rep.Pushed {
		done = fmt.Sprintf("Built and written to the OCI layout %s (not pushed) in %.1f s: %d layer(s) written, %d already there.",
			rep.Repository, took.Seconds(), sent, present)
	}
	s := new(actions.Summary).Heading(3, "flightline build: "+image).
		Table([]string{"image", "digest", "tags", "platforms"},
			[][]string{{repo, "`" + rep.Digest + "`", strings.Join(rep.Tags, ", "), strings.Join(platforms, ", ")}}).
		Para(done)
	if why != "" {
		s.Para("**Not pushed:** " + why + ".")
	}
	if res.Version == "" {
		s.Para("**No semver tag:** this build has no `type=semver` tag (it is not a `v1.2.3` tag push), so a Flux `ImagePolicy` semver range will not select it.")
	} else {
		s.Para("Version `" + res.Version + "`: the tag a Flux `ImagePolicy` semver range selects.")
	}
	var rows [][]string
	for _, img := range rep.Images {
		for _, l := range img.Layers {
			rows = append(rows, []string{img.Platform, "`" + shortDigest(l.Digest) + "`", humanBytes(l.Size), string(l.Status)})
		}
	}
	s.Table([]string{"platform", "layer", "size", "status"}, rows)
	return a.rt.WriteSummary(s)
}

func layoutDir(rep *publish.Report, o buildOptions) string {
	if rep.Pushed {
		return ""
	}
	return o.layout
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// selfCompileFlags are the -trimpath and CGO_ENABLED settings this binary was built with (a
// plain `go run` has neither -trimpath nor, where a C compiler is installed, CGO_ENABLED=0).
func selfCompileFlags() build.LocalFlags {
	var f build.LocalFlags
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "-trimpath":
				f.Trimpath = s.Value == "true"
			case "CGO_ENABLED":
				f.Cgo = s.Value == "1"
			}
		}
	}
	return f
}
