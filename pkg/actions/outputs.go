package actions

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// SetOutput sets a step output. In Actions it appends to the GITHUB_OUTPUT file, always in the
// heredoc form with a fresh random delimiter that the value does not contain, so no value can end
// the block early and forge other outputs. Locally (no GITHUB_OUTPUT) it prints name=value on
// stdout, or a name<<DELIM block for a multi-line value.
func (r *Runtime) SetOutput(name, value string) error {
	if !outputName.MatchString(name) {
		return fmt.Errorf("output name %q: use letters, digits, '-' and '_', starting with a letter or '_'", name)
	}
	value = r.Redact(value)
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		if !strings.ContainsAny(value, "\r\n") {
			_, err := fmt.Fprintf(r.stdout, "%s=%s\n", name, value)
			return err
		}
		block, err := r.heredoc(name, value)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(r.stdout, block)
		return err
	}
	block, err := r.heredoc(name, value)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening GITHUB_OUTPUT to set output %q: %w", name, err)
	}
	if _, err := f.WriteString(block); err != nil {
		f.Close()
		return fmt.Errorf("writing output %q to GITHUB_OUTPUT: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing output %q to GITHUB_OUTPUT: %w", name, err)
	}
	return nil
}

// SetOutputs sets several outputs in order; see SetOutput.
func (r *Runtime) SetOutputs(pairs ...[2]string) error {
	for _, p := range pairs {
		if err := r.SetOutput(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runtime) heredoc(name, value string) (string, error) {
	for {
		h, err := r.randomHex(16)
		if err != nil {
			return "", err
		}
		delim := "ghadelimiter_" + h
		if strings.Contains(name, delim) || strings.Contains(value, delim) {
			continue // astronomically unlikely; never write a block the value could close
		}
		return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
	}
}

// ParseOutputs reads outputs in the GITHUB_OUTPUT file format (name=value lines and name<<DELIM
// blocks), as SetOutput writes them in both modes. Tests and scripts use it.
func ParseOutputs(text string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if n, delim, ok := strings.Cut(line, "<<"); ok && outputName.MatchString(n) && (!strings.Contains(n, "=")) {
			var val []string
			closed := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					closed = true
					break
				}
				val = append(val, lines[i])
			}
			if !closed {
				return nil, fmt.Errorf("output %q: delimiter %q never closes the block", n, delim)
			}
			out[n] = strings.Join(val, "\n")
			continue
		}
		n, v, ok := strings.Cut(line, "=")
		if !ok || !outputName.MatchString(n) {
			return nil, fmt.Errorf("line %d: %q is neither name=value nor name<<DELIM", i+1, line)
		}
		out[n] = v
	}
	return out, nil
}
