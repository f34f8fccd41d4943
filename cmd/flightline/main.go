// Command flightline is the one binary behind Flightline's GitHub Actions: a subcommand per
// action (lint, test, build, scan, promote, canary-monitor, rollback) plus demo, backtest,
// doctor and version. Each runs the same in Actions and on a terminal.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, os.Environ)
	stop()
	os.Exit(code)
}
