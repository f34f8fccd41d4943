package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// TagFilter is an ImagePolicy's spec.filterTags: tags that match Pattern (a Go regular
// expression, unanchored) are kept, and when Extract is set the policy sees
// Regexp.ExpandString(Extract) of each ($1, $name, ${name}) instead of the tag.
type TagFilter struct {
	Pattern string
	Extract string
	Line    int // line of spec.filterTags in the file (0 when not from a file)
}

// DefaultExclusions is what image-reflector-controller excludes from an ImageRepository's tags
// when its spec.exclusionList is unset or empty: Cosign signature tags (ImageRepository
// GetExclusionList, api v1.2.4).
var DefaultExclusions = []string{`^.*\.sig$`}

// Sentinel errors of tag selection.
var (
	// ErrInvalidFilter reports a filterTags.pattern that Go's regexp package rejects (Flux marks
	// the policy not ready with "invalid regular expression pattern").
	ErrInvalidFilter = errors.New("invalid filterTags pattern")
	// ErrInvalidExclusion reports an exclusionList pattern that Go's regexp package rejects.
	ErrInvalidExclusion = errors.New("invalid exclusionList pattern")
	// ErrNotSelectable reports a tag that Flux never hands to the policy's range: excluded by
	// the ImageRepository, dropped by filterTags, or not a version under the rules.
	ErrNotSelectable = errors.New("tag not selectable by the policy")
)

// Selector picks tags as image-reflector-controller does for one ImagePolicy: the
// ImageRepository's exclusion list first (at scan time), then the policy's filterTags (with
// extraction), then the semver range over the versions the tags parse to under Rules. The zero
// Selector has no exclusions, no filter and DefaultRules. Create one with NewSelector.
type Selector struct {
	// Policy names the policy in messages (may be empty).
	Policy Ref
	// Rules turn tags into versions (DefaultRules when empty).
	Rules Rules

	filter   *regexp.Regexp
	extract  string
	pattern  string
	excludes []*regexp.Regexp
}

// NewSelector compiles filter (nil: no filterTags) and the exclusion patterns (nil: none; pass
// Repository.Exclusions() for what Flux applies). An invalid filter pattern fails with
// ErrInvalidFilter naming the policy; an invalid exclusion with ErrInvalidExclusion.
func NewSelector(policy Ref, filter *TagFilter, exclusions []string, rules Rules) (*Selector, error) {
	s := &Selector{Policy: policy, Rules: rules}
	if s.Rules == "" {
		s.Rules = DefaultRules
	}
	if filter != nil {
		re, err := regexp.Compile(filter.Pattern)
		if err != nil {
			at := ""
			if filter.Line > 0 {
				at = fmt.Sprintf(" (line %d)", filter.Line)
			}
			return nil, fmt.Errorf("%w: ImagePolicy %q spec.filterTags.pattern%s %q: %v; Flux marks this policy not ready and selects nothing; fix the regular expression (Go syntax, https://pkg.go.dev/regexp/syntax)", ErrInvalidFilter, policy, at, filter.Pattern, err)
		}
		s.filter, s.extract, s.pattern = re, filter.Extract, filter.Pattern
	}
	for _, p := range exclusions {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v; Flux fails the ImageRepository's scan, so no tag is selected; fix the regular expression (Go syntax)", ErrInvalidExclusion, p, err)
		}
		s.excludes = append(s.excludes, re)
	}
	return s, nil
}

func (s *Selector) rules() Rules {
	if s == nil || s.Rules == "" {
		return DefaultRules
	}
	return s.Rules
}

// Candidate is a tag that reaches the policy's range: Tag as the registry lists it, Value as the
// policy sees it (the extracted value, or Tag), and the version Value parses to.
type Candidate struct {
	Tag, Value string
	Version    *semver.Version
}

// tally counts what happened to a listing, for messages.
type tally struct {
	listed, excluded, unmatched, unparsed, candidates int
}

// describe says what happened to the tags, for "range R matches none of …".
func (t tally) describe(r Rules) string {
	var dropped []string
	if t.excluded > 0 {
		dropped = append(dropped, fmt.Sprintf("%d excluded by the ImageRepository's exclusionList", t.excluded))
	}
	if t.unmatched > 0 {
		dropped = append(dropped, fmt.Sprintf("%d not matching filterTags.pattern", t.unmatched))
	}
	if len(dropped) == 0 {
		return fmt.Sprintf("the %d tags (%d of them versions under %s rules)", t.listed, t.candidates, r)
	}
	return fmt.Sprintf("the %d tags (%s; %d of the rest versions under %s rules)", t.listed, strings.Join(dropped, ", "), t.candidates, r)
}

// excludedBy returns the exclusion pattern that matches tag, or "".
func (s *Selector) excludedBy(tag string) string {
	if s == nil {
		return ""
	}
	for _, re := range s.excludes {
		if re.MatchString(tag) {
			return re.String()
		}
	}
	return ""
}

// value applies filterTags to tag: what the policy sees, and whether the pattern matched.
func (s *Selector) value(tag string) (string, bool) {
	if s == nil || s.filter == nil {
		return tag, true
	}
	m := s.filter.FindStringSubmatchIndex(tag)
	if m == nil {
		return "", false
	}
	if s.extract == "" {
		return tag, true
	}
	return string(s.filter.ExpandString(nil, s.extract, tag, m)), true
}

// candidates returns, in Flux's order, what reaches the range. Without filterTags that is the
// listing order (the order the registry listed the tags in, which Flux stores). With
// filterTags, Flux keys the tags by extracted value in a map: a later tag with the same value
// replaces an earlier one, and the map's order is random, so the order is not Flux's (see
// best). sameValue records the values several tags extracted to.
func (s *Selector) candidates(tags []string) (cands []Candidate, t tally) {
	t.listed = len(tags)
	filtered := s != nil && s.filter != nil
	var index map[string]int // by extracted value, with filterTags only
	if filtered {
		index = map[string]int{}
	}
	for _, tag := range tags {
		if s.excludedBy(tag) != "" {
			t.excluded++
			continue
		}
		val, ok := s.value(tag)
		if !ok {
			t.unmatched++
			continue
		}
		if filtered {
			if i, dup := index[val]; dup {
				cands[i].Tag = tag // Flux: the last tag listed with this value wins
				continue
			}
		}
		v, err := s.rules().ParseVersion(val)
		if err != nil {
			t.unparsed++
			continue
		}
		if filtered {
			index[val] = len(cands)
		}
		cands = append(cands, Candidate{Tag: tag, Value: val, Version: v})
	}
	t.candidates = len(cands)
	return cands, t
}

// Explain returns nil when tag reaches the policy's range, and otherwise an error wrapping
// ErrNotSelectable that says which step drops it.
func (s *Selector) Explain(tag string) error {
	who := "the policy"
	if s != nil && s.Policy.Name != "" {
		who = fmt.Sprintf("ImagePolicy %q", s.Policy)
	}
	if p := s.excludedBy(tag); p != "" {
		return fmt.Errorf("%w: tag %q matches the ImageRepository's exclusionList pattern %q, so Flux never lists it for %s; push a tag the exclusion list lets through or change the list", ErrNotSelectable, tag, p, who)
	}
	val, ok := s.value(tag)
	if !ok {
		return fmt.Errorf("%w: tag %q does not match spec.filterTags.pattern %q of %s, so Flux never considers it; push a tag that matches or change the pattern", ErrNotSelectable, tag, s.pattern, who)
	}
	if _, err := s.rules().ParseVersion(val); err != nil {
		what := fmt.Sprintf("tag %q", tag)
		if val != tag {
			what = fmt.Sprintf("tag %q extracts to %q (filterTags.extract %q), which", tag, val, s.extract)
		}
		return fmt.Errorf("%w: %s is not a version under %s rules (%v), so %s ignores it", ErrNotSelectable, what, s.rules(), errors.Unwrap(err), who)
	}
	return nil
}

// Version returns the version tag stands for in the policy: its extracted value's version. It
// fails with ErrNotSelectable (see Explain).
func (s *Selector) Version(tag string) (*semver.Version, error) {
	if err := s.Explain(tag); err != nil {
		return nil, err
	}
	val, _ := s.value(tag)
	return s.rules().ParseVersion(val)
}

// best returns what Flux picks for rng among tags: the first candidate (in Flux's order) whose
// version is above every other match, and the other tags whose version equals it.
func (s *Selector) best(rng string, tags []string) (top Candidate, ties []Candidate, err error) {
	c, err := parseRange(rng)
	if err != nil {
		return Candidate{}, nil, err
	}
	cands, t := s.candidates(tags)
	found := false
	for _, cand := range cands {
		if !c.Check(cand.Version) {
			continue
		}
		switch {
		case !found || cand.Version.GreaterThan(top.Version):
			top, ties, found = cand, nil, true
		case cand.Version.Equal(top.Version):
			ties = append(ties, cand)
		}
	}
	if !found {
		return Candidate{}, nil, fmt.Errorf("%w: range %q matches none of %s; push a matching tag or change the range", ErrNoMatch, rng, t.describe(s.rules()))
	}
	return top, ties, nil
}

// Select returns the tag Flux picks for rng: the highest version within the range, pre-releases
// only when the range has one (Masterminds/semver). Among equal versions (1.0.0 and v1.0.0)
// Flux takes the first one the registry listed, and so does Select. With filterTags, Flux takes
// any of them (a Go map's random order): Select then fails with ErrAmbiguous rather than guess.
func (s *Selector) Select(rng string, tags []string) (string, error) {
	top, ties, err := s.best(rng, tags)
	if err != nil {
		return "", err
	}
	if len(ties) > 0 && s != nil && s.filter != nil {
		names := []string{fmt.Sprintf("%q", top.Tag)}
		for _, c := range ties {
			names = append(names, fmt.Sprintf("%q", c.Tag))
		}
		return "", fmt.Errorf("%w: range %q selects %s equally, and with filterTags Flux picks one of them at random; delete all but one of these tags or narrow filterTags.pattern", ErrAmbiguous, rng, strings.Join(names, " and "))
	}
	return top.Tag, nil
}

// CheckDowngrade fails with ErrDowngrade when newRange's pick is below oldRange's. When
// oldRange matches nothing today there is nothing to downgrade from, and it returns nil.
func (s *Selector) CheckDowngrade(oldRange, newRange string, tags []string) error {
	newTop, _, err := s.best(newRange, tags)
	if err != nil {
		return err
	}
	oldTop, _, err := s.best(oldRange, tags)
	if err != nil {
		if errors.Is(err, ErrNoMatch) {
			return nil
		}
		return fmt.Errorf("checking the current range: %w", err)
	}
	if newTop.Version.LessThan(oldTop.Version) {
		return fmt.Errorf("%w: range %q selects %s, below %s that the current range %q selects; allow the downgrade explicitly if it is intended", ErrDowngrade, newRange, newTop.Tag, oldTop.Tag, oldRange)
	}
	return nil
}

// Select returns the tag Flux picks for rng among tags with no filterTags, no exclusions and
// DefaultRules (see Selector.Select).
func Select(rng string, tags []string) (string, error) { return (*Selector)(nil).Select(rng, tags) }

// CheckDowngrade is Selector.CheckDowngrade with no filterTags, no exclusions and DefaultRules.
func CheckDowngrade(oldRange, newRange string, tags []string) error {
	return (*Selector)(nil).CheckDowngrade(oldRange, newRange, tags)
}

// TagsFor returns the tags that stand for version in the policy (after the exclusions and
// filterTags, by extracted value), in listing order. When none does but a tag that reads as the
// version is dropped on the way, it fails with ErrNotSelectable saying why (Explain), so that a
// promotion of a version Flux would never select is refused with the reason.
func (s *Selector) TagsFor(version *semver.Version, tags []string) ([]string, error) {
	cands, _ := s.candidates(tags)
	var out []string
	for _, c := range cands {
		if c.Version.Equal(version) {
			out = append(out, c.Tag)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// A tag the filter reads as the version but the exclusion list drops, then a tag that reads
	// as the version by itself but the filter drops.
	for _, tag := range tags {
		if val, ok := s.value(tag); ok && s.excludedBy(tag) != "" {
			if v, err := s.rules().ParseVersion(val); err == nil && v.Equal(version) {
				return nil, s.Explain(tag)
			}
		}
	}
	for _, tag := range tags {
		if v, err := s.rules().ParseVersion(tag); err == nil && v.Equal(version) {
			return nil, s.Explain(tag)
		}
	}
	return nil, nil
}
