package imagepolicy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Group is the API group of Flux's image automation objects.
const Group = "image.toolkit.fluxcd.io"

// supportedVersions are the ImagePolicy API versions whose spec.policy.semver.range Flightline
// edits: the ones whose semver policy, filterTags and imageRepositoryRef have the same shape.
var supportedVersions = []string{Group + "/v1", Group + "/v1beta2", Group + "/v1beta1"}

// deprecatedVersions say which Flux release stopped serving an API version (image-reflector-
// controller's CHANGELOG: v1beta1 removed in v1.0.0, Flux 2.7; v1beta2 removed in v1.2.0, Flux
// 2.9). Such policies are still read and edited, with a warning.
var deprecatedVersions = map[string]string{
	Group + "/v1beta1": "Flux 2.7 and later (image-reflector-controller v1.0+) no longer serve image.toolkit.fluxcd.io/v1beta1: run `flux migrate` on the cluster and change the apiVersion in the file to image.toolkit.fluxcd.io/v1",
	Group + "/v1beta2": "Flux 2.9 and later (image-reflector-controller v1.2+) no longer serve image.toolkit.fluxcd.io/v1beta2: change the apiVersion in the file to image.toolkit.fluxcd.io/v1 (the same shape)",
}

// Policy is one ImagePolicy found in a file.
type Policy struct {
	Ref             Ref        // metadata.namespace/metadata.name
	APIVersion      string     // image.toolkit.fluxcd.io/v1, /v1beta2 or /v1beta1
	Range           string     // spec.policy.semver.range ("" when the policy has no semver range)
	ImageRepository Ref        // spec.imageRepositoryRef (namespace defaults to the policy's)
	Filter          *TagFilter // spec.filterTags (nil when unset)
	Line, Column    int        // 1-based position of the range value (0 when there is none)
	// Warnings name what Flightline reads but Flux may treat differently: a deprecated
	// apiVersion, spec.suspend. Show them to the user.
	Warnings []string
}

// object is one Kubernetes object (a top-level mapping) of a YAML stream.
type object struct {
	doc        int        // 0-based index of the document in the stream
	root       *yaml.Node // the document's top-level mapping
	apiVersion string
	kind       string
	ref        Ref
	line       int          // line of the object's mapping
	outer      []*yaml.Node // for an item of a kind: List, the list's mapping and its items
}

// parseDocuments decodes every document of a YAML stream into node trees. A panic inside the YAML
// library becomes an error: a file Flightline cannot read is never edited.
func parseDocuments(data []byte) (docs []*yaml.Node, err error) {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return nil, fmt.Errorf("%w: the file is UTF-16; save it as UTF-8", ErrInvalidYAML)
	}
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("%w: the YAML parser failed: %v", ErrInvalidYAML, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, fmt.Errorf("%w: document %d: %v; fix the file so that YAML tools can read it", ErrInvalidYAML, len(docs)+1, err)
		}
		docs = append(docs, &n)
	}
}

// objects returns the top-level mappings of the documents with their identity.
func objects(docs []*yaml.Node) []object {
	var objs []object
	for i, d := range docs {
		if d.Kind != yaml.DocumentNode || len(d.Content) != 1 {
			continue
		}
		root := d.Content[0]
		if root.Kind != yaml.MappingNode {
			continue
		}
		o := newObject(i, root)
		objs = append(objs, o)
		// A kind: List (as kubectl get -o yaml writes) holds its objects under items.
		if strings.HasSuffix(o.kind, "List") {
			items, _ := lookup(root, "items")
			if items != nil && items.Kind == yaml.SequenceNode {
				for _, it := range items.Content {
					if it.Kind == yaml.MappingNode {
						item := newObject(i, it)
						item.outer = []*yaml.Node{root, items}
						objs = append(objs, item)
					}
				}
			}
		}
	}
	return objs
}

func newObject(doc int, root *yaml.Node) object {
	o := object{doc: doc, root: root, line: root.Line}
	o.apiVersion = scalarAt(root, "apiVersion")
	o.kind = scalarAt(root, "kind")
	if md := valueOf(root, "metadata"); md != nil && md.Kind == yaml.MappingNode {
		o.ref = Ref{Namespace: scalarAt(md, "namespace"), Name: scalarAt(md, "name")}
	}
	return o
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// valueOf returns the value of key in mapping m (following aliases), or nil. When the key appears
// more than once the last one wins, as in most Kubernetes tooling; lookup reports duplicates.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	v, _ := lookup(m, key)
	return deref(v)
}

// lookup returns the value node of key in mapping m (not following aliases) and how many times
// the key occurs.
func lookup(m *yaml.Node, key string) (*yaml.Node, int) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, 0
	}
	var v *yaml.Node
	n := 0
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == key && (k.Tag == "!!str" || k.Tag == "") {
			v = m.Content[i+1]
			n++
		}
	}
	return v, n
}

// scalarAt returns the string value of a scalar key, or "".
func scalarAt(m *yaml.Node, key string) string {
	v := valueOf(m, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

func isImagePolicy(o object) bool {
	return o.kind == "ImagePolicy" && strings.HasPrefix(o.apiVersion, Group+"/")
}

// policyObject is an ImagePolicy with the nodes on the path to its range.
type policyObject struct {
	object
	policy    Policy
	path      []*yaml.Node // spec, spec.policy, spec.policy.semver values (as written, maybe aliases)
	rangeNode *yaml.Node   // spec.policy.semver.range as written (maybe an alias); nil when missing
	noSemver  error        // why there is no range (wraps ErrNoSemver), nil when there is one
}

func newPolicyObject(o object) policyObject {
	p := policyObject{object: o}
	p.policy = Policy{Ref: o.ref, APIVersion: o.apiVersion}
	spec := valueOf(o.root, "spec")
	repo := valueOf(spec, "imageRepositoryRef")
	p.policy.ImageRepository = Ref{Namespace: scalarAt(repo, "namespace"), Name: scalarAt(repo, "name")}
	if p.policy.ImageRepository.Namespace == "" {
		p.policy.ImageRepository.Namespace = o.ref.Namespace
	}
	if ft := valueOf(spec, "filterTags"); ft != nil && ft.Kind == yaml.MappingNode {
		p.policy.Filter = &TagFilter{Pattern: scalarAt(ft, "pattern"), Extract: scalarAt(ft, "extract"), Line: ft.Line}
	}
	if w, ok := deprecatedVersions[o.apiVersion]; ok {
		p.policy.Warnings = append(p.policy.Warnings, fmt.Sprintf("ImagePolicy %q (line %d): %s", o.ref, o.line, w))
	}
	if v := valueOf(spec, "suspend"); v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!bool" && v.Value == "true" {
		p.policy.Warnings = append(p.policy.Warnings, fmt.Sprintf("ImagePolicy %q (line %d) has spec.suspend: true: Flux does not reconcile it, so a new range takes effect only once it is resumed", o.ref, o.line))
	}
	node := o.root
	where := ""
	for _, key := range []string{"spec", "policy", "semver", "range"} {
		v, count := lookup(node, key)
		where = strings.TrimPrefix(where+"."+key, ".")
		if count > 1 {
			p.noSemver = fmt.Errorf("%w: ImagePolicy %q (line %d) has the key %s %d times; keep one", ErrDuplicate, o.ref, o.line, where, count)
			return p
		}
		if v == nil {
			msg := fmt.Sprintf("ImagePolicy %q (line %d) has no %s", o.ref, o.line, where)
			if key == "semver" {
				if pol := deref(node); pol != nil && pol.Kind == yaml.MappingNode && len(pol.Content) > 0 {
					msg += fmt.Sprintf(" (its policy is %q)", pol.Content[0].Value)
				}
			}
			p.noSemver = fmt.Errorf("%w: %s; Flightline promotes semver policies only", ErrNoSemver, msg)
			return p
		}
		if key == "range" {
			p.rangeNode = v
			break
		}
		p.path = append(p.path, v)
		node = v
	}
	r := deref(p.rangeNode)
	if r == nil || r.Kind != yaml.ScalarNode {
		p.noSemver = fmt.Errorf("%w: ImagePolicy %q (line %d) has a spec.policy.semver.range that is not a string (line %d); write it as range: \"1.2.3\"", ErrNoSemver, o.ref, o.line, p.rangeNode.Line)
		return p
	}
	if r.Tag != "!!str" {
		// Kubernetes refuses a number, a boolean or null where the CRD wants a string, so Flux
		// never sees such a range; neither reading nor editing it would mean what it shows.
		what := fmt.Sprintf("YAML reads %q as %s", r.Value, yamlTypeName(r.Tag))
		p.noSemver = fmt.Errorf("%w: ImagePolicy %q: spec.policy.semver.range at line %d, column %d is not a string (%s: %s); quote it, e.g. range: \"1.2.3\"", ErrUnsupported, o.ref, p.rangeNode.Line, p.rangeNode.Column, r.Tag, what)
		return p
	}
	p.policy.Range = r.Value
	p.policy.Line, p.policy.Column = p.rangeNode.Line, p.rangeNode.Column
	return p
}

// yamlTypeName names a YAML core tag for messages.
func yamlTypeName(tag string) string {
	switch tag {
	case "!!float", "!!int":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null (no value)"
	}
	return "a " + strings.TrimPrefix(tag, "!!")
}

// policies returns every ImagePolicy of a supported API version, and the unsupported ones.
func policies(objs []object) (supported, unsupported []policyObject) {
	for _, o := range objs {
		if !isImagePolicy(o) {
			continue
		}
		p := newPolicyObject(o)
		if slices.Contains(supportedVersions, o.apiVersion) {
			supported = append(supported, p)
		} else {
			unsupported = append(unsupported, p)
		}
	}
	return supported, unsupported
}

// List returns every ImagePolicy (image.toolkit.fluxcd.io/v1, v1beta2 or v1beta1) in a
// multi-document YAML file, including the items of a kind: List, in file order. Policies without a semver range are listed with an empty Range.
func List(data []byte) ([]Policy, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, err
	}
	sup, _ := policies(objects(docs))
	out := make([]Policy, 0, len(sup))
	for _, p := range sup {
		out = append(out, p.policy)
	}
	return out, nil
}

// Find returns the one ImagePolicy identified by ref. It fails with ErrNotFound (the message lists
// the policies the file has), ErrDuplicate when the file defines it twice, and ErrNoSemver when
// it has no spec.policy.semver.range.
func Find(data []byte, ref Ref) (Policy, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return Policy{}, err
	}
	p, err := findIn(docs, ref)
	if err != nil {
		return Policy{}, err
	}
	return p.policy, nil
}

// findPolicy locates ref among the documents without requiring a semver range.
func findPolicy(docs []*yaml.Node, ref Ref) (policyObject, error) {
	sup, unsup := policies(objects(docs))
	var found []policyObject
	for _, p := range sup {
		if p.ref == ref {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		for _, p := range unsup {
			if p.ref == ref {
				return policyObject{}, fmt.Errorf("%w: ImagePolicy %q (line %d) uses apiVersion %s; Flightline reads %s (use image.toolkit.fluxcd.io/v1)", ErrAPIVersion, ref, p.line, p.apiVersion, strings.Join(supportedVersions, ", "))
			}
		}
		return policyObject{}, notFound("ImagePolicy", ref, sup)
	default:
		lines := make([]string, len(found))
		for i, p := range found {
			lines[i] = fmt.Sprint(p.line)
		}
		return policyObject{}, fmt.Errorf("%w: ImagePolicy %q is defined %d times (lines %s); keep one", ErrDuplicate, ref, len(found), strings.Join(lines, ", "))
	}
}

// findIn locates ref and requires a semver range.
func findIn(docs []*yaml.Node, ref Ref) (policyObject, error) {
	p, err := findPolicy(docs, ref)
	if err != nil {
		return p, err
	}
	if p.noSemver != nil {
		return p, p.noSemver
	}
	return p, nil
}

func describe(r Ref) string {
	if r.Namespace == "" {
		return r.Name + " (no metadata.namespace)"
	}
	return r.String()
}

func notFound(kind string, ref Ref, have []policyObject) error {
	if len(have) == 0 {
		return fmt.Errorf("%w: %s %q: the file has no %s of %s", ErrNotFound, kind, ref, kind, strings.Join(supportedVersions, " or "))
	}
	names := make([]string, len(have))
	var same []string
	noNamespace := ref.Namespace == ""
	for i, p := range have {
		names[i] = fmt.Sprintf("%s (line %d)", describe(p.ref), p.line)
		if p.ref.Name == ref.Name {
			same = append(same, fmt.Sprintf("%q", p.ref.String()))
			noNamespace = noNamespace || p.ref.Namespace == ""
		}
	}
	hint := ""
	if len(same) > 0 {
		hint = "; did you mean " + strings.Join(same, " or ") + "?"
		if noNamespace {
			hint += " (namespaces are matched literally: a policy without metadata.namespace is NAME alone)"
		}
	}
	return fmt.Errorf("%w: %s %q is not in the file; it has: %s%s", ErrNotFound, kind, ref, strings.Join(names, ", "), hint)
}
