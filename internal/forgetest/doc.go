// Package forgetest is the one test suite every forge.Forge implementation runs: the forge contract and the promotion and rollback flows over it.
package forgetest
