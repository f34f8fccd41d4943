package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/lint"
	"github.com/labrats-work/flightline/pkg/sarif"
)

func newLintCmd(a *app) *cobra.Command {
	var (
		req       lint.Request
		failOn    string
		argLines  []string
		sarifPath string
		list      bool
	)
	cmd := &cobra.Command{
		Use:   "lint [--linters auto|NAME,...] [--only-new] [--fail-on error|warning|none] [--sarif FILE]",
		Short: "Run the repository's linters at once, natively and pinned; annotate changed lines first; write SARIF",
		Long: `lint finds which linters apply to the working directory (Go: go-vet, golangci-lint; Python:
flake8 or ruff, black, isort, bandit; workflows: actionlint; shell: shellcheck; YAML: yamllint),
runs them at once and reads their output into one kind of finding (file, line, col, rule,
severity, message, tool). A linter that is missing or crashes is that linter's error; the others
still report. Annotations go to changed lines first, then changed files, then the rest. With
--only-new only findings on lines changed against the pull request's base (or a push's previous
tip, or --base-ref) count. Directories named testdata, vendor and node_modules are skipped.
Outputs: findings (the count that counts), failed (true|false), sarif (the file written).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if list {
				ls, err := lint.Selected(ctx, req.Dir, req.Linters)
				if err != nil {
					return err
				}
				for _, l := range ls {
					fmt.Fprintln(a.stdout, l.Name)
				}
				return nil
			}
			var err error
			if req.FailOn, err = lint.ParseFailOn(failOn); err != nil {
				return err
			}
			if req.Args, err = lint.ParseArgs(argLines); err != nil {
				return err
			}
			if a.rt.InActions() {
				if req.Event, err = lint.ReadEvent(a.getenv("GITHUB_EVENT_NAME"), a.getenv("GITHUB_EVENT_PATH")); err != nil {
					return err
				}
			}
			req.Warnf = func(format string, args ...any) {
				a.rt.Annotate(actions.Warning, fmt.Sprintf(format, args...), actions.Annotation{Title: "flightline lint"})
			}
			req.Options.Env = a.childEnv() // the linters and git see the app's environment, not the step's inputs
			v, err := lint.Check(ctx, req)
			if err != nil {
				return err
			}
			spent := a.rt.AnnotateOrdered(v.Annotations(), v.Changes())
			var cuts []sarif.Cut
			if sarifPath != "" {
				var buf bytes.Buffer
				rep, err := v.Report.WriteSARIF(&buf)
				if err != nil {
					return fmt.Errorf("writing SARIF: %w", err)
				}
				cuts = rep.Cuts
				if dir := filepath.Dir(sarifPath); dir != "." {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return fmt.Errorf("writing SARIF: %w", err)
					}
				}
				if err := os.WriteFile(sarifPath, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("writing SARIF: %w", err)
				}
			}
			if err := a.rt.SetOutputs(
				[2]string{"findings", strconv.Itoa(len(v.Counted))},
				[2]string{"failed", strconv.FormatBool(v.Failed)},
				[2]string{"sarif", sarifPath},
			); err != nil {
				return err
			}
			if err := a.rt.WriteSummary(v.Summary(spent, sarifPath, cuts)); err != nil {
				return err
			}
			if v.Failed {
				return &exitError{code: 1, err: errors.New("lint failed: " + strings.Join(v.Reasons, "; "))}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&req.Linters, "linters", []string{"auto"}, "linters to run, comma or newline separated: auto (every one that applies), or names from "+strings.Join(lint.Names(), ", "))
	fl.BoolVar(&req.OnlyNew, "only-new", false, "count only findings on lines changed against the pull request's base, a push's previous tip, or --base-ref")
	fl.StringVar(&req.BaseRef, "base-ref", "", "the branch or commit that only-new compares with (default: from the workflow event)")
	fl.StringVar(&failOn, "fail-on", "error", "the lowest severity that fails the run: error, warning or none")
	fl.StringVar(&sarifPath, "sarif", "", "write a SARIF 2.1.0 file here (a run per linter, every finding) for github/codeql-action/upload-sarif")
	fl.StringVar(&req.Dir, "working-directory", ".", "the directory to lint")
	fl.BoolVar(&list, "list-linters", false, "print the linters that would run, one per line, and exit (the action installs those)")
	fl.StringArrayVar(&argLines, "args", nil, `extra arguments for one linter, "NAME: ARGS" (repeatable; one per line in the action)`)
	return cmd
}
