package imagepolicy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// SetRange returns data with spec.policy.semver.range of the ImagePolicy ref replaced by
// newRange, and every other byte unchanged: comments, key order, indentation, the quote style of
// the value (a plain value that YAML would misread, such as >=1.4.0, * or 1.10, is double-quoted),
// document markers, CRLF line ends, a byte-order mark and a missing final newline.
//
// newRange must be valid for Flux (ErrInvalidRange). The value must be a single-line plain,
// single- or double-quoted scalar without anchor, alias or tag (ErrUnsupported). The result is
// re-parsed and compared with the original document by document; if anything but that one value
// differs, SetRange returns ErrVerify and no data.
func SetRange(data []byte, ref Ref, newRange string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: setting the range of %q: %v; the file was not changed, please report this", ErrVerify, ref, r)
		}
	}()
	if err := ValidateRange(newRange); err != nil {
		return nil, err
	}
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, err
	}
	p, err := findIn(docs, ref)
	if err != nil {
		return nil, err
	}
	start, end, flow, err := rangeSpan(data, p)
	if err != nil {
		return nil, err
	}
	text := render(newRange, p.rangeNode.Style, flow)
	out = make([]byte, 0, len(data)-(end-start)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	out = append(out, data[end:]...)
	if err := verify(docs, p, out, ref, newRange); err != nil {
		return nil, fmt.Errorf("%w: setting the range of %q to %q: %v; the file was not changed, please report this", ErrVerify, ref, newRange, err)
	}
	return out, nil
}

// rangeSpan returns the byte span [start, end) of the range value in data, and whether the value
// sits in a flow collection.
func rangeSpan(data []byte, p policyObject) (start, end int, flow bool, err error) {
	n := p.rangeNode
	at := fmt.Sprintf("ImagePolicy %q: spec.policy.semver.range at line %d, column %d", p.ref, n.Line, n.Column)
	switch {
	case n.Kind == yaml.AliasNode:
		return 0, 0, false, fmt.Errorf("%w: %s is an alias (*%s); write the range there literally", ErrUnsupported, at, n.Value)
	case n.Anchor != "":
		return 0, 0, false, fmt.Errorf("%w: %s has an anchor (&%s); remove the anchor so that changing the range changes nothing else", ErrUnsupported, at, n.Anchor)
	case n.Style&yaml.TaggedStyle != 0:
		return 0, 0, false, fmt.Errorf("%w: %s has an explicit tag (%s); remove the tag", ErrUnsupported, at, n.Tag)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, false, fmt.Errorf("%w: %s is a block scalar (| or >); write the range on one line, e.g. range: \"1.2.3\"", ErrUnsupported, at)
	case n.Tag != "!!str":
		return 0, 0, false, fmt.Errorf("%w: %s is not a string (%s); quote it, e.g. range: \"1.2.3\"", ErrUnsupported, at, n.Tag)
	}
	for _, a := range append(append(slices.Clone(p.outer), p.root), p.path...) {
		if a.Kind == yaml.AliasNode {
			return 0, 0, false, fmt.Errorf("%w: %s lies under an alias (*%s, line %d); write that mapping literally", ErrUnsupported, at, a.Value, a.Line)
		}
		if a.Anchor != "" {
			return 0, 0, false, fmt.Errorf("%w: %s lies under an anchor (&%s, line %d); remove the anchor so that changing the range changes nothing else", ErrUnsupported, at, a.Anchor, a.Line)
		}
	}
	flow = p.path[len(p.path)-1].Style&yaml.FlowStyle != 0
	start, ok := offsetOf(data, n.Line, n.Column)
	if !ok {
		return 0, 0, false, fmt.Errorf("%w: %s: the position is outside the file", ErrVerify, at)
	}
	multiline := fmt.Errorf("%w: %s spans several lines; write it on one line", ErrUnsupported, at)
	switch {
	case n.Style&yaml.SingleQuotedStyle != 0:
		if start >= len(data) || data[start] != '\'' {
			return 0, 0, false, fmt.Errorf("%w: %s: no opening quote at that position", ErrVerify, at)
		}
		for i := start + 1; ; i++ {
			if i >= len(data) || breakWidth(data, i) > 0 {
				return 0, 0, false, multiline
			}
			if data[i] == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
					continue
				}
				end = i + 1
				break
			}
		}
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if start >= len(data) || data[start] != '"' {
			return 0, 0, false, fmt.Errorf("%w: %s: no opening quote at that position", ErrVerify, at)
		}
		for i := start + 1; ; i++ {
			if i >= len(data) || breakWidth(data, i) > 0 {
				return 0, 0, false, multiline
			}
			if data[i] == '\\' {
				i++
				if i >= len(data) || breakWidth(data, i) > 0 {
					return 0, 0, false, multiline
				}
				continue
			}
			if data[i] == '"' {
				end = i + 1
				break
			}
		}
	default: // plain
		i := start
		for i < len(data) && breakWidth(data, i) == 0 {
			c := data[i]
			if c == '#' && i > start && (data[i-1] == ' ' || data[i-1] == '\t') {
				break
			}
			if c == ':' && (i+1 == len(data) || isBlank(data[i+1]) || breakWidth(data, i+1) > 0 || flow && isFlowIndicator(data[i+1])) {
				break
			}
			if flow && isFlowIndicator(c) {
				break
			}
			i++
		}
		for i > start && isBlank(data[i-1]) {
			i--
		}
		end = i
		if got := string(data[start:end]); got != n.Value {
			if got != "" && strings.HasPrefix(n.Value, got) {
				return 0, 0, false, multiline
			}
			return 0, 0, false, fmt.Errorf("%w: %s: found %q at that position, not %q", ErrVerify, at, got, n.Value)
		}
		return start, end, flow, nil
	}
	// A quoted value: it must read back, alone, as the value the parser saw.
	var back yaml.Node
	if err := yaml.Unmarshal(data[start:end], &back); err != nil || len(back.Content) != 1 || back.Content[0].Value != n.Value {
		return 0, 0, false, fmt.Errorf("%w: %s: the bytes %q do not read back as %q", ErrVerify, at, data[start:end], n.Value)
	}
	return start, end, flow, nil
}

// offsetOf converts a 1-based line and column, as the YAML parser counts them (characters, with
// CRLF, CR, LF, NEL, LS and PS as line breaks, after a leading byte-order mark), to a byte offset.
func offsetOf(data []byte, line, col int) (int, bool) {
	i := 0
	if bytes.HasPrefix(data, bom) {
		i = len(bom)
	}
	for l := 1; l < line; l++ {
		for {
			if i >= len(data) {
				return 0, false
			}
			if w := breakWidth(data, i); w > 0 {
				i += w
				break
			}
			i++
		}
	}
	for c := 1; c < col; c++ {
		if i >= len(data) || breakWidth(data, i) > 0 {
			return 0, false
		}
		_, w := utf8.DecodeRune(data[i:])
		i += w
	}
	return i, true
}

// breakWidth returns the length of the line break at data[i], or 0.
func breakWidth(data []byte, i int) int {
	switch {
	case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
		return 2
	case data[i] == '\r' || data[i] == '\n':
		return 1
	case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
		return 2
	case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
		return 3
	}
	return 0
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isFlowIndicator(c byte) bool { return strings.IndexByte(",[]{}", c) >= 0 }

// render writes s as a scalar in the style of the value it replaces. A plain value that YAML
// would read differently (or that other YAML 1.1 tools might) is double-quoted instead.
func render(s string, style yaml.Style, flow bool) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0 && singleQuotable(s):
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 && plainSafe(s, flow):
		return s
	}
	return doubleQuote(s)
}

func singleQuotable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7F || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF {
			return false
		}
	}
	return utf8.ValidString(s)
}

func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7F || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yaml11Words are plain words that YAML 1.1 tools read as booleans or null.
var yaml11Words = []string{"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}

// plainSafe reports whether s can be written as a plain scalar and read back as the same string.
func plainSafe(s string, flow bool) bool {
	if s == "" || !singleQuotable(s) || isBlank(s[0]) || isBlank(s[len(s)-1]) {
		return false
	}
	if strings.IndexByte("-?:,[]{}#&*!|>'\"%@`", s[0]) >= 0 {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.Contains(s, "\t#") || strings.HasSuffix(s, ":") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}:") {
		return false
	}
	for _, w := range yaml11Words {
		if strings.EqualFold(s, w) {
			return false
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	v := n.Content[0]
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Style == 0 && v.Value == s
}

// verify re-parses out and checks that it equals the original documents except for the range
// value of p, which must now read newRange.
func verify(orig []*yaml.Node, p policyObject, out []byte, ref Ref, newRange string) error {
	docs, err := parseDocuments(out)
	if err != nil {
		return fmt.Errorf("the edited file does not parse: %v", err)
	}
	if len(docs) != len(orig) {
		return fmt.Errorf("the edited file has %d documents instead of %d", len(docs), len(orig))
	}
	for i := range orig {
		if err := sameTree(orig[i], docs[i], p.rangeNode, newRange); err != nil {
			return fmt.Errorf("document %d: %v", i+1, err)
		}
	}
	q, err := findIn(docs, ref)
	if err != nil {
		return fmt.Errorf("the edited file: %v", err)
	}
	if q.policy.Range != newRange || q.policy.Line != p.policy.Line || q.policy.Column != p.policy.Column {
		return fmt.Errorf("the edited file reads range %q at %d:%d", q.policy.Range, q.policy.Line, q.policy.Column)
	}
	return nil
}

// sameTree compares two node trees, ignoring positions. At the node edited (a node of the
// original tree), b must be a plain or quoted string scalar reading newRange.
func sameTree(a, b, edited *yaml.Node, newRange string) error {
	if a.Kind != b.Kind {
		return fmt.Errorf("line %d: node kind changed", a.Line)
	}
	if a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment {
		return fmt.Errorf("line %d: a comment changed", a.Line)
	}
	if a.Anchor != b.Anchor {
		return fmt.Errorf("line %d: an anchor changed", a.Line)
	}
	if a == edited {
		if b.Kind != yaml.ScalarNode || b.Tag != "!!str" || b.Value != newRange || b.Style&^(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			return fmt.Errorf("line %d: the new range reads as %s %q", b.Line, b.Tag, b.Value)
		}
		return nil
	}
	if a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style {
		return fmt.Errorf("line %d: value %q (%s) changed to %q (%s)", a.Line, a.Value, a.Tag, b.Value, b.Tag)
	}
	if a.Kind == yaml.AliasNode {
		return nil // compared by name (Value); the target is compared where it is defined
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("line %d: the number of entries changed", a.Line)
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], edited, newRange); err != nil {
			return err
		}
	}
	return nil
}
