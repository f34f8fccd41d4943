package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/rollback"
)

func newRollbackCmd(a *app) *cobra.Command {
	var (
		pf  = platformFlags{getenv: a.getenv}
		req rollback.Request
		mrg string
	)
	cmd := &cobra.Command{
		Use:   "rollback --policy NS/NAME [--pr PR] (--platform-dir DIR | --platform-repo OWNER/REPO)",
		Short: "Roll back a promotion: open (and optionally merge) the PR that reverts it",
		Long: `rollback reverts a promotion PR in the platform repository, as the runbook's "gh pr revert"
does: by default the promotion that set the policy's current range on the base branch (found in
the file's history, never by title or by a marker alone), or the one given with --pr (a PR
number; a merge commit SHA on the local git forge). The promotion is acted on only when its
merge commit changed exactly its marker's file and range, from the platform repo's own branch,
by a trusted author (--trusted-authors; default the token's login, or --app-slug's bot). It
refuses, with a non-zero exit and operation=refused, to revert an unverified promotion, one that
a later change of the range superseded (unless --force), a revert, and an unmerged PR; it reuses
an open revert of the same promotion only when it is Flightline's own and exactly the inverse,
and says "already rolled back" only when the base pins what a verified revert restored. When the
revert does not apply cleanly it opens a forward fix that sets the verified previous range.
With --merge it merges, then verifies that the base branch pins the restored range and says
whether that is an exact rollback (an exact pin) or the newest tag in the old range, and which
tag that selects today.
Outputs: revert-pr-number, revert-pr-url, reverted-pr, restored-range, restored-tag,
operation (reverted|reused|refused|forward-fixed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			req.Merge = promote.MergeMode(mrg)
			f, err := pf.open(ctx)
			if err != nil {
				return err
			}
			req.Base, req.TrustedAuthors, req.AppSlug = pf.base, pf.trusted, pf.appSlug
			res, runErr := rollback.Run(ctx, f, registry.New(registry.WithGetenv(a.getenv)), req)
			if runErr != nil && res.Operation == "" {
				return runErr
			}
			if err := a.rt.SetOutputs(res.Outputs()...); err != nil {
				return errors.Join(runErr, err)
			}
			if res.Message != "" {
				a.rt.Logf("%s", res.Message)
			}
			for _, i := range res.Ignored {
				a.rt.Annotate(actions.Notice, i, actions.Annotation{Title: "flightline rollback: left alone"})
			}
			for _, w := range res.Warnings {
				a.rt.Annotate(actions.Warning, w, actions.Annotation{Title: "flightline rollback"})
			}
			if err := a.rt.WriteSummary(new(actions.Summary).Para(res.Summary())); err != nil {
				return errors.Join(runErr, err)
			}
			return runErr
		},
	}
	pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&req.File, "file", "", "the file in the platform repository (default: the one recorded in the promotion's marker)")
	fl.StringVar(&req.Policy, "policy", "", "the ImagePolicy whose promotion to roll back, NS/NAME (optional with --pr)")
	fl.StringVar(&req.PR, "pr", "", "the promotion to revert: a PR number, or a merge commit SHA on the local git forge (default: the last merged promotion of the policy)")
	fl.StringVar(&req.Reason, "reason", "", "why (free text, recorded in the revert's marker and body)")
	fl.StringVar(&req.Trigger, "trigger", "manual", "what started the rollback: manual or canary")
	fl.StringSliceVar(&req.Checks, "checks", nil, "the failing checks that triggered it (canary)")
	fl.StringSliceVar(&req.Labels, "labels", nil, "labels for the revert PR (comma or newline separated)")
	fl.StringVar(&mrg, "merge", "none", "none (leave the revert for review), merge (merge now) or auto (enable auto-merge)")
	fl.BoolVar(&req.Force, "force", false, "revert even when a newer promotion of the policy has merged since")
	fl.BoolVar(&req.DryRun, "dry-run", false, "decide and report, change nothing")
	addPreflight(cmd, a, &pf, &req.Labels, &req.File, &req.Policy)
	return cmd
}
