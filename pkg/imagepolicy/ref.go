package imagepolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// Ref identifies a Kubernetes object by namespace and name.
//
// Namespaces are matched literally against metadata.namespace: Flightline does not know which
// namespace a kustomization would set, so a policy written without metadata.namespace is matched
// only by a Ref whose Namespace is empty (written "NAME" without a slash).
type Ref struct{ Namespace, Name string }

var (
	namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	nameRE      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

// ParseRef parses "NS/NAME" (or "NAME" for an object without metadata.namespace). Both parts must
// be valid Kubernetes names (lower-case letters, digits, '-', and '.' in names).
func ParseRef(s string) (Ref, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = "", s
	}
	switch {
	case ok && ns == "":
		return Ref{}, fmt.Errorf("%w %q: the namespace before '/' is empty; write NS/NAME, or NAME alone for a policy without metadata.namespace", ErrInvalidRef, s)
	case ok && !namespaceRE.MatchString(ns) || len(ns) > 63:
		return Ref{}, fmt.Errorf("%w %q: namespace %q is not a valid Kubernetes namespace; write NS/NAME, e.g. flux-system/my-app", ErrInvalidRef, s, ns)
	case !nameRE.MatchString(name) || len(name) > 253:
		return Ref{}, fmt.Errorf("%w %q: name %q is not a valid Kubernetes name; write NS/NAME, e.g. flux-system/my-app", ErrInvalidRef, s, name)
	}
	return Ref{Namespace: ns, Name: name}, nil
}

// String returns "NS/NAME", or "NAME" when the namespace is empty (the form ParseRef reads back).
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}
