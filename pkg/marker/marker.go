package marker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Kind names a marker: the word after "flightline:" in the HTML comment.
type Kind string

// The two marker kinds.
const (
	KindPromotion Kind = "promotion"
	KindRevert    Kind = "revert"
)

// Version is the marker schema version this package writes and reads ("v":1).
const Version = 1

// Scan verdicts recorded in a promotion marker.
const (
	ScanPassed  = "passed"
	ScanFailed  = "failed"
	ScanUnknown = "unknown"
)

// Rollback triggers recorded in a revert marker.
const (
	TriggerManual = "manual"
	TriggerCanary = "canary"
)

// Errors callers branch on.
var (
	// ErrNotFound means the text carries no marker of the wanted kind.
	ErrNotFound = errors.New("no flightline marker found")
	// ErrAmbiguous means the text carries more than one marker of the wanted kind.
	ErrAmbiguous = errors.New("more than one flightline marker found")
	// ErrInvalid means a marker was found but its content is malformed.
	ErrInvalid = errors.New("invalid flightline marker")
)

// Promotion is the content of a promotion marker, in the field order DESIGN.md §3 gives:
//
//	<!-- flightline:promotion {"v":1,"policy":"NS/NAME","file":"PATH","previousRange":"…","range":"…","tag":"…","digest":"sha256:…","image":"REPO","scan":"passed|failed|unknown"} -->
type Promotion struct {
	V             int    `json:"v"`
	Policy        string `json:"policy"`
	File          string `json:"file"`
	PreviousRange string `json:"previousRange"`
	Range         string `json:"range"`
	Tag           string `json:"tag"`
	Digest        string `json:"digest"`
	Image         string `json:"image"`
	Scan          string `json:"scan"`
}

// Revert is the content of a revert marker, in the field order DESIGN.md §3 gives:
//
//	<!-- flightline:revert {"v":1,"policy":"NS/NAME","file":"PATH","reverts":"PR number or merge SHA","restoredRange":"…","trigger":"manual|canary","reason":"free text","checks":[…]} -->
//
// Checks names the failing checks that triggered the rollback (empty for a manual one).
type Revert struct {
	V             int      `json:"v"`
	Policy        string   `json:"policy"`
	File          string   `json:"file"`
	Reverts       string   `json:"reverts"`
	RestoredRange string   `json:"restoredRange"`
	Trigger       string   `json:"trigger"`
	Reason        string   `json:"reason"`
	Checks        []string `json:"checks"`
}

const (
	opening = "<!-- flightline:"
	closing = " -->"
)

// String formats the marker line (no trailing newline). V is written as Version whatever its value.
func (p Promotion) String() string {
	p.V = Version
	return format(KindPromotion, p)
}

// String formats the marker line (no trailing newline). V is written as Version whatever its
// value; a nil Checks is written as [].
func (r Revert) String() string {
	r.V = Version
	if r.Checks == nil {
		r.Checks = []string{}
	}
	return format(KindRevert, r)
}

// format encodes v on one line. encoding/json escapes <, > and & (so "-->" in a value cannot end
// the comment) and control characters (so a value cannot break the line).
func format(k Kind, v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only strings, ints and string slices: cannot fail
		panic(fmt.Sprintf("marker: encoding %s marker: %v", k, err))
	}
	return opening + string(k) + " " + string(b) + closing
}

// Validate checks the fields every promotion marker must have.
func (p Promotion) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"policy", p.Policy}, {"file", p.File}, {"range", p.Range}, {"tag", p.Tag},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if p.V != Version {
		return fmt.Errorf("%w: promotion marker version %d, this Flightline reads version %d", ErrInvalid, p.V, Version)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: promotion marker lacks %s", ErrInvalid, strings.Join(missing, ", "))
	}
	if err := checkPolicy(p.Policy); err != nil {
		return err
	}
	switch p.Scan {
	case ScanPassed, ScanFailed, ScanUnknown, "":
	default:
		return fmt.Errorf("%w: promotion marker scan %q: want %s, %s or %s", ErrInvalid, p.Scan, ScanPassed, ScanFailed, ScanUnknown)
	}
	return nil
}

// Validate checks the fields every revert marker must have.
func (r Revert) Validate() error {
	if r.V != Version {
		return fmt.Errorf("%w: revert marker version %d, this Flightline reads version %d", ErrInvalid, r.V, Version)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"policy", r.Policy}, {"reverts", r.Reverts}, {"restoredRange", r.RestoredRange},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: revert marker lacks %s", ErrInvalid, strings.Join(missing, ", "))
	}
	if err := checkPolicy(r.Policy); err != nil {
		return err
	}
	switch r.Trigger {
	case TriggerManual, TriggerCanary:
	default:
		return fmt.Errorf("%w: revert marker trigger %q: want %s or %s", ErrInvalid, r.Trigger, TriggerManual, TriggerCanary)
	}
	return nil
}

func checkPolicy(p string) error {
	ns, name, ok := strings.Cut(p, "/")
	if name == "" || ok && ns == "" || strings.Contains(name, "/") || strings.ContainsAny(p, " \t\r\n") {
		return fmt.Errorf("%w: policy %q: want NAMESPACE/NAME (or NAME for a policy without a namespace)", ErrInvalid, p)
	}
	return nil
}

// ParsePromotion finds the one promotion marker in text (a PR body or a commit message) and
// decodes and validates it. It returns ErrNotFound when there is none and ErrAmbiguous when
// there are several; unknown JSON fields are ignored so that older readers accept newer writers
// of the same version.
func ParsePromotion(text string) (Promotion, error) {
	var p Promotion
	raw, err := find(text, KindPromotion)
	if err != nil {
		return p, err
	}
	if err := decode(raw, &p); err != nil {
		return Promotion{}, fmt.Errorf("%w: promotion marker: %v", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return Promotion{}, err
	}
	return p, nil
}

// ParseRevert finds the one revert marker in text and decodes and validates it, like
// ParsePromotion.
func ParseRevert(text string) (Revert, error) {
	var r Revert
	raw, err := find(text, KindRevert)
	if err != nil {
		return r, err
	}
	if err := decode(raw, &r); err != nil {
		return Revert{}, fmt.Errorf("%w: revert marker: %v", ErrInvalid, err)
	}
	if err := r.Validate(); err != nil {
		return Revert{}, err
	}
	if r.Checks == nil {
		r.Checks = []string{}
	}
	return r, nil
}

// Has reports whether text carries at least one marker of kind k (valid or not).
func Has(text string, k Kind) bool {
	return strings.Contains(text, opening+string(k)+" ")
}

// find returns the JSON of the one marker of kind k. A marker is a whole line (surrounding
// spaces and a CR allowed): "<!-- flightline:KIND {...} -->".
func find(text string, k Kind) (string, error) {
	prefix := opening + string(k) + " "
	var found []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if !strings.HasSuffix(line, closing) || len(line) < len(prefix)+len(closing) {
			return "", fmt.Errorf("%w: %s marker line does not end with %q", ErrInvalid, k, strings.TrimSpace(closing))
		}
		found = append(found, strings.TrimSpace(line[len(prefix):len(line)-len(closing)]))
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no %s marker", ErrNotFound, k)
	case 1:
		return found[0], nil
	default:
		if allSame(found) { // the same marker quoted twice (e.g. title and body) is one marker
			return found[0], nil
		}
		return "", fmt.Errorf("%w: %d different %s markers", ErrAmbiguous, len(found), k)
	}
}

func allSame(s []string) bool {
	for _, v := range s[1:] {
		if v != s[0] {
			return false
		}
	}
	return true
}

func decode(raw string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

var userinfo = regexp.MustCompile(`://[^/?#@\s]+@`)

// Text makes free text (a reason, a check's message, a login) safe to put in a marker, a PR
// body, a summary or a log: one line (control characters and line breaks become spaces,
// runs of spaces one), at most max runes (cut with "…"), "<" and ">" escaped as HTML entities
// so that it can neither open nor close an HTML comment (a marker), and never starting with
// "::" (a workflow command). The userinfo of a URL (https://user:pass@host) is replaced by ***:
// a reason quoting an error must not carry a credential into a PR.
func Text(s string, max int) string {
	s = userinfo.ReplaceAllString(s, "://***@")
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if n >= max && max > 0 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == 0x2028 || r == 0x2029 || r == ' ' {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			n++
			continue
		}
		space = false
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
		n++
	}
	out := strings.TrimSpace(b.String())
	if strings.HasPrefix(out, "::") {
		out = "\\" + out
	}
	return out
}
