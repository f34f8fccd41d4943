package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	ghforge "github.com/labrats-work/flightline/pkg/forge/github"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/promote"
)

// openGitHub is the GitHub forge for --platform-repo, at GITHUB_API_URL (and
// GITHUB_GRAPHQL_URL) when the environment sets them: GitHub Enterprise Server works as is.
func openGitHub(ctx context.Context, repo, token string, getenv func(string) string) (*ghforge.Forge, error) {
	opts := []ghforge.Option{ghforge.WithUserAgent("flightline/" + version)}
	if getenv != nil {
		if u := getenv("GITHUB_API_URL"); u != "" {
			opts = append(opts, ghforge.WithBaseURL(u))
		}
		if u := getenv("GITHUB_GRAPHQL_URL"); u != "" {
			opts = append(opts, ghforge.WithGraphQLURL(u))
		}
	}
	return ghforge.New(ctx, repo, token, opts...)
}

func newDoctorCmd(a *app) *cobra.Command {
	var repo, token, base, file, policy string
	var labels []string
	cmd := &cobra.Command{
		Use:   "doctor --platform-repo OWNER/REPO --token TOKEN [--file F --policy NS/NAME --labels L,...]",
		Short: "Check that the token and the platform repository are ready for promotions and rollbacks",
		Long: `doctor checks, without changing anything, what promote and rollback need on GitHub: the token can
read and write the platform repository, GitHub Actions may create PRs there (only needed with a
workflow's GITHUB_TOKEN), auto-merge is allowed (for merge: auto), the labels exist or can be
created, and the file and the ImagePolicy are on the base branch. It prints one line per check —
ok, warn (works, with a caveat), unknown (the token cannot see it: GitHub shows merge settings
only to tokens that may write, the Actions setting only with Administration: read) or FAIL with
what to fix — and exits non-zero when a check fails.
Honours GITHUB_API_URL (GitHub Enterprise Server). Outputs: failed (the number of failed checks).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if repo == "" {
				return errors.New("doctor: give --platform-repo OWNER/REPO (input platform-repo)")
			}
			var checks []ghforge.Check
			f, err := openGitHub(ctx, repo, token, a.getenv)
			if err != nil {
				checks = append(checks, ghforge.Check{Name: "token can read " + repo, Status: ghforge.Fail, Detail: err.Error()})
			} else {
				checks = append(checks, ghforge.Check{Name: "token can read " + repo, Status: ghforge.Pass})
				checks = append(checks, f.Diagnose(ctx, labels)...)
				checks = append(checks, checkPolicy(ctx, f, base, file, policy)...)
			}
			return report(a, checks)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&repo, "platform-repo", "", "the platform repository on GitHub, OWNER/REPO")
	fl.StringVar(&token, "token", "", "the token promote and rollback will use (a GitHub App installation token or a fine-grained PAT)")
	fl.StringVar(&base, "base-branch", "", "the platform repository's branch to check (default: its default branch)")
	fl.StringVar(&file, "file", promote.DefaultFile, "the file that holds the ImagePolicy")
	fl.StringVar(&policy, "policy", "", "the ImagePolicy to look for, NS/NAME (optional)")
	fl.StringSliceVar(&labels, "labels", nil, "labels the PRs will carry (comma or newline separated)")
	return cmd
}

// checkPolicy checks that the file is on the base branch and holds the policy.
func checkPolicy(ctx context.Context, f *ghforge.Forge, base, file, policy string) []ghforge.Check {
	if base == "" {
		var err error
		if base, err = f.DefaultBranch(ctx); err != nil {
			return []ghforge.Check{{Name: "base branch", Status: ghforge.Fail, Detail: err.Error()}}
		}
	}
	fc := ghforge.Check{Name: fmt.Sprintf("%s is on %s", file, base)}
	data, err := f.ReadFile(ctx, base, file)
	if err != nil {
		fc.Status, fc.Detail = ghforge.Fail, err.Error()+" — set file to the file that holds the ImagePolicy"
		return []ghforge.Check{fc}
	}
	fc.Status = ghforge.Pass
	if policy == "" {
		return []ghforge.Check{fc}
	}
	pc := ghforge.Check{Name: fmt.Sprintf("ImagePolicy %s is in %s", policy, file)}
	ref, err := imagepolicy.ParseRef(policy)
	if err == nil {
		var p imagepolicy.Policy
		if p, err = imagepolicy.Find(data, ref); err == nil {
			pc.Status, pc.Detail = ghforge.Pass, ""
			pc.Name += fmt.Sprintf(" (range %q)", p.Range)
			return []ghforge.Check{fc, pc}
		}
	}
	pc.Status, pc.Detail = ghforge.Fail, err.Error()
	return []ghforge.Check{fc, pc}
}

// report prints one line per check, the summary and the output; it fails when a check failed.
func report(a *app, checks []ghforge.Check) error {
	failed := 0
	rows := make([][]string, 0, len(checks))
	for _, c := range checks {
		line := a.rt.Redact(c.String())
		fmt.Fprintln(a.stderr, line)
		if c.Status == ghforge.Fail {
			failed++
		}
		rows = append(rows, []string{string(c.Status), a.rt.Redact(c.Name), a.rt.Redact(c.Detail)})
	}
	if err := a.rt.SetOutputs([2]string{"failed", fmt.Sprint(failed)}); err != nil {
		return err
	}
	if a.rt.InActions() { // locally the lines above are the report
		if err := a.rt.WriteSummary(new(actions.Summary).Heading(3, "flightline doctor").Table([]string{"", "check", "what to do"}, rows)); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("doctor: %d of %d checks failed: %s", failed, len(checks), failedNames(checks))}
	}
	return nil
}

func failedNames(checks []ghforge.Check) string {
	var n []string
	for _, c := range checks {
		if c.Status == ghforge.Fail {
			n = append(n, c.Name)
		}
	}
	return strings.Join(n, "; ")
}

// addPreflight gives cmd (promote, rollback) a --preflight flag: before the command runs,
// doctor's checks on the GitHub platform repository — the token, the settings, the labels and,
// when given, the file and the policy — print one line each, and a failed check stops the
// command before it writes anything. With --platform-dir there is nothing to check.
func addPreflight(cmd *cobra.Command, a *app, pf *platformFlags, labels *[]string, file, policy *string) {
	var on bool
	cmd.Flags().BoolVar(&on, "preflight", false, "run doctor's checks on the platform repository first and stop before any write if one fails")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if !on || pf.repo == "" {
			return nil
		}
		ctx := cmd.Context()
		f, err := openGitHub(ctx, pf.repo, pf.token, pf.getenv)
		if err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		checks := append([]ghforge.Check{{Name: "token can read " + pf.repo, Status: ghforge.Pass}}, f.Diagnose(ctx, *labels)...)
		if *file != "" {
			checks = append(checks, checkPolicy(ctx, f, pf.base, *file, *policy)...)
		}
		failed := 0
		for _, c := range checks {
			fmt.Fprintln(a.stderr, a.rt.Redact("preflight: "+c.String()))
			if c.Status == ghforge.Fail {
				failed++
			}
		}
		if failed > 0 {
			return &exitError{code: 1, err: fmt.Errorf("preflight: %d of %d checks failed, nothing was changed: %s", failed, len(checks), failedNames(checks))}
		}
		return nil
	}
}
