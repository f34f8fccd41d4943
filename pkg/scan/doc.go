// Package scan runs the pinned Trivy on an image digest (or a source tree), decides one verdict from its report, and attaches the report to the digest as an OCI referrer that promotion checks.
package scan
