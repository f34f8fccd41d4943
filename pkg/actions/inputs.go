package actions

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// EnvName returns the environment variable that carries input name: "dry-run" →
// FLIGHTLINE_INPUT_DRY_RUN.
func EnvName(input string) string {
	return InputPrefix + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
}

// InputError says which input had which bad value and how to fix it.
type InputError struct {
	Input string // the input (and flag) name
	Value string
	Want  string // what a valid value looks like
	Err   error
}

func (e *InputError) Error() string {
	msg := fmt.Sprintf("input %q (flag --%s, env %s): invalid value %q", e.Input, e.Input, EnvName(e.Input), e.Value)
	if e.Want != "" {
		msg += ": want " + e.Want
	}
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *InputError) Unwrap() error { return e.Err }

// Inputs reads action inputs from FLIGHTLINE_INPUT_<NAME> variables. Values are trimmed of
// surrounding white space; an empty value means "not given".
type Inputs struct{ getenv func(string) string }

// NewInputs returns Inputs over getenv.
func NewInputs(getenv func(string) string) Inputs { return Inputs{getenv: getenv} }

// Inputs returns the Runtime's inputs.
func (r *Runtime) Inputs() Inputs { return NewInputs(r.getenv) }

// Get returns the input's value, or "" when it is not given.
func (in Inputs) Get(name string) string { return strings.TrimSpace(in.getenv(EnvName(name))) }

// Required returns the input's value, or an error naming the input when it is not given.
func (in Inputs) Required(name string) (string, error) {
	v := in.Get(name)
	if v == "" {
		return "", missing(name)
	}
	return v, nil
}

func missing(name string) error {
	return fmt.Errorf("missing required input %q: set it in the action's with: (env %s) or pass --%s", name, EnvName(name), name)
}

// Bool parses the input as a YAML 1.2 core boolean, as GitHub's toolkit does: true, True,
// TRUE, false, False or FALSE. Absent: def.
func (in Inputs) Bool(name string, def bool) (bool, error) {
	v := in.Get(name)
	if v == "" {
		return def, nil
	}
	b, ok := parseBool(v)
	if !ok {
		return false, &InputError{Input: name, Value: v, Want: "true or false"}
	}
	return b, nil
}

func parseBool(v string) (bool, bool) {
	switch v {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// Int parses the input as a decimal integer. Absent: def.
func (in Inputs) Int(name string, def int) (int, error) {
	v := in.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &InputError{Input: name, Value: v, Want: "a whole number such as 5"}
	}
	return n, nil
}

// Duration parses the input as a Go duration (90s, 5m, 1h30m). Absent: def.
func (in Inputs) Duration(name string, def time.Duration) (time.Duration, error) {
	v := in.Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &InputError{Input: name, Value: v, Want: "a duration such as 90s, 5m or 1h30m"}
	}
	return d, nil
}

// List splits the input on commas and newlines, trimming each item and dropping empty ones.
func (in Inputs) List(name string) []string {
	return split(in.Get(name), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}

// Lines splits the input on newlines only, for items that contain commas (tag rules).
func (in Inputs) Lines(name string) []string {
	return split(in.Get(name), func(r rune) bool { return r == '\n' || r == '\r' })
}

func split(v string, sep func(rune) bool) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// BindFlags makes flags and inputs two faces of one options struct: every flag of cmd that was
// not given on the command line takes its value from FLIGHTLINE_INPUT_<NAME>, parsed by the
// flag's type (bool: GitHub's booleans; int; duration; stringSlice: comma or newline list;
// stringArray: one item per line). Flags marked required (cobra.MarkFlagRequired) that are
// still unset give an error naming both the input and the flag.
func BindFlags(cmd *cobra.Command, in Inputs) error {
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v := in.Get(f.Name)
		if v == "" {
			if req, ok := f.Annotations[cobra.BashCompOneRequiredFlag]; ok && len(req) > 0 && req[0] == "true" {
				errs = append(errs, missing(f.Name))
			}
			return
		}
		if err := setFlag(cmd.Flags(), f, in); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, in Inputs) error {
	v := in.Get(f.Name)
	switch f.Value.Type() {
	case "bool":
		b, err := in.Bool(f.Name, false)
		if err != nil {
			return err
		}
		return fs.Set(f.Name, strconv.FormatBool(b))
	case "int", "int64":
		n, err := in.Int(f.Name, 0)
		if err != nil {
			return err
		}
		return fs.Set(f.Name, strconv.Itoa(n))
	case "duration":
		d, err := in.Duration(f.Name, 0)
		if err != nil {
			return err
		}
		return fs.Set(f.Name, d.String())
	case "stringSlice", "stringArray":
		items := in.List(f.Name)
		if f.Value.Type() == "stringArray" {
			items = in.Lines(f.Name)
		}
		sv, ok := f.Value.(pflag.SliceValue)
		if !ok {
			return fmt.Errorf("flag --%s: list type without SliceValue", f.Name)
		}
		if err := sv.Replace(items); err != nil {
			return &InputError{Input: f.Name, Value: v, Err: err}
		}
		f.Changed = true
		return nil
	default:
		if err := fs.Set(f.Name, v); err != nil {
			return &InputError{Input: f.Name, Value: v, Err: err}
		}
		return nil
	}
}
