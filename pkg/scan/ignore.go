package scan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultIgnoreFile is the ignore file read when none is given (Trivy's YAML ignore format).
const DefaultIgnoreFile = ".trivyignore.yaml"

// ErrIgnoreFile reports a malformed ignore file; the message is "file:line: message".
var ErrIgnoreFile = errors.New("malformed ignore file")

// IgnoreEntry is one entry of the ignore file's vulnerabilities list, in Trivy's format.
type IgnoreEntry struct {
	ID        string    `json:"id"`
	Paths     []string  `json:"paths,omitempty"`
	PURLs     []string  `json:"purls,omitempty"`
	Statement string    `json:"statement,omitempty"`
	ExpiredAt time.Time `json:"expiredAt,omitzero"`
	File      string    `json:"file"`
	Line      int       `json:"line"`
	// Problem is why Flightline does not honour the entry ("" = honoured): no statement, no
	// expired_at, or expired.
	Problem string `json:"problem,omitempty"`
}

// Where is "file:line".
func (e IgnoreEntry) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// IgnoreFile is a parsed ignore file: every vulnerability entry, honoured or not.
type IgnoreFile struct {
	Path    string
	Entries []IgnoreEntry
	// Sections lists the other top-level sections (misconfigurations, secrets, licenses): the
	// vulnerability scan has nothing for them to ignore, so they are named to the user.
	Sections []string
}

// Active are the entries Flightline honours.
func (f IgnoreFile) Active() []IgnoreEntry {
	var out []IgnoreEntry
	for _, e := range f.Entries {
		if e.Problem == "" {
			out = append(out, e)
		}
	}
	return out
}

var entryKeys = []string{"id", "paths", "purls", "statement", "expired_at"}
var sectionKeys = []string{"vulnerabilities", "misconfigurations", "secrets", "licenses"}

// ParseIgnoreFile reads Trivy's YAML ignore file at path with Flightline's rule on top: every
// entry needs a statement (why it is acceptable) and an expired_at (when to look again). An
// entry without them, or past its expiry at now, is kept but not honoured (Problem says why),
// so the findings it would hide gate. A file that is not valid YAML of that shape fails with
// ErrIgnoreFile and "file:line: message". A missing file is an empty IgnoreFile unless
// required.
func ParseIgnoreFile(path string, required bool, now time.Time) (IgnoreFile, error) {
	f := IgnoreFile{Path: path}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading the ignore file: %w", err)
	}
	if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
		return f, fmt.Errorf("%w: %s:1: only Trivy's YAML ignore format (.trivyignore.yaml) is read: it has the statement and expired_at that every entry needs", ErrIgnoreFile, path)
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		line := 1
		if n != nil && n.Line > 0 {
			line = n.Line
		}
		return fmt.Errorf("%w: %s:%d: %s", ErrIgnoreFile, path, line, fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		var te *yaml.TypeError
		msg := err.Error()
		line := 1
		if _, err2 := fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line); err2 == nil {
			msg = msg[strings.Index(msg, ":")+1:]
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		} else if errors.As(err, &te) {
			msg = strings.Join(te.Errors, "; ")
		}
		return f, fmt.Errorf("%w: %s:%d: %s", ErrIgnoreFile, path, line, msg)
	}
	if len(doc.Content) == 0 {
		return f, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return f, bad(root, "want a mapping with a vulnerabilities: list")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !slices.Contains(sectionKeys, k.Value) {
			return f, bad(k, "unknown section %q: want one of %s", k.Value, strings.Join(sectionKeys, ", "))
		}
		if k.Value != "vulnerabilities" {
			if len(v.Content) > 0 {
				f.Sections = append(f.Sections, k.Value)
			}
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			continue
		}
		if v.Kind != yaml.SequenceNode {
			return f, bad(v, "vulnerabilities: want a list of entries (- id: CVE-…)")
		}
		for _, item := range v.Content {
			e, err := parseEntry(item, path, bad)
			if err != nil {
				return f, err
			}
			switch {
			case e.Statement == "":
				e.Problem = "no statement: say why the finding is acceptable (statement:)"
			case e.ExpiredAt.IsZero():
				e.Problem = "no expired_at: say when to look again (expired_at: YYYY-MM-DD)"
			case !now.Before(e.ExpiredAt):
				e.Problem = "expired on " + e.ExpiredAt.Format("2006-01-02") + ": the finding gates again; fix it, or renew the entry with a new statement and expired_at"
			}
			f.Entries = append(f.Entries, e)
		}
	}
	return f, nil
}

func parseEntry(item *yaml.Node, path string, bad func(*yaml.Node, string, ...any) error) (IgnoreEntry, error) {
	e := IgnoreEntry{File: path, Line: item.Line}
	if item.Kind != yaml.MappingNode {
		return e, bad(item, "an entry must be a mapping with id, statement and expired_at")
	}
	strList := func(n *yaml.Node, key string) ([]string, error) {
		if n.Kind != yaml.SequenceNode {
			return nil, bad(n, "%s: want a list of strings", key)
		}
		var out []string
		for _, s := range n.Content {
			if s.Kind != yaml.ScalarNode || s.Value == "" {
				return nil, bad(s, "%s: want non-empty strings", key)
			}
			out = append(out, s.Value)
		}
		return out, nil
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		var err error
		switch k.Value {
		case "id":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				return e, bad(v, "id: want a vulnerability ID such as CVE-2024-0001")
			}
			e.ID = strings.TrimSpace(v.Value)
		case "paths":
			if e.Paths, err = strList(v, "paths"); err != nil {
				return e, err
			}
			for _, p := range e.Paths {
				if _, err := filepath.Match(p, ""); err != nil {
					return e, bad(v, "paths: %q is not a valid glob", p)
				}
			}
		case "purls":
			if e.PURLs, err = strList(v, "purls"); err != nil {
				return e, err
			}
			for _, p := range e.PURLs {
				if !strings.HasPrefix(p, "pkg:") || !strings.Contains(p, "/") {
					return e, bad(v, "purls: %q is not a package URL (pkg:TYPE/NAMESPACE/NAME)", p)
				}
			}
		case "statement":
			if v.Kind != yaml.ScalarNode {
				return e, bad(v, "statement: want text")
			}
			e.Statement = strings.TrimSpace(v.Value)
		case "expired_at":
			t, perr := parseDate(v.Value)
			if v.Kind != yaml.ScalarNode || perr != nil {
				return e, bad(v, "expired_at: %q is not a date: want YYYY-MM-DD (or RFC 3339)", v.Value)
			}
			e.ExpiredAt = t
		default:
			return e, bad(k, "unknown key %q in an entry: want %s", k.Value, strings.Join(entryKeys, ", "))
		}
	}
	if e.ID == "" {
		return e, bad(item, "entry without id")
	}
	return e, nil
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// writeActive writes the honoured entries as a Trivy ignore file at path, for Trivy to match
// (Trivy decides which finding an entry covers: id, paths, purls).
func (f IgnoreFile) writeActive(path string) error {
	type entry struct {
		ID        string   `yaml:"id"`
		Paths     []string `yaml:"paths,omitempty"`
		PURLs     []string `yaml:"purls,omitempty"`
		Statement string   `yaml:"statement,omitempty"`
		ExpiredAt string   `yaml:"expired_at,omitempty"`
	}
	var doc struct {
		Vulnerabilities []entry `yaml:"vulnerabilities"`
	}
	for _, e := range f.Active() {
		doc.Vulnerabilities = append(doc.Vulnerabilities, entry{ID: e.ID, Paths: e.Paths, PURLs: e.PURLs, Statement: e.Statement, ExpiredAt: e.ExpiredAt.UTC().Format(time.RFC3339)})
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
