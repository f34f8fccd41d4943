package testreport_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/labrats-work/flightline/pkg/testreport"
)

// Read a recorded go test -json stream and list the failures where they happened.
func ExampleRead() {
	dir, _ := filepath.Abs("testdata")
	loc := testreport.NewLocator(dir, filepath.Join(dir, "gofixture"))
	rep, err := testreport.Read(context.Background(), []string{"../go/fail.jsonl"}, loc)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range rep.Failed() {
		fmt.Printf("%s:%d: %s failed\n", t.File, t.Line, t.Name)
	}
	ok, reasons := rep.Verdict(false)
	fmt.Println(ok, reasons)
	// Output:
	// gofixture/fail/fail_test.go:8: TestAdd failed
	// gofixture/fail/fail_test.go:19: TestTable/negative failed
	// false [2 test(s) failed]
}
