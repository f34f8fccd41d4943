// Package promote opens the one-line pull request that bumps an ImagePolicy's range in the platform repository to a version checked against the registry.
package promote
