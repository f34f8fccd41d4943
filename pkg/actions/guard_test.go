package actions

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNoCommands(t *testing.T) {
	for in, want := range map[string]string{
		"plain\n":                       "plain\n",
		"::add-mask::x\n":               "\\::add-mask::x\n",
		"ok\n  ::error::boom\nafter::x": "ok\n\\  ::error::boom\nafter::x",
		"a :: b\n":                      "a :: b\n",
	} {
		assert.Equal(t, want, NoCommands(in), in)
	}
}

// Nothing the Runtime prints on stderr can start a workflow command, whatever a value holds
// and however it is split across writes.
func TestRuntime_StderrNeverStartsAWorkflowCommand(t *testing.T) {
	var out strings.Builder
	rt := New(WithStderr(&out), WithGetenv(func(string) string { return "" }))
	rt.Logf("prometheus said: %s", "bad\n::stop-commands::tok\n::set-env name=X::1")
	_, _ = rt.Stderr().Write([]byte(":"))
	_, _ = rt.Stderr().Write([]byte(":warning::split\n"))
	_, _ = rt.Stderr().Write([]byte("fine line, "))
	_, _ = rt.Stderr().Write([]byte("::still fine\n"))
	rt.Annotate(Error, "x\n::error::y", Annotation{})
	for line := range strings.Lines(out.String()) {
		assert.False(t, strings.HasPrefix(strings.TrimLeft(line, " \t"), "::"), "line %q", line)
	}
	assert.Contains(t, out.String(), "fine line, ::still fine\n")
}

func ExampleNoCommands() {
	fmt.Print(NoCommands("registry said:\n::stop-commands::x\n"))
	// Output:
	// registry said:
	// \::stop-commands::x
}
