package marker_test

import (
	"fmt"

	"github.com/labrats-work/flightline/pkg/marker"
)

func ExampleParsePromotion() {
	body := "Promote ns/app to 1.5.0.\n\n" + `<!-- flightline:promotion {"v":1,"policy":"ns/app","file":"images.yaml","previousRange":"1.4.0","range":"1.5.0","tag":"1.5.0","digest":"sha256:ab","image":"ghcr.io/o/app","scan":"passed"} -->`
	p, err := marker.ParsePromotion(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Policy, p.PreviousRange, "->", p.Range)
	// Output: ns/app 1.4.0 -> 1.5.0
}

func ExampleRevert_String() {
	r := marker.Revert{Policy: "ns/app", File: "images.yaml", Reverts: "42", RestoredRange: "1.4.0", Trigger: marker.TriggerManual, Reason: "errors up"}
	fmt.Println(r)
	// Output: <!-- flightline:revert {"v":1,"policy":"ns/app","file":"images.yaml","reverts":"42","restoredRange":"1.4.0","trigger":"manual","reason":"errors up","checks":[]} -->
}

// Free text from a canary or a person becomes one escaped, bounded line before it reaches a
// marker, a PR body or a log.
func ExampleText() {
	fmt.Println(marker.Text("query failed:\n<!-- flightline:promotion {} -->\n::add-mask::x", 80))
	// Output: query failed: &lt;!-- flightline:promotion {} --&gt; ::add-mask::x
}
