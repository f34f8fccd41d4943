//go:build lean

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// The lean binary (what the actions build) has no demo: the demo's canary needs the scrape
// provider, which the lean build leaves out.
func newDemoCmd(*app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the build → promote → canary → auto-revert loop (full binary only)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("the demo needs the full flightline binary: this one was built with -tags lean for the actions; " +
				"run `go run ./cmd/flightline demo` from a clone of Flightline")
		},
	}
}
