package marker_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/marker"
)

// FuzzParse checks that the parsers never panic and that whatever they accept formats back to a
// marker that parses to the same value (the writer and the reader agree).
func FuzzParse(f *testing.F) {
	f.Add(promo.String())
	f.Add("body\r\n" + promo.String() + "\r\n")
	f.Add(marker.Revert{Policy: "a/b", Reverts: "1", RestoredRange: "1.0.0", Trigger: "canary", Reason: "-->", Checks: []string{"x"}}.String())
	f.Add(`<!-- flightline:promotion {"v":1} -->`)
	f.Add(`<!-- flightline:revert {"v":1,"checks":null} -->`)
	f.Add("<!-- flightline:promotion  -->")
	f.Fuzz(func(t *testing.T, text string) {
		if p, err := marker.ParsePromotion(text); err == nil {
			back, err := marker.ParsePromotion(p.String())
			require.NoError(t, err)
			require.Equal(t, p, back)
		}
		if r, err := marker.ParseRevert(text); err == nil {
			back, err := marker.ParseRevert(r.String())
			require.NoError(t, err)
			require.Equal(t, r, back)
		}
	})
}
