// Package workflowcheck enforces Flightline's rules for actions and workflows: no expressions in run: scripts, every composite input reaching the binary through env:, remote actions pinned by SHA, and a commented least-privilege permissions: block.
package workflowcheck
