package actions

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// NoCommands returns text with every line that would start a workflow command neutralised: a
// line whose first non-blank characters are "::" gets a backslash before them, so the runner
// prints it instead of obeying it (::add-mask::, ::stop-commands::, ::error:: …). Text from
// PR bodies, branches, registries and Prometheus may be written by an outsider.
func NoCommands(text string) string {
	if !strings.Contains(text, "::") {
		return text
	}
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimLeft(line, " \t\v\f\u00a0"), "::") {
			b.WriteString("\\")
		}
		b.WriteString(line)
	}
	return b.String()
}

// guardWriter applies NoCommands to everything written through it, line by line: it holds a
// line until its end (or until it is long enough to tell), so a command split over two writes
// is caught too.
type guardWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	mid bool // the line being written has been checked and partly written already
}

func newGuardWriter(w io.Writer) *guardWriter { return &guardWriter{w: w} }

func (g *guardWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	for {
		i := bytes.IndexByte(g.buf, '\n')
		if i < 0 {
			// A partial line that already cannot start a command is written now.
			if t := bytes.TrimLeft(g.buf, " \t\v\f"); g.mid || len(t) >= 2 && !bytes.HasPrefix(t, []byte("::")) {
				if _, err := g.w.Write(g.buf); err != nil {
					return 0, err
				}
				g.buf = g.buf[:0]
				g.mid = true
			}
			return len(p), nil
		}
		line := string(g.buf[:i+1])
		if !g.mid {
			line = NoCommands(line)
		}
		g.mid = false
		if _, err := io.WriteString(g.w, line); err != nil {
			return 0, err
		}
		g.buf = g.buf[i+1:]
	}
}
