package publish_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/labrats-work/flightline/pkg/publish"
)

// Push an image twice: the second time every layer is already present and nothing is sent.
func ExampleRegistry_Publish() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, _ := random.Image(1024, 2)

	p, _ := publish.NewRegistry(strings.TrimPrefix(srv.URL, "http://") + "/acme/agent")
	for range 2 {
		rep, err := p.Publish(context.Background(), img, []string{"1.0.0"})
		if err != nil {
			fmt.Println(err)
			return
		}
		sent, present := rep.Uploaded()
		fmt.Printf("uploaded %d, present %d, tags %v\n", sent, present, rep.Tags)
	}
	// Output:
	// uploaded 2, present 0, tags [1.0.0]
	// uploaded 0, present 2, tags [1.0.0]
}

// Without a registry (push: false), write an OCI layout directory.
func ExampleNewLayout() {
	dir, _ := os.MkdirTemp("", "flightline-layout-")
	defer os.RemoveAll(dir)
	img, _ := random.Image(512, 1)
	rep, err := publish.NewLayout(dir).Publish(context.Background(), img, []string{"dev"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Pushed, rep.Images[0].Layers[0].Status)
	// Output: false written
}
