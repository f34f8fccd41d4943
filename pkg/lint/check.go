package lint

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Request is one lint run as the action and the command describe it.
type Request struct {
	// Dir is the working directory (default "."); findings are reported relative to the git
	// repository's top level that holds it (or Dir, outside git).
	Dir string
	// Linters, Args: see Options.
	Linters []string
	Args    map[string][]string
	// OnlyNew counts only findings on lines changed against the baseline (see ResolveBaseline).
	OnlyNew bool
	// BaseRef is the branch or commit to compare with; empty means from the event.
	BaseRef string
	// Event is the workflow event (zero outside Actions).
	Event  Event
	FailOn FailOn
	// Options for Run (LookPath, Env, Now); Linters and Args above win.
	Options Options
	// Warnf reports what does not stop the run (a baseline that cannot be found when only the
	// annotation order needs it).
	Warnf func(format string, args ...any)
}

// Check resolves the baseline (when only-new asks for it, or an event or base-ref gives one,
// for the annotation order), runs the linters and judges the result. An error means nothing
// was judged: a bad input, or only-new without a baseline.
func Check(ctx context.Context, req Request) (*Verdict, error) {
	if req.Dir == "" {
		req.Dir = "."
	}
	if req.Warnf == nil {
		req.Warnf = func(string, ...any) {}
	}
	if _, err := Select(&Repo{}, req.Linters); err != nil {
		return nil, fmt.Errorf("linters: %w", err)
	}
	root := gitTop(ctx, req.Dir)
	repo, err := OpenRepo(ctx, req.Dir, root)
	if err != nil {
		return nil, err
	}
	var base *Baseline
	if root != "" && (req.OnlyNew || req.BaseRef != "" || req.Event.Name != "") {
		b, err := ResolveBaseline(ctx, Git{Dir: root, Env: req.Options.Env}, req.Event, req.BaseRef)
		switch {
		case err == nil:
			base = &b
		case req.OnlyNew:
			return nil, fmt.Errorf("only-new: %w", err)
		default:
			req.Warnf("annotations in finding order: no changed lines to put first (%v)", err)
		}
	} else if req.OnlyNew {
		return nil, errors.New("only-new: the working directory is not in a git repository, so nothing can be compared")
	}
	o := req.Options
	o.Linters, o.Args = req.Linters, req.Args
	rep, err := Run(ctx, repo, o)
	if err != nil {
		return nil, err
	}
	return Judge(rep, base, req.OnlyNew, req.FailOn), nil
}

func gitTop(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return filepath.Clean(strings.TrimSpace(string(out)))
}

// ParseArgs reads the args input: one line per linter, "NAME: ARGS", the arguments split as a
// shell would split words (single and double quotes, backslash escapes; no expansion).
func ParseArgs(lines []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("args line %q: want NAME: ARGS, for example flake8: --max-line-length=100", line)
		}
		name = strings.TrimSpace(name)
		if _, err := Lookup(name); err != nil {
			return nil, fmt.Errorf("args line %q: %w", line, err)
		}
		words, err := splitWords(rest)
		if err != nil {
			return nil, fmt.Errorf("args line %q: %w", line, err)
		}
		out[name] = append(out[name], words...)
	}
	return out, nil
}

func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, c := range s {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				esc = true
			} else {
				cur.WriteRune(c)
			}
		case c == '\\':
			esc, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 || esc {
		return nil, errors.New("unterminated quote or escape")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Selected returns the linters a run in dir would start (see Select), without running them:
// the action installs just those.
func Selected(ctx context.Context, dir string, names []string) ([]*Linter, error) {
	repo, err := OpenRepo(ctx, dir, "")
	if err != nil {
		return nil, err
	}
	return Select(repo, names)
}
