package lint_test

import (
	"fmt"

	"github.com/labrats-work/flightline/pkg/lint"
)

func ExampleFinding_String() {
	f := lint.Finding{File: "app/main.py", Line: 8, Col: 12, Rule: "F821", Severity: lint.SevError,
		Message: "undefined name 'undefined_name'", Tool: "flake8"}
	fmt.Println(f)
	// Output: app/main.py:8:12: error: undefined name 'undefined_name' [flake8 F821]
}

func ExampleParseArgs() {
	args, err := lint.ParseArgs([]string{"flake8: --max-line-length=100 --extend-ignore 'E203,W503'"})
	fmt.Println(args["flake8"], err)
	// Output: [--max-line-length=100 --extend-ignore E203,W503] <nil>
}

func ExampleLookup() {
	_, err := lint.Lookup("pylint")
	fmt.Println(err)
	// Output: unknown linter "pylint": valid linters are go-vet, golangci-lint, flake8, ruff, black, isort, bandit, actionlint, shellcheck, yamllint, or auto
}
