// Package publish pushes built images to a registry (or writes them to an OCI layout) and reports what it sent; it never builds.
package publish
