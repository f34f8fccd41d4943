package main

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// edition says which binary this is: "full" (the CLI, with the scrape metrics provider) or
// "lean" (what the actions build, with -tags lean).
var edition = "full"

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of the flightline binary",
		Long: `Print the version, the commit it was built from, the Go version and the platform.
Outputs: version, commit, go, platform, edition.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			commit := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			platform := runtime.GOOS + "/" + runtime.GOARCH
			if err := a.rt.SetOutputs(
				[2]string{"version", version},
				[2]string{"commit", commit},
				[2]string{"go", runtime.Version()},
				[2]string{"platform", platform},
				[2]string{"edition", edition},
			); err != nil {
				return err
			}
			return a.rt.WriteSummary(new(actions.Summary).
				Heading(3, "flightline "+version).
				Table([]string{"commit", "go", "platform", "edition"}, [][]string{{commit, runtime.Version(), platform, edition}}))
		},
	}
}
