package workflowcheck

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Finding is one broken rule, printed as file:line:col: message [kind].
type Finding struct {
	File      string
	Line, Col int
	Kind      string
	Message   string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", f.File, f.Line, f.Col, f.Message, f.Kind)
}

var (
	pinned      = regexp.MustCompile(`^[^@\s]+@[0-9a-f]{40}$`)
	versionNote = regexp.MustCompile(`v\d+`)
	inputExpr   = regexp.MustCompile(`^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$`)
)

// CheckFile checks one action.yml or workflow file.
func CheckFile(path string) ([]Finding, error) {
	root, err := readMapping(path)
	if err != nil {
		return nil, err
	}
	c := &checker{file: path}
	if runs := get(root, "runs"); runs != nil {
		c.action(root, runs)
	}
	if jobs := get(root, "jobs"); jobs != nil {
		c.workflow(root, jobs)
	}
	return c.findings, nil
}

type checker struct {
	file     string
	findings []Finding
}

func (c *checker) add(n *yaml.Node, kind, format string, args ...any) {
	c.findings = append(c.findings, Finding{File: c.file, Line: n.Line, Col: n.Column, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) action(root, runs *yaml.Node) {
	steps := get(runs, "steps")
	c.steps(steps)
	if u := get(runs, "using"); u == nil || u.Value != "composite" {
		return
	}
	// Every input must reach the binary as FLIGHTLINE_INPUT_<NAME>: ${{ inputs.<name> }}.
	mapped := map[string]bool{}
	for _, st := range items(steps) {
		env := get(st, "env")
		if env == nil || env.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(env.Content); i += 2 {
			k, v := env.Content[i].Value, env.Content[i+1].Value
			if m := inputExpr.FindStringSubmatch(strings.TrimSpace(v)); m != nil && k == envName(m[1]) {
				mapped[m[1]] = true
			}
		}
	}
	inputs := get(root, "inputs")
	if inputs == nil {
		return
	}
	for i := 0; i+1 < len(inputs.Content); i += 2 {
		name := inputs.Content[i]
		if !mapped[name.Value] {
			c.add(name, "input-not-mapped", "input %q never reaches the binary: add %s: ${{ inputs.%s }} to the env: of the step that runs flightline",
				name.Value, envName(name.Value), name.Value)
		}
	}
}

// readMapping parses a YAML file whose document is a mapping (an action or a workflow).
func readMapping(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", path)
	}
	return doc.Content[0], nil
}

func envName(input string) string {
	return "FLIGHTLINE_INPUT_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
}

func (c *checker) workflow(root, jobs *yaml.Node) {
	top := get(root, "permissions")
	if top != nil {
		c.permissions(top)
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		name, job := jobs.Content[i], jobs.Content[i+1]
		perms := get(job, "permissions")
		switch {
		case perms != nil:
			c.permissions(perms)
		case top == nil:
			c.add(name, "permissions", "job %q has no permissions: and the workflow sets none: declare least privilege (for example contents: read)", name.Value)
		}
		if u := get(job, "uses"); u != nil {
			c.uses(u)
		}
		c.steps(get(job, "steps"))
	}
}

// permissions requires an explicit block whose every grant carries a comment saying why.
func (c *checker) permissions(p *yaml.Node) {
	if p.Kind == yaml.ScalarNode {
		if p.Value == "read-all" || p.Value == "write-all" {
			c.add(p, "permissions", "permissions: %s is not least privilege: list each scope with a comment", p.Value)
		}
		return
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		k, v := p.Content[i], p.Content[i+1]
		if strings.TrimSpace(v.LineComment) == "" && strings.TrimSpace(k.LineComment) == "" {
			c.add(k, "permissions", "permission %s: %s has no comment saying why it is needed", k.Value, v.Value)
		}
	}
}

func (c *checker) steps(steps *yaml.Node) {
	for _, st := range items(steps) {
		if r := get(st, "run"); r != nil && strings.Contains(r.Value, "${{") {
			c.add(r, "expression-in-run", "a ${{ }} expression inside run: is script injection waiting to happen: pass the value through env: and use \"$VAR\"")
		}
		if u := get(st, "uses"); u != nil {
			c.uses(u)
		}
	}
}

func (c *checker) uses(u *yaml.Node) {
	v := u.Value
	if strings.HasPrefix(v, "./") || strings.HasPrefix(v, "docker://") {
		return
	}
	if !pinned.MatchString(v) {
		c.add(u, "unpinned", "%s is not pinned by a full commit SHA: use owner/repo@<40-hex sha> # vX.Y.Z", v)
		return
	}
	if !versionNote.MatchString(u.LineComment) {
		c.add(u, "unpinned", "%s is pinned by SHA but has no version comment: add # vX.Y.Z", v)
	}
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func items(seq *yaml.Node) []*yaml.Node {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	return seq.Content
}
