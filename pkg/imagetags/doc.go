// Package imagetags computes image tags from docker/metadata-action-style rules (type=semver, sha, ref, raw) and the git ref of a build.
package imagetags
