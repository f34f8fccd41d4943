package github_test

import (
	"context"
	"fmt"

	"github.com/labrats-work/flightline/pkg/forge/github"
)

// New refuses what cannot work before any request: here, a repository without its owner.
func ExampleNew() {
	_, err := github.New(context.Background(), "platform", "ghs_example",
		github.WithBaseURL("https://ghe.example.com/api/v3"), github.WithMergeMethod("squash"))
	fmt.Println(err)
	// Output: platform repository "platform": want OWNER/REPO, e.g. acme/platform
}

// A Check prints as the line doctor shows.
func ExampleCheck_String() {
	fmt.Println(github.Check{Name: "auto-merge allowed in acme/platform", Status: github.Pass})
	fmt.Println(github.Check{Name: "token can write to acme/platform", Status: github.Fail, Detail: "give the token Contents: write"})
	// Output:
	// ok    auto-merge allowed in acme/platform
	// FAIL  token can write to acme/platform: give the token Contents: write
}
