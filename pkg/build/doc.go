// Package build turns source into container images (a v1.Image, or a v1.ImageIndex for several platforms) without pushing them.
package build
