package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/labrats-work/flightline/pkg/actions"
)

// app is what every subcommand gets: the environment, the writers and the Actions runtime.
// Subcommands never read os.Getenv, os.Environ, os.Stdout or os.Stderr themselves.
type app struct {
	getenv func(string) string
	// environ lists the whole environment, the one getenv reads, for the processes a
	// subcommand starts (see childEnv).
	environ func() []string
	stdout  io.Writer
	stderr  io.Writer
	rt      *actions.Runtime
}

// exitError carries a documented non-zero exit code (for example the canary's "rollback").
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes one command line and returns the process exit code. getenv and environ are two
// views of one environment (os.Getenv and os.Environ in main).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, environ func() []string) int {
	a := &app{getenv: getenv, environ: environ, stdout: stdout, stderr: stderr,
		rt: actions.New(actions.WithGetenv(getenv), actions.WithStdout(stdout), actions.WithStderr(stderr))}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if ctx.Err() != nil && !errors.As(err, &ee) {
		code = 130
		err = fmt.Errorf("interrupted: %w", err)
	}
	msg := a.rt.Redact(err.Error())
	if a.rt.InActions() {
		a.rt.Annotate(actions.Error, msg, actions.Annotation{Title: "flightline " + commandName(args)})
	} else {
		fmt.Fprintf(a.rt.Stderr(), "flightline: %s\n", msg)
	}
	return code
}

func commandName(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "flightline",
		Short: "Ship AI-agent services through GitOps: build, scan, promote, watch, roll back",
		Long: `flightline is the binary behind Flightline's GitHub Actions. Every subcommand runs the same in
a workflow and on a terminal: flags and action inputs (FLIGHTLINE_INPUT_<NAME>) are two faces of
one set of options; outside Actions, outputs print as name=value lines on stdout and the step
summary as text on stderr.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := actions.BindFlags(cmd, a.rt.Inputs()); err != nil {
				return err
			}
			maskSecrets(a.rt, cmd.Flags())
			return nil
		},
	}
	root.AddCommand(
		newVersionCmd(a),
		newBuildCmd(a),
		newDemoCmd(a),
		newImagePolicyCmd(a),
		newPromoteCmd(a),
		newRollbackCmd(a),
		newCanaryMonitorCmd(a),
		newDoctorCmd(a),
		newLintCmd(a),
		newTestCmd(a),
		newScanCmd(a),
	)
	return root
}

// maskSecrets masks the value of every flag that holds a credential, so that it never appears
// in a log, an output, a summary or an error.
func maskSecrets(rt *actions.Runtime, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "token" || strings.HasSuffix(f.Name, "-token") || strings.HasSuffix(f.Name, "-password") {
			rt.Mask(f.Value.String())
		}
	})
}

// childEnv is the environment of a process a subcommand starts (go build, go test, pytest):
// the app's, without the step's own action inputs (FLIGHTLINE_INPUT_*), which may hold tokens
// and are not the child's business. Never nil: a nil exec.Cmd.Env would mean os.Environ().
func (a *app) childEnv() []string {
	out := []string{}
	if a.environ == nil {
		return out
	}
	for _, kv := range a.environ() {
		if !strings.HasPrefix(kv, actions.InputPrefix) {
			out = append(out, kv)
		}
	}
	return out
}
