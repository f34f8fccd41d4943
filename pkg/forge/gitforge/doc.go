// Package gitforge is the local git forge: pull requests as branches of a local repository, driven through the git binary without touching HEAD or the working tree.
package gitforge
