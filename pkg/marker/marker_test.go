package marker_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/marker"
)

var promo = marker.Promotion{
	V: 1, Policy: "ai-agents-platform/ai-agents-prod", File: "ai-agents-image-automation.yaml",
	PreviousRange: "1.4.0", Range: "1.5.0", Tag: "v1.5.0",
	Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	Image:  "ghcr.io/labrats-work/ai-agents", Scan: "passed",
}

func TestPromotionString_ExactFormat(t *testing.T) {
	want := `<!-- flightline:promotion {"v":1,"policy":"ai-agents-platform/ai-agents-prod","file":"ai-agents-image-automation.yaml","previousRange":"1.4.0","range":"1.5.0","tag":"v1.5.0","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","image":"ghcr.io/labrats-work/ai-agents","scan":"passed"} -->`
	assert.Equal(t, want, promo.String())
}

func TestRevertString_ExactFormat(t *testing.T) {
	r := marker.Revert{Policy: "ns/name", File: "f.yaml", Reverts: "42", RestoredRange: ">=1.4.0 <1.5.0",
		Trigger: "canary", Reason: "error rate --> 5% & <rising>\nsecond line", Checks: []string{"request-success-rate"}}
	want := `<!-- flightline:revert {"v":1,"policy":"ns/name","file":"f.yaml","reverts":"42","restoredRange":"\u003e=1.4.0 \u003c1.5.0","trigger":"canary","reason":"error rate --\u003e 5% \u0026 \u003crising\u003e\nsecond line","checks":["request-success-rate"]} -->`
	got := r.String()
	assert.Equal(t, want, got)
	assert.NotContains(t, got, "\n", "a marker is one line")
	back, err := marker.ParseRevert("body\n\n" + got + "\n")
	require.NoError(t, err)
	r.V = 1
	assert.Equal(t, r, back)

	manual := marker.Revert{Policy: "ns/name", Reverts: "abc", RestoredRange: "1.4.0", Trigger: "manual"}
	assert.Contains(t, manual.String(), `"checks":[]`)
}

func TestParsePromotion(t *testing.T) {
	line := promo.String()
	tests := []struct {
		name    string
		text    string
		wantErr error
		errText string
	}{
		{name: "alone", text: line},
		{name: "in a PR body with CRLF", text: "Promote it.\r\n\r\n" + line + "\r\nLabel: x\r\n"},
		{name: "indented", text: "  " + line + "  \n"},
		{name: "same marker twice (merge commit repeating the body)", text: line + "\n\n" + line},
		{name: "none", text: "just a PR", wantErr: marker.ErrNotFound},
		{name: "revert marker only", text: marker.Revert{Policy: "a/b", Reverts: "1", RestoredRange: "1.0.0", Trigger: "manual"}.String(), wantErr: marker.ErrNotFound},
		{name: "two different", text: line + "\n" + strings.Replace(line, "1.5.0", "1.6.0", 1), wantErr: marker.ErrAmbiguous},
		{name: "unterminated", text: `<!-- flightline:promotion {"v":1}`, wantErr: marker.ErrInvalid, errText: "does not end"},
		{name: "bad json", text: `<!-- flightline:promotion {"v":1, -->`, wantErr: marker.ErrInvalid},
		{name: "trailing data", text: `<!-- flightline:promotion {"v":1} {} -->`, wantErr: marker.ErrInvalid, errText: "trailing"},
		{name: "version 2", text: strings.Replace(line, `"v":1`, `"v":2`, 1), wantErr: marker.ErrInvalid, errText: "version 2"},
		{name: "missing tag", text: strings.Replace(line, `"tag":"v1.5.0"`, `"tag":""`, 1), wantErr: marker.ErrInvalid, errText: "lacks tag"},
		{name: "bad policy", text: strings.Replace(line, `ai-agents-platform/ai-agents-prod`, `/prod`, 1), wantErr: marker.ErrInvalid, errText: "NAMESPACE/NAME"},
		{name: "bad scan", text: strings.Replace(line, `"scan":"passed"`, `"scan":"green"`, 1), wantErr: marker.ErrInvalid, errText: `"green"`},
		{name: "unknown field ignored", text: strings.Replace(line, `"v":1,`, `"v":1,"future":true,`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marker.ParsePromotion(tt.text)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), tt.errText)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, promo, got)
		})
	}
}

func TestParseRevert_Errors(t *testing.T) {
	ok := marker.Revert{Policy: "a/b", Reverts: "1", RestoredRange: "1.0.0", Trigger: "manual"}
	tests := []struct {
		name    string
		r       marker.Revert
		errText string
	}{
		{"no reverts", marker.Revert{Policy: "a/b", RestoredRange: "1.0.0", Trigger: "manual"}, "lacks reverts"},
		{"bad trigger", marker.Revert{Policy: "a/b", Reverts: "1", RestoredRange: "1.0.0", Trigger: "cron"}, `"cron"`},
		{"no range", marker.Revert{Policy: "a/b", Reverts: "1", Trigger: "manual"}, "restoredRange"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := marker.ParseRevert(tt.r.String())
			require.ErrorIs(t, err, marker.ErrInvalid)
			assert.Contains(t, err.Error(), tt.errText)
		})
	}
	got, err := marker.ParseRevert(ok.String())
	require.NoError(t, err)
	assert.Equal(t, []string{}, got.Checks)
}

func TestHas(t *testing.T) {
	assert.True(t, marker.Has("x\n"+promo.String(), marker.KindPromotion))
	assert.False(t, marker.Has("x\n"+promo.String(), marker.KindRevert))
}

func TestText_OneBoundedEscapedLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain reason", "plain reason"},
		{"a\nb\r\n\tc", "a b c"},
		{"<!-- flightline:promotion {} -->", "&lt;!-- flightline:promotion {} --&gt;"},
		{"::add-mask::x", `\::add-mask::x`},
		{"\n  ::error::x", `\::error::x`},
		{"abcdef", "abc…"},
		{"Get \"https://user:s3cret@prom.example/api\": 500", "Get \"https://***@prom.example/api\": 500"},
	} {
		max := 0
		if tt.in == "abcdef" {
			max = 3
		}
		assert.Equal(t, tt.want, marker.Text(tt.in, max), tt.in)
	}
}

func FuzzText(f *testing.F) {
	f.Add("reason\n<!-- flightline:revert {} -->\n::stop-commands::x", 50)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max % 1000
		out := marker.Text(s, max)
		if strings.ContainsAny(out, "\r\n<>") {
			t.Fatalf("Text(%q) = %q: not one escaped line", s, out)
		}
		if strings.HasPrefix(out, "::") {
			t.Fatalf("Text(%q) = %q starts a workflow command", s, out)
		}
		if _, err := marker.ParsePromotion("x\n" + out + "\n"); err == nil {
			t.Fatalf("Text(%q) = %q holds a marker", s, out)
		}
	})
}
