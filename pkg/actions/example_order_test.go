package actions_test

import (
	"fmt"

	"github.com/labrats-work/flightline/pkg/actions"
)

func ExampleOrder() {
	changed := actions.ChangeSet{}
	changed.Add("new.go", 7)
	changed.Add("touched.go")
	items := []actions.Item{
		{Level: actions.Error, Message: "old", Annotation: actions.Annotation{File: "old.go", Line: 1}},
		{Level: actions.Error, Message: "touched", Annotation: actions.Annotation{File: "touched.go", Line: 3}},
		{Level: actions.Error, Message: "new", Annotation: actions.Annotation{File: "new.go", Line: 7}},
	}
	for _, it := range actions.Order(items, changed) {
		fmt.Println(it.Message, actions.RankOf(it.Annotation, changed))
	}
	// Output:
	// new on changed lines
	// touched in changed files
	// old elsewhere
}
