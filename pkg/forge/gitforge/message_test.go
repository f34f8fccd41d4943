package gitforge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzMessage checks that a PR written as a commit message reads back as written: title, body
// and labels survive whatever the body holds.
func FuzzMessage(f *testing.F) {
	f.Add("promote a/b to 1.5.0", "body\n\n<!-- flightline:promotion {} -->", "promotion")
	f.Add("t", "Label: fake\nBase: x", "")
	f.Add("t", "", "a")
	f.Add("t", "para\n\n\n\nBranch: y", "b")
	f.Fuzz(func(t *testing.T, title, body, label string) {
		title = strings.TrimSpace(title)
		label = strings.TrimSpace(label)
		if title == "" || strings.ContainsAny(title, "\r\n") || strings.ContainsAny(label, "\r\n") {
			t.Skip("titles and labels are single lines (Propose refuses others)")
		}
		var labels []string
		if label != "" {
			labels = []string{label}
		}
		p := parseMessage(message(title, body, prTrailers("main", "flightline/x", labels)))
		require.Equal(t, title, p.title)
		require.Equal(t, "main", p.base)
		require.Equal(t, "flightline/x", p.branch)
		require.Equal(t, len(labels), len(p.labels))
		require.Equal(t, normalise(body), normalise(p.body))
	})
}

func normalise(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
