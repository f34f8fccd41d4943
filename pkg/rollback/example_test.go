package rollback_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/labrats-work/flightline/pkg/forge/gitforge"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/rollback"
)

const policyFile = `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: agent, namespace: apps}
spec:
  image: IMAGE
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: agent, namespace: apps}
spec:
  imageRepositoryRef: {name: agent}
  policy:
    semver:
      range: 1.4.0
`

// Promote 1.5.0 and merge it, then roll it back: the revert restores the exact pin 1.4.0.
func ExampleRun() {
	ctx := context.Background()
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/agent"
	for _, tag := range []string{"1.4.0", "1.5.0"} {
		img, _ := random.Image(128, 1)
		ref, _ := name.NewTag(image + ":" + tag)
		if err := remote.Write(ref, img); err != nil {
			fmt.Println(err)
			return
		}
	}

	dir, _ := os.MkdirTemp("", "platform-")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "images.yaml"), []byte(strings.Replace(policyFile, "IMAGE", image, 1)), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."},
		{"-c", "user.name=me", "-c", "user.email=me@example.com", "commit", "-q", "-m", "platform"}} {
		if err := exec.Command("git", append([]string{"-C", dir}, args...)...).Run(); err != nil {
			fmt.Println(err)
			return
		}
	}

	f, err := gitforge.Open(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	tags := registry.New(registry.WithGetenv(func(string) string { return "" }))
	if _, err := promote.Run(ctx, f, tags, promote.Request{Policy: "apps/agent", Version: "1.5.0", File: "images.yaml", Merge: promote.MergeNow}); err != nil {
		fmt.Println(err)
		return
	}
	res, err := rollback.Run(ctx, f, tags, rollback.Request{Policy: "apps/agent", Reason: "error rate over 1%", Merge: promote.MergeNow})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Operation, res.Revert.Title)
	fmt.Println("restored", res.RestoredRange, "tag", res.RestoredTag, "exact:", res.Exact, "verified:", res.Verified)
	// Output:
	// reverted Revert "promote apps/agent to 1.5.0"
	// restored 1.4.0 tag 1.4.0 exact: true verified: true
}
