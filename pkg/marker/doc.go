// Package marker reads and writes the one-line machine-readable markers that Flightline puts in promotion and revert pull requests.
package marker
