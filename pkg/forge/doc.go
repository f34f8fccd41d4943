// Package forge is the interface through which Flightline changes the platform repository: read a file, propose a change as a pull request, find, merge, revert and close pull requests.
package forge
