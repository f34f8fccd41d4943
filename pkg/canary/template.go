package canary

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

// templateFuncs are the functions a query template may call: Flagger's model (name,
// namespace, target, service, ingress, route, interval, variables) plus version, digest and
// selector. Go's built-in template functions (printf, and, or, …) are there too.
func templateFuncs(c *Config, window time.Duration, tvars map[string]string) template.FuncMap {
	vars := map[string]string{}
	for k, v := range c.Vars {
		vars[k] = v
	}
	for k, v := range tvars {
		vars[k] = v
	}
	str := func(s string) func() string { return func() string { return s } }
	return template.FuncMap{
		"name":      str(c.Name),
		"namespace": str(c.Namespace),
		"target":    str(c.Target),
		"service":   str(c.Service),
		"ingress":   str(c.Ingress),
		"route":     str(c.Route),
		"interval":  str(promDuration(window)),
		"variables": func() map[string]string { return vars },
		"version":   given("version", c.Version),
		"digest":    given("digest", c.Digest),
		"selector":  str(c.Selector),
	}
}

// given returns a template function that fails when the value was not given: an empty version
// in a label matcher would select the series that have no such label, silently.
func given(name, v string) func() (string, error) {
	return func() (string, error) {
		if v == "" {
			return "", fmt.Errorf("{{ %s }} is used but no %s was given: set the %s input (--%s)", name, name, name, name)
		}
		return v, nil
	}
}

var templateFuncNames = func() []string {
	var out []string
	for k := range templateFuncs(&Config{}, time.Minute, nil) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}()

var (
	funcNotDefined = regexp.MustCompile(`function "([^"]+)" not defined`)
	noEntryForKey  = regexp.MustCompile(`map has no entry for key "([^"]+)"`)
	actionRE       = regexp.MustCompile(`\{\{-?.*?-?\}\}`)
	notGiven       = regexp.MustCompile(`\{\{ (version|digest) \}\} is used but no .*`)
)

// render executes a query template with Go's text/template, as Flagger does, and names an
// unsupported construct (the action, the template, the file) instead of dumping the query.
func (p *parser) render(c *Config, n *yaml.Node, path, q string, window time.Duration, tvars map[string]string, from *metricTemplate) (string, error) {
	if !strings.Contains(q, "{{") {
		return q, nil
	}
	where := path
	if from != nil {
		where = "MetricTemplate " + from.id() + " in " + from.file
	}
	construct := func(word string) string {
		for _, a := range actionRE.FindAllString(q, -1) {
			if word == "" || strings.Contains(a, word) {
				return a
			}
		}
		return "{{ … }}"
	}
	fail := func(word, format string, args ...any) error {
		return p.errAt(n, path, "unsupported template construct %s in %s: %s", construct(word), where, fmt.Sprintf(format, args...))
	}
	if strings.Contains(q, "{{ .") || strings.Contains(q, "{{.") {
		return "", fail(".", "Flagger's templates call functions ({{ namespace }}, {{ variables.NAME }}), they read no fields; valid: %s", strings.Join(templateFuncNames, ", "))
	}
	t, err := template.New(path).Funcs(templateFuncs(c, window, tvars)).Option("missingkey=error").Parse(q)
	if err != nil {
		if m := funcNotDefined.FindStringSubmatch(err.Error()); m != nil {
			return "", fail(m[1], "%q is not a template function; valid: %s", m[1], strings.Join(templateFuncNames, ", "))
		}
		return "", fail("", "%s", cleanTemplateError(err))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, map[string]any{}); err != nil {
		if m := notGiven.FindStringSubmatch(err.Error()); m != nil {
			return "", p.errAt(n, path, "%s", m[0])
		}
		if m := noEntryForKey.FindStringSubmatch(err.Error()); m != nil {
			return "", fail(m[1], "{{ variables.%s }} is not defined: set it in the metric's templateVariables or in spec.analysis.vars", m[1])
		}
		return "", fail("", "%s", cleanTemplateError(err))
	}
	out := b.String()
	if strings.Contains(out, "{{") {
		return "", fail("", "the rendered query still holds template text")
	}
	return out, nil
}

// cleanTemplateError drops text/template's "template: NAME:LINE:" prefix, keeping the line.
func cleanTemplateError(err error) string {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "template: "); ok {
		if i := strings.Index(rest, ": "); i >= 0 {
			return rest[i+2:]
		}
	}
	return s
}
