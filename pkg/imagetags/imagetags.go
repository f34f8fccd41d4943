package imagetags

import (
	"encoding/csv"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
)

// ErrRule is returned (wrapped) for a tag rule that cannot be parsed or applied.
var ErrRule = errors.New("bad tag rule")

// Rule types.
const (
	TypeSemver = "semver" // from a semver git tag (or value=): pattern={{version}}, {{major}}.{{minor}}, {{major}}, …
	TypeSHA    = "sha"    // the commit: sha-abc1234 (prefix=, format=short|long)
	TypeRef    = "ref"    // the git ref: event=branch|tag|pr
	TypeRaw    = "raw"    // a literal: value=X
)

// Types lists the valid rule types.
var Types = []string{TypeRaw, TypeRef, TypeSemver, TypeSHA}

// DefaultRules are used when no rule is given: the semver version of a tag push, the branch name
// of a branch push, and the short commit SHA.
var DefaultRules = []string{"type=semver,pattern={{version}}", "type=ref,event=branch", "type=sha"}

var attrs = map[string][]string{
	TypeSemver: {"pattern", "value", "prefix", "suffix", "enable"},
	TypeSHA:    {"prefix", "suffix", "format", "enable"},
	TypeRef:    {"event", "prefix", "suffix", "enable"},
	TypeRaw:    {"value", "prefix", "suffix", "enable"},
}

// Rule is one parsed tag rule, such as type=semver,pattern={{major}}.{{minor}}.
type Rule struct {
	Type  string
	Attrs map[string]string
	text  string
}

// String is the rule as written.
func (r Rule) String() string { return r.text }

// ParseRule parses one rule: comma-separated key=value attributes (quote a value that contains a
// comma: value="a,b"), one of them type=. Unknown types and attributes fail, listing the valid ones.
func ParseRule(s string) (Rule, error) {
	text := strings.TrimSpace(s)
	r := Rule{Attrs: map[string]string{}, text: text}
	if text == "" {
		return r, fmt.Errorf("%w: empty rule (e.g. type=semver,pattern={{version}})", ErrRule)
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	fields, err := cr.Read()
	if err != nil {
		return r, fmt.Errorf("%w %q: %w", ErrRule, text, err)
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return r, fmt.Errorf("%w %q: %q is not key=value", ErrRule, text, f)
		}
		if _, dup := r.Attrs[k]; dup || (k == "type" && r.Type != "") {
			return r, fmt.Errorf("%w %q: %s given twice", ErrRule, text, k)
		}
		if k == "type" {
			r.Type = strings.ToLower(strings.TrimSpace(v))
			continue
		}
		r.Attrs[k] = strings.TrimSpace(v)
	}
	valid, ok := attrs[r.Type]
	switch {
	case r.Type == "":
		return r, fmt.Errorf("%w %q: no type= (valid types: %s)", ErrRule, text, strings.Join(Types, ", "))
	case !ok:
		return r, fmt.Errorf("%w %q: unknown type %q (valid types: %s)", ErrRule, text, r.Type, strings.Join(Types, ", "))
	}
	for k := range r.Attrs {
		if !slices.Contains(valid, k) {
			return r, fmt.Errorf("%w %q: unknown attribute %q for type=%s (valid: %s)", ErrRule, text, k, r.Type, strings.Join(valid, ", "))
		}
	}
	if en, ok := r.Attrs["enable"]; ok && en != "true" && en != "false" {
		return r, fmt.Errorf("%w %q: enable=%q, want true or false", ErrRule, text, en)
	}
	switch r.Type {
	case TypeSemver:
		if r.Attrs["pattern"] == "" {
			return r, fmt.Errorf("%w %q: type=semver needs pattern= (e.g. {{version}}, {{major}}.{{minor}}, {{major}})", ErrRule, text)
		}
		if err := checkPattern(r.Attrs["pattern"]); err != nil {
			return r, fmt.Errorf("%w %q: %w", ErrRule, text, err)
		}
	case TypeRaw:
		if r.Attrs["value"] == "" {
			return r, fmt.Errorf("%w %q: type=raw needs value=", ErrRule, text)
		}
	case TypeRef:
		if ev := r.Attrs["event"]; ev != "branch" && ev != "tag" && ev != "pr" {
			return r, fmt.Errorf("%w %q: event=%q, want one of: branch, tag, pr", ErrRule, text, ev)
		}
	case TypeSHA:
		if f, ok := r.Attrs["format"]; ok && f != "short" && f != "long" {
			return r, fmt.Errorf("%w %q: format=%q, want short or long", ErrRule, text, f)
		}
	}
	return r, nil
}

var placeholder = regexp.MustCompile(`\{\{\s*([a-z]+)\s*\}\}`)

var placeholders = []string{"version", "major", "minor", "patch", "raw"}

func checkPattern(p string) error {
	for _, m := range placeholder.FindAllStringSubmatch(p, -1) {
		if !slices.Contains(placeholders, m[1]) {
			return fmt.Errorf("unknown placeholder {{%s}} (valid: {{%s}})", m[1], strings.Join(placeholders, "}}, {{"))
		}
	}
	return nil
}

// ParseRules parses one rule per entry, skipping blank ones; the error names every bad rule.
func ParseRules(lines []string) ([]Rule, error) {
	var rules []Rule
	var errs []error
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		r, err := ParseRule(l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// Context is what the rules read: the git ref and commit of the build.
type Context struct {
	// Ref is the full git ref: refs/heads/main, refs/tags/v1.2.3 or refs/pull/12/merge.
	Ref string
	// SHA is the full commit SHA.
	SHA string
}

// ContextFromEnv reads GITHUB_REF and GITHUB_SHA.
func ContextFromEnv(getenv func(string) string) Context {
	return Context{Ref: getenv("GITHUB_REF"), SHA: getenv("GITHUB_SHA")}
}

// Result is what the rules give for a context.
type Result struct {
	// Tags are the tags in rule order, sanitised, without duplicates.
	Tags []string
	// Version is the first tag made by a type=semver rule with pattern {{version}}: the tag a
	// Flux ImagePolicy semver range selects. Empty when the build has none (not a semver tag push).
	Version string
}

// Apply evaluates rules for c. Rules that do not apply (type=semver on a branch push,
// event=branch on a tag push, enable=false) give no tag.
func Apply(rules []Rule, c Context) (Result, error) {
	var res Result
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Attrs["enable"] == "false" {
			continue
		}
		raw, isVersion, err := r.value(c)
		if err != nil {
			return res, err
		}
		if raw == "" {
			continue
		}
		tag := Sanitize(r.prefix() + raw + r.Attrs["suffix"])
		if tag == "" {
			return res, fmt.Errorf("%w %q: %q has no valid tag character left", ErrRule, r.text, raw)
		}
		if isVersion && res.Version == "" {
			res.Version = tag
		}
		if !seen[tag] {
			seen[tag] = true
			res.Tags = append(res.Tags, tag)
		}
	}
	return res, nil
}

// prefix is the prefix= attribute; type=sha defaults it to "sha-".
func (r Rule) prefix() string {
	if p, ok := r.Attrs["prefix"]; ok || r.Type != TypeSHA {
		return p
	}
	return "sha-"
}

// value is the rule's tag before prefix, suffix and sanitising ("" when the rule does not apply)
// and whether it is the {{version}} of a semver rule.
func (r Rule) value(c Context) (string, bool, error) {
	switch r.Type {
	case TypeRaw:
		return r.Attrs["value"], false, nil
	case TypeSHA:
		sha := c.SHA
		if sha == "" {
			return "", false, nil
		}
		if r.Attrs["format"] != "long" && len(sha) > 7 {
			sha = sha[:7]
		}
		return sha, false, nil
	case TypeRef:
		switch ev := r.Attrs["event"]; {
		case ev == "branch" && strings.HasPrefix(c.Ref, "refs/heads/"):
			return strings.TrimPrefix(c.Ref, "refs/heads/"), false, nil
		case ev == "tag" && strings.HasPrefix(c.Ref, "refs/tags/"):
			return strings.TrimPrefix(c.Ref, "refs/tags/"), false, nil
		case ev == "pr" && strings.HasPrefix(c.Ref, "refs/pull/"):
			n, _, _ := strings.Cut(strings.TrimPrefix(c.Ref, "refs/pull/"), "/")
			return "pr-" + n, false, nil
		}
		return "", false, nil
	case TypeSemver:
		raw := r.Attrs["value"]
		if raw == "" {
			if !strings.HasPrefix(c.Ref, "refs/tags/") {
				return "", false, nil
			}
			raw = strings.TrimPrefix(c.Ref, "refs/tags/")
		}
		v, err := semver.StrictNewVersion(strings.TrimPrefix(raw, "v"))
		if err != nil {
			if r.Attrs["value"] != "" {
				return "", false, fmt.Errorf("%w %q: value %q is not a semantic version (e.g. v1.2.3): %w", ErrRule, r.text, raw, err)
			}
			return "", false, nil // a non-semver tag push gives no semver tag
		}
		pattern := r.Attrs["pattern"]
		norm := placeholder.ReplaceAllString(pattern, "{{$1}}")
		isVersion := norm == "{{version}}"
		if v.Prerelease() != "" && !strings.Contains(norm, "{{version}}") && !strings.Contains(norm, "{{raw}}") {
			return "", false, nil // a pre-release only gets its full version
		}
		out := placeholder.ReplaceAllStringFunc(pattern, func(m string) string {
			switch placeholder.FindStringSubmatch(m)[1] {
			case "version":
				return v.String()
			case "major":
				return fmt.Sprint(v.Major())
			case "minor":
				return fmt.Sprint(v.Minor())
			case "patch":
				return fmt.Sprint(v.Patch())
			default: // raw
				return raw
			}
		})
		return out, isVersion, nil
	}
	return "", false, fmt.Errorf("%w %q: unknown type %q (valid types: %s)", ErrRule, r.text, r.Type, strings.Join(Types, ", "))
}

var invalidTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Sanitize makes s a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}): each run of other
// characters becomes "-", leading "." and "-" are dropped, and the result is cut to 128 bytes.
// It returns "" when nothing valid is left.
func Sanitize(s string) string {
	s = invalidTagChars.ReplaceAllString(s, "-")
	s = strings.TrimLeft(s, ".-")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// Repository normalises an image repository for the registry: lower case (GHCR and the OCI
// distribution spec accept only lower-case paths; ${{ github.repository }} often is not), no
// tag or digest. The error names the input and says what is expected.
func Repository(image string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(image))
	if s == "" {
		return "", fmt.Errorf("image repository is empty: want HOST/PATH, e.g. ghcr.io/acme/agent")
	}
	repo, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("image repository %q: %w (want HOST/PATH without a tag or digest, e.g. ghcr.io/acme/agent)", image, err)
	}
	return repo.String(), nil
}
