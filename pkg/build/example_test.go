package build_test

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/labrats-work/flightline/pkg/build"
)

// A layer built from the same files at the same time always has the same digest.
func ExampleNewLayer() {
	files := []build.File{{Path: "/usr/local/bin/agent", Mode: 0o755, Data: []byte("#!/bin/true\n")}}
	a, _ := build.NewLayer(files, time.Unix(1700000000, 0), types.OCILayer)
	b, _ := build.NewLayer(files, time.Unix(1700000000, 0), types.OCILayer)
	da, _ := a.Digest()
	db, _ := b.Digest()
	fmt.Println(da == db)
	// Output: true
}

func ExampleParsePlatforms() {
	ps, err := build.ParsePlatforms("linux/amd64,linux/arm64")
	fmt.Println(ps, err)
	// Output: [linux/amd64 linux/arm64] <nil>
}

// Build ./examples/agent for two platforms on a distroless base; the result is a v1.ImageIndex
// that pkg/publish pushes.
func ExampleNewGo() {
	b := build.NewGo(".", "./examples/agent",
		build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"}),
		build.WithBase("gcr.io/distroless/static:nonroot"),
		build.WithVersion("1.4.0"),
		build.WithExposedPorts("8080"))
	art, err := b.Build(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	_, isIndex := art.(v1.ImageIndex)
	fmt.Println(isIndex)
}
