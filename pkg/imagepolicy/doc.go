// Package imagepolicy finds one Flux ImagePolicy in a multi-document YAML file, rewrites only the
// bytes of its semver range, and resolves ranges against an image repository's tags as Flux does.
package imagepolicy
