// Package acttest runs this repository's workflows and composite actions for real under nektos/act on the host, and reads back their outputs and step summary.
package acttest
