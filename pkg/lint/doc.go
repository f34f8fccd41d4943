// Package lint runs pinned linters natively, at once, and reads their output into one kind of finding.
package lint
