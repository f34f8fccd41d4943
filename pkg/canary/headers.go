package canary

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// headers reads a MetricTemplate provider's headers: a mapping of header names to a value or
// a list of values (Flagger's http.Header). Errors name the header, never its value.
func (p *parser) headers(n *yaml.Node, path string) (http.Header, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, path, "want a mapping of header names to values, e.g. X-Scope-OrgID: team-a")
	}
	h := http.Header{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !headerName.MatchString(k.Value) {
			return nil, p.errAt(k, path, "%q is not a valid HTTP header name", k.Value)
		}
		vals := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			vals = v.Content
		}
		for _, vn := range vals {
			if vn.Kind != yaml.ScalarNode || strings.ContainsAny(vn.Value, "\r\n") {
				return nil, p.errAt(vn, path+"."+k.Value, "want a one-line string or a list of them (the value is not shown)")
			}
			h.Add(k.Value, vn.Value)
		}
	}
	return h, nil
}

var (
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	// credentialHeader: a header whose value is most likely a credential.
	credentialHeader = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie)$|token|secret|passw|api-?key|auth`)
)

// templateHeadersNotes says which headers a template's queries carry (names only: the values
// may be credentials) and warns about a credential written in a committed file.
func (p *parser) templateHeadersNotes(c *Config, h http.Header, path, id string) {
	names := make([]string, 0, len(h))
	var creds []string
	for k := range h {
		names = append(names, k)
		if credentialHeader.MatchString(k) {
			creds = append(creds, k)
		}
	}
	sort.Strings(names)
	sort.Strings(creds)
	p.note(c, path, NoteMapped, "sent with %s's queries: %s (values not shown); where the prometheus-headers input is sent too, the template's value wins for a header both give", id, strings.Join(names, ", "))
	if len(creds) > 0 {
		p.note(c, path, NoteDeprecated, "%s: a credential in a committed file: give it through the prometheus-headers or prometheus-token input (a secret) instead", strings.Join(creds, ", "))
	}
}
