package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
)

// platformFlags are the inputs that say where the platform repository is.
type platformFlags struct {
	repo, dir, token, base string
	trusted                []string // trusted-authors
	appSlug                string
	getenv                 func(string) string // GITHUB_API_URL for platform-repo
}

func (p *platformFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.repo, "platform-repo", "", "the platform repository on GitHub, OWNER/REPO (needs token)")
	f.StringVar(&p.dir, "platform-dir", "", "a local platform repository (bare, or a clone with the base branch checked out): the local git forge")
	f.StringVar(&p.token, "token", "", "token that can write to the platform repository (a GitHub App installation token or a fine-grained PAT)")
	f.StringVar(&p.base, "base-branch", "", "the platform repository's branch to change (default: its default branch)")
	f.StringSliceVar(&p.trusted, "trusted-authors", nil, "the logins whose promotion and revert PRs Flightline acts on (an App as SLUG[bot]; list every identity that runs promote and rollback); default: app-slug's bot, else the token's own login")
	f.StringVar(&p.appSlug, "app-slug", "", "the slug of the GitHub App whose installation token is used (its PRs are by SLUG[bot]; GitHub does not tell an App token its own identity)")
}

// open returns the forge for the platform repository.
func (p *platformFlags) open(ctx context.Context) (forge.Forge, error) {
	switch {
	case p.repo != "" && p.dir != "":
		return nil, errors.New("platform-repo and platform-dir are both set: give one of them")
	case p.dir != "":
		return gitforge.Open(ctx, p.dir)
	case p.repo != "":
		return openGitHub(ctx, p.repo, p.token, p.getenv)
	default:
		return nil, errors.New("no platform repository: give platform-repo (OWNER/REPO) or platform-dir (a local git repository)")
	}
}

func newPromoteCmd(a *app) *cobra.Command {
	var (
		pf  = platformFlags{getenv: a.getenv}
		req promote.Request
		pin string
		mrg string
		fv  string
	)
	cmd := &cobra.Command{
		Use:   "promote --policy NS/NAME --version X.Y.Z (--platform-dir DIR | --platform-repo OWNER/REPO)",
		Short: "Open the one-line PR that promotes a version: bump the ImagePolicy range in the platform repo",
		Long: `promote reads the ImagePolicy on the platform repository's base branch, sets its semver range to
the version (exact: X.Y.Z, or patch: ~X.Y.Z), checks against the registry that the new range
selects that version's tag (and, when image is name@digest or digest is given, that digest), and
opens a PR titled "promote NS/NAME to TAG" whose body carries the machine-readable marker that
rollback reads. Re-running it for the same version updates that PR (or changes nothing), and
refuses when its branch holds a commit by someone not in --trusted-authors (default: the token's
own login, or --app-slug's bot); a newer version closes the older open promotions of the policy
that are Flightline's own (others are named and left open); when the base already pins the range
there is no PR (operation=unchanged). A version that was rolled back is refused unless --force.
Outputs: pr-number, pr-url, previous-range, range, tag, digest, operation
(created|updated|unchanged|merged).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			req.Pin = imagepolicy.Pin(pin)
			req.Merge = promote.MergeMode(mrg)
			rules, err := imagepolicy.ParseRules(fv)
			if err != nil {
				return fmt.Errorf("flux-version: %w", err)
			}
			req.Rules = rules
			f, err := pf.open(ctx)
			if err != nil {
				return err
			}
			req.Base, req.TrustedAuthors, req.AppSlug = pf.base, pf.trusted, pf.appSlug
			reg := registry.New(registry.WithGetenv(a.getenv))
			req.ScanCheck.Finder = registryScans{reg}
			res, runErr := promote.Run(ctx, f, reg, req)
			if runErr != nil && res.Operation == "" {
				return runErr
			}
			if err := a.rt.SetOutputs(res.Outputs()...); err != nil {
				return errors.Join(runErr, err)
			}
			a.rt.Logf("%s", res.Message)
			for _, i := range res.Ignored {
				a.rt.Annotate(actions.Notice, i, actions.Annotation{Title: "flightline promote: left alone"})
			}
			for _, n := range res.Notes {
				a.rt.Annotate(actions.Notice, n, actions.Annotation{Title: "flightline promote"})
			}
			if err := a.rt.WriteSummary(new(actions.Summary).Para(res.Summary())); err != nil {
				return errors.Join(runErr, err)
			}
			return runErr
		},
	}
	pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&req.File, "file", promote.DefaultFile, "the file in the platform repository that holds the ImagePolicy")
	fl.StringVar(&req.Policy, "policy", "", "the ImagePolicy to promote, NS/NAME")
	fl.StringVar(&req.Version, "version", "", "the version to promote (1.5.0 or v1.5.0)")
	fl.StringVar(&req.Image, "image", "", "the image repository, or name@sha256:… as the build outputs it (default: spec.image of the policy's ImageRepository)")
	fl.StringVar(&req.Digest, "digest", "", "the digest the build produced; the tag must have it")
	fl.StringVar(&req.RepositoryFile, "image-repository-file", "", "the file in the platform repository that holds the policy's ImageRepository, when file does not (its exclusionList is part of Flux's selection)")
	fl.StringVar(&fv, "flux-version", "", "the Flux release the cluster runs: 2.7 or later (default) reads tags with fluxcd/pkg/version; 2.6 or earlier needs strict semver")
	fl.StringVar(&pin, "pin", "exact", "how to write the range: exact (X.Y.Z) or patch (~X.Y.Z)")
	fl.BoolVar(&req.AllowDowngrade, "allow-downgrade", false, "allow a range that selects an older version than today's")
	fl.BoolVar(&req.Force, "force", false, "promote even a version that a rollback put on hold")
	fl.StringSliceVar(&req.Labels, "labels", nil, "labels for the PR (comma or newline separated)")
	fl.StringVar(&mrg, "merge", "none", "none (leave the PR for review), merge (merge now) or auto (enable auto-merge)")
	fl.BoolVar(&req.ScanCheck.Require, "require-scan", true, "refuse a digest without a passing scan report attached to it (flightline scan); false promotes anyway and records the verdict found, or unknown")
	fl.DurationVar(&req.ScanCheck.MaxAge, "max-scan-age", promote.DefaultMaxScanAge, "how old the passing scan may be (168h = 7 days)")
	fl.BoolVar(&req.DryRun, "dry-run", false, "decide and report, change nothing")
	_ = cmd.MarkFlagRequired("policy")
	_ = cmd.MarkFlagRequired("version")
	addPreflight(cmd, a, &pf, &req.Labels, &req.File, &req.Policy)
	return cmd
}
