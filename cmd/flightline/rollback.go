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
does: by default the last merged promotion of the policy (found by its marker, never by title),
or the one given with --pr (a PR number; a merge commit SHA on the local git forge). It refuses,
with a non-zero exit and operation=refused, to revert a promotion that a newer merged promotion
has superseded (unless --force), to revert a revert, and to revert an unmerged PR; it reuses an
open (or merged) revert of the same promotion instead of opening a second. When the revert does
not apply cleanly it opens a forward fix that sets the previous range recorded in the marker.
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
			req.Base = pf.base
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
