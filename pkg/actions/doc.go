// Package actions is Flightline's GitHub Actions runtime: typed inputs, outputs, step summary, annotations and masking, with a local mode for use outside Actions.
package actions
