// Package sarif writes and validates SARIF 2.1.0 logs as GitHub code scanning accepts them.
package sarif
