package promote_test

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

// Promote version 1.5.0 of apps/agent in a local platform repository, checked against an
// in-process registry.
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
	res, err := promote.Run(ctx, f, registry.New(registry.WithGetenv(func(string) string { return "" })),
		promote.Request{Policy: "apps/agent", Version: "1.5.0", File: "images.yaml"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Operation, res.PR.Title)
	fmt.Println(res.PreviousRange, "->", res.Range, "on", res.PR.Branch)
	// Output:
	// created promote apps/agent to 1.5.0
	// 1.4.0 -> 1.5.0 on flightline/promote/apps/agent/1.5.0
}
