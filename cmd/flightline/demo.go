package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// pipeline is the loop the demo walks, in order, with what each stage stands for.
var pipeline = []struct{ command, does string }{
	{"build", "build the agent image and push it (daemonless, reproducible)"},
	{"imagepolicy", "read and edit the prod Flux ImagePolicy range byte-for-byte"},
	{"promote", "open the promotion PR that bumps the prod range"},
	{"canary-monitor", "watch the metrics after the promotion lands"},
	{"rollback", "revert the promotion PR when the checks fail"},
}

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Walk the build → promote → canary → auto-revert loop on embedded components",
		Long: `demo runs the whole pipeline on embedded components: no network, no Docker, no Prometheus,
no credentials. Until every stage of the loop is in this build, it lists the stages and which of
them this binary already has, so that nothing is presented as working that is not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			have := map[string]bool{}
			for _, c := range cmd.Root().Commands() {
				have[c.Name()] = true
			}
			missing := 0
			fmt.Fprintln(a.stderr, "Flightline's loop: build → promote → canary → auto-revert.")
			for i, st := range pipeline {
				state := "available: flightline " + st.command + " --help"
				if !have[st.command] {
					state = "not in this build yet"
					missing++
				}
				fmt.Fprintf(a.stderr, "  %d. %-15s %s (%s)\n", i+1, st.command, st.does, state)
			}
			if missing > 0 {
				fmt.Fprintf(a.stderr, "The end-to-end demo needs all %d stages; %d are not in this build yet, so it stops here.\n", len(pipeline), missing)
			}
			return a.rt.SetOutput("stages-missing", fmt.Sprint(missing))
		},
	}
}
