package gitforge_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
)

// Propose a change as a PR on a local repository, merge it, and find it again by its body.
func ExampleForge_Propose() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "platform-")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "f.yaml"), []byte("range: 1.4.0\n"), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."},
		{"-c", "user.name=me", "-c", "user.email=me@example.com", "commit", "-q", "-m", "start"}} {
		_ = exec.Command("git", append([]string{"-C", dir}, args...)...).Run()
	}

	f, err := gitforge.Open(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	base, _ := f.Head(ctx, "main")
	pr, res, err := f.Propose(ctx, forge.Change{Base: "main", BaseSHA: base, Branch: "flightline/promote/apps/agent/1.5.0",
		Title: "promote apps/agent to 1.5.0", Body: "marker: m1", Files: map[string][]byte{"f.yaml": []byte("range: 1.5.0\n")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res, pr.URL)
	merged, err := f.Merge(ctx, pr, forge.MergeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	found, _ := f.Find(ctx, forge.Query{Base: "main", State: forge.StateMerged, Text: []string{"marker: m1"}})
	data, _ := f.ReadFile(ctx, "main", "f.yaml")
	fmt.Println(merged.State, len(found), found[0].ID() == merged.MergeSHA)
	fmt.Print(string(data))
	// Output:
	// created flightline/promote/apps/agent/1.5.0
	// merged 1 true
	// range: 1.5.0
}
