package actions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
)

// InputPrefix is the environment prefix under which the binary reads action inputs: each
// composite action maps input x-y to FLIGHTLINE_INPUT_X_Y through env:. GitHub gives composite
// actions no INPUT_* variables (act does), so INPUT_* is never read.
const InputPrefix = "FLIGHTLINE_INPUT_"

// Runtime is the link between a command and the GitHub Actions runner, or, outside Actions,
// the terminal. It is safe for concurrent use.
type Runtime struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	random io.Reader
	gha    *githubactions.Action

	mu          sync.Mutex
	secrets     []string
	annotations map[Level]int // issued per level, including those over the budget
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithGetenv sets how the environment is read. Default: os.Getenv.
func WithGetenv(getenv func(string) string) Option { return func(r *Runtime) { r.getenv = getenv } }

// WithStdout sets where workflow commands (in Actions) or outputs (locally) are written.
// Default: os.Stdout.
func WithStdout(w io.Writer) Option { return func(r *Runtime) { r.stdout = w } }

// WithStderr sets where logs, and locally the summary and annotations, are written.
// Default: os.Stderr. Whatever the Runtime writes there goes through NoCommands: no line it
// prints can start a workflow command.
func WithStderr(w io.Writer) Option { return func(r *Runtime) { r.stderr = w } }

// WithRandom sets the source of heredoc delimiters. Default: crypto/rand.
func WithRandom(rd io.Reader) Option { return func(r *Runtime) { r.random = rd } }

// New returns a Runtime; see the options for the defaults.
func New(opts ...Option) *Runtime {
	r := &Runtime{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr, random: rand.Reader,
		annotations: map[Level]int{}}
	for _, o := range opts {
		o(r)
	}
	r.stderr = newGuardWriter(r.stderr)
	r.gha = githubactions.New(githubactions.WithWriter(r.stdout), githubactions.WithGetenv(r.getenv))
	return r
}

// Getenv reads the environment the Runtime was given.
func (r *Runtime) Getenv(key string) string { return r.getenv(key) }

// InActions reports whether the command runs inside a GitHub Actions job (GITHUB_ACTIONS=true).
func (r *Runtime) InActions() bool { return r.getenv("GITHUB_ACTIONS") == "true" }

// Stderr is the writer for human-readable logs (guarded: see NoCommands).
func (r *Runtime) Stderr() io.Writer { return r.stderr }

// Logf writes one log line to stderr, with secrets masked.
func (r *Runtime) Logf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	fmt.Fprintln(r.stderr, strings.TrimRight(msg, "\n"))
}

// Mask registers a secret: the runner hides it in logs (::add-mask::), and Redact replaces it
// with *** in everything this Runtime prints. Empty and very short values are ignored (masking
// "a" would mangle every log).
func (r *Runtime) Mask(secret string) {
	secret = strings.TrimSpace(secret)
	if len(secret) < 4 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if s == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	if r.InActions() {
		r.gha.AddMask(secret)
	}
}

// Redact returns s with every masked secret replaced by ***.
func (r *Runtime) Redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

func (r *Runtime) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r.random, b); err != nil {
		return "", fmt.Errorf("reading random bytes for a delimiter: %w", err)
	}
	return hex.EncodeToString(b), nil
}
