package actions

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOrder_ChangedLinesThenChangedFilesThenRest(t *testing.T) {
	cs := ChangeSet{}
	cs.Add("a.go", 3, 4)
	cs.Add("b.go") // touched, no added lines (e.g. only deletions)
	items := []Item{
		{Level: Warning, Message: "1 untouched file", Annotation: Annotation{File: "z.go", Line: 3}},
		{Level: Warning, Message: "2 changed file, unchanged line", Annotation: Annotation{File: "a.go", Line: 9}},
		{Level: Warning, Message: "3 changed line", Annotation: Annotation{File: "a.go", Line: 4}},
		{Level: Warning, Message: "4 no file", Annotation: Annotation{}},
		{Level: Warning, Message: "5 touched file", Annotation: Annotation{File: "b.go", Line: 1}},
		{Level: Warning, Message: "6 changed line", Annotation: Annotation{File: "a.go", Line: 3, Col: 2}},
		{Level: Warning, Message: "7 file-level in changed file", Annotation: Annotation{File: "a.go"}},
	}
	var got []string
	for _, it := range Order(items, cs) {
		got = append(got, it.Message[:1])
	}
	assert.Equal(t, []string{"3", "6", "2", "5", "7", "1", "4"}, got, "rank first, given order within a rank")
	assert.Equal(t, "1", items[0].Message[:1], "input untouched")

	var none []string
	for _, it := range Order(items, nil) {
		none = append(none, it.Message[:1])
	}
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7"}, none, "without a change the order is kept")
}

// The budget (10 per level per step) goes to the changed lines even when the findings on them
// come last; the rest are logged and counted in the summary.
func TestAnnotateOrdered_SpendsBudgetOnChangedLinesFirst(t *testing.T) {
	m, _, sum := actionsEnv(t, nil)
	var stdout, stderr bytes.Buffer
	r := New(WithGetenv(env(m)), WithStdout(&stdout), WithStderr(&stderr))
	cs := ChangeSet{}
	cs.Add("new.go", 1, 2, 3, 4, 5, 6)
	cs.Add("touched.go", 100)
	var items []Item
	for i := 1; i <= 12; i++ { // old code first, as a linter would list it
		items = append(items, Item{Level: Warning, Message: fmt.Sprintf("old %d", i), Annotation: Annotation{File: "old.go", Line: i}})
	}
	for i := 1; i <= 5; i++ {
		items = append(items, Item{Level: Warning, Message: fmt.Sprintf("touched %d", i), Annotation: Annotation{File: "touched.go", Line: i}})
	}
	for i := 1; i <= 6; i++ {
		items = append(items, Item{Level: Warning, Message: fmt.Sprintf("new %d", i), Annotation: Annotation{File: "new.go", Line: i}})
	}
	items = append(items, Item{Level: Error, Message: "old error", Annotation: Annotation{File: "old.go", Line: 50}})

	spent := r.AnnotateOrdered(items, cs)
	assert.Equal(t, [3]int{6, 4, 1}, spent.Shown, "6 changed lines, then 4 of 5 in the touched file; the error has its own budget")
	assert.Equal(t, [3]int{0, 1, 12}, spent.Over)
	assert.Equal(t, 11, spent.ShownTotal())
	assert.Equal(t, 13, spent.OverTotal())

	out := stdout.String()
	for i := 1; i <= 6; i++ {
		assert.Contains(t, out, fmt.Sprintf("::warning file=new.go,line=%d::new %d", i, i))
	}
	assert.Contains(t, out, "::warning file=touched.go,line=4::touched 4")
	assert.NotContains(t, out, "touched 5")
	assert.NotContains(t, out, "old 1\n")
	assert.Contains(t, out, "::error file=old.go,line=50::old error")
	assert.Contains(t, stderr.String(), "touched.go:5: warning: touched 5")
	assert.Contains(t, stderr.String(), "old.go:12: warning: old 12")

	require.NoError(t, r.WriteSummary(&Summary{}))
	assert.Contains(t, read(t, sum), "13 more warning annotation(s) were not shown as annotations")
}

func TestAnnotateOrdered_LocalPrintsAllInOrder(t *testing.T) {
	var stderr bytes.Buffer
	r := New(WithGetenv(env(nil)), WithStdout(&bytes.Buffer{}), WithStderr(&stderr))
	cs := ChangeSet{}
	cs.Add("b.py", 7)
	spent := r.AnnotateOrdered([]Item{
		{Level: Error, Message: "E1", Annotation: Annotation{File: "a.py", Line: 1, Col: 1}},
		{Level: Error, Message: "E2", Annotation: Annotation{File: "b.py", Line: 7, Col: 2}},
	}, cs)
	assert.Equal(t, "b.py:7:2: error: E2\na.py:1:1: error: E1\n", stderr.String())
	assert.Zero(t, spent.OverTotal(), "locally nothing is over budget")
	assert.Equal(t, [3]int{1, 0, 1}, spent.Shown)
	assert.Equal(t, "on changed lines", OnChangedLine.String())
	assert.True(t, strings.HasPrefix(Elsewhere.String(), "else"))
}
