package lint

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Invocation is one run of a linter's program: in Dir (relative to the Repo's Dir, "." for it)
// with Args.
type Invocation struct {
	Dir  string
	Args []string
}

// Output is what one invocation produced.
type Output struct {
	Stdout, Stderr []byte
	Code           int
}

// Linter is one tool as a small value: whether it applies to a repository, how to find and
// install its pinned version, how to run it, and how to read what it prints.
type Linter struct {
	// Name is what the linters input says ("flake8").
	Name string
	// Program is the executable looked up on PATH.
	Program string
	// Pinned is the version the lint action installs on runners; Install says how to install it.
	Pinned, Install string
	// InfoURI is the tool's home page (SARIF driver informationUri).
	InfoURI string
	// About is one line for the docs and the unknown-linter error.
	About string
	// VersionArgs print the version (the first x.y[.z] in the output is taken).
	VersionArgs []string
	// Plan returns the invocations for the repository with the user's extra args, or none when
	// the linter does not apply (auto mode skips it; an explicit request reports "nothing to lint").
	Plan func(r *Repo, extra []string) []Invocation
	// OK reports whether an exit code means "ran" (with or without findings); any other code
	// is the linter's failure, reported with the tail of its stderr.
	OK func(code int) bool
	// Parse reads an invocation's output into findings, paths relative to the repository root.
	Parse func(r *Repo, inv Invocation, out Output) ([]Finding, error)
	// Replaces names linters that auto mode drops when this one applies (ruff replaces flake8).
	Replaces []string
	// Auto, when set, decides whether auto mode picks the linter even though Plan has work
	// (ruff: only when the repository configures it).
	Auto func(r *Repo) bool
}

func codes(ok ...int) func(int) bool { return func(c int) bool { return slices.Contains(ok, c) } }

var versionRE = regexp.MustCompile(`\d+\.\d+(?:\.\d+)?`)

// parseVersion takes the first version number in a tool's --version output.
func parseVersion(out string) string {
	// isort prints an ASCII-art banner; its version line says VERSION.
	if _, after, ok := strings.Cut(out, "VERSION "); ok {
		out = after
	}
	return versionRE.FindString(out)
}

// Registry is the set of linters Flightline knows, in the order they are reported.
var Registry = []*Linter{goVet, golangci, flake8, ruff, black, isort, bandit, actionlint, shellcheck, yamllint}

// Names lists the registry's names.
func Names() []string {
	var n []string
	for _, l := range Registry {
		n = append(n, l.Name)
	}
	return n
}

// Lookup returns the linter of that name; an unknown name is an error that lists the valid ones.
func Lookup(name string) (*Linter, error) {
	for _, l := range Registry {
		if l.Name == name {
			return l, nil
		}
	}
	return nil, fmt.Errorf("unknown linter %q: valid linters are %s, or auto", name, strings.Join(Names(), ", "))
}

// Select resolves the linters input: "auto" (or nothing) picks every linter that applies to the
// repository; otherwise a list of names, where "auto" may appear too (auto plus those named).
func Select(r *Repo, names []string) ([]*Linter, error) {
	if len(names) == 0 {
		names = []string{"auto"}
	}
	var picked []*Linter
	auto := false
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if n == "auto" {
			auto = true
			continue
		}
		l, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(picked, l) {
			picked = append(picked, l)
		}
	}
	if auto {
		var applies []*Linter
		for _, l := range Registry {
			if len(l.Plan(r, nil)) > 0 && (l.Auto == nil || l.Auto(r)) {
				applies = append(applies, l)
			}
		}
		for _, l := range applies {
			if slices.Contains(picked, l) {
				continue
			}
			replaced := false
			for _, o := range applies {
				if slices.Contains(o.Replaces, l.Name) {
					replaced = true
				}
			}
			if !replaced {
				picked = append(picked, l)
			}
		}
	}
	// Report in registry order whatever the input's order.
	slices.SortStableFunc(picked, func(a, b *Linter) int {
		return slices.Index(Registry, a) - slices.Index(Registry, b)
	})
	return picked, nil
}

// files builds a single invocation over files, or none when there are none.
func files(args []string, extra []string, fs []string) []Invocation {
	if len(fs) == 0 {
		return nil
	}
	a := append(append(slices.Clone(args), extra...), "--")
	return []Invocation{{Dir: ".", Args: append(a, fs...)}}
}

// perModule builds one invocation per Go module.
func perModule(r *Repo, args, extra, tail []string) []Invocation {
	var invs []Invocation
	for _, m := range r.GoModules() {
		a := append(append(slices.Clone(args), extra...), tail...)
		invs = append(invs, Invocation{Dir: m, Args: a})
	}
	return invs
}

func pythonFiles(r *Repo) []string { return r.Match("*.py", "*.pyi") }

func yamlFiles(r *Repo) []string { return r.Match("*.yml", "*.yaml") }

func workflowFiles(r *Repo) []string {
	var out []string
	for _, f := range r.Files {
		if path.Dir(f) == ".github/workflows" && (path.Ext(f) == ".yml" || path.Ext(f) == ".yaml") {
			out = append(out, f)
		}
	}
	return out
}

// ruffConfigured reports whether the repository configures ruff, the condition for auto mode to
// run it (ruff then replaces flake8).
func ruffConfigured(r *Repo) bool {
	return r.Has("ruff.toml") || r.Has(".ruff.toml") || r.Contains("pyproject.toml", "[tool.ruff")
}
