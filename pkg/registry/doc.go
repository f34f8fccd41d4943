// Package registry is Flightline's glue over go-containerregistry: credentials, tags and digests.
package registry
