package imagepolicy_test

import (
	"errors"
	"fmt"

	"github.com/labrats-work/flightline/pkg/imagepolicy"
)

const platformFile = `# prod is pinned: a promotion is a one-line PR
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: ai-agents-api
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: ai-agents-api
  policy:
    semver:
      range: '1.4.0' # pinned by flightline
`

func ExampleSetRange() {
	ref, err := imagepolicy.ParseRef("flux-system/ai-agents-api")
	if err != nil {
		panic(err)
	}
	out, err := imagepolicy.SetRange([]byte(platformFile), ref, "1.5.0")
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// # prod is pinned: a promotion is a one-line PR
	// apiVersion: image.toolkit.fluxcd.io/v1beta2
	// kind: ImagePolicy
	// metadata:
	//   name: ai-agents-api
	//   namespace: flux-system
	// spec:
	//   imageRepositoryRef:
	//     name: ai-agents-api
	//   policy:
	//     semver:
	//       range: '1.5.0' # pinned by flightline
}

func ExampleSetRange_notFound() {
	_, err := imagepolicy.SetRange([]byte(platformFile), imagepolicy.Ref{Namespace: "apps", Name: "ai-agents-api"}, "1.5.0")
	fmt.Println(errors.Is(err, imagepolicy.ErrNotFound))
	fmt.Println(err)
	// Output:
	// true
	// not found: ImagePolicy "apps/ai-agents-api" is not in the file; it has: flux-system/ai-agents-api (line 2); did you mean "flux-system/ai-agents-api"?
}

func ExampleFind() {
	p, err := imagepolicy.Find([]byte(platformFile), imagepolicy.Ref{Namespace: "flux-system", Name: "ai-agents-api"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s at %d:%d, repository %s\n", p.Ref, p.Range, p.Line, p.Column, p.ImageRepository)
	// Output:
	// flux-system/ai-agents-api 1.4.0 at 12:14, repository flux-system/ai-agents-api
}

func ExampleSelect() {
	tags := []string{"latest", "1.4.0", "1.4.1", "v1.5.0", "1.6.0-rc.1"}
	for _, rng := range []string{"1.4.0", "~1.4.0", ">=1.4.0", ">=1.6.0-0"} {
		tag, err := imagepolicy.Select(rng, tags)
		fmt.Println(rng, "→", tag, err)
	}
	// Equal versions: Flux keeps the first one the registry listed.
	tag, _ := imagepolicy.Select("1.5.0", []string{"v1.5.0", "1.5.0"})
	fmt.Println(tag)
	// Output:
	// 1.4.0 → 1.4.0 <nil>
	// ~1.4.0 → 1.4.1 <nil>
	// >=1.4.0 → v1.5.0 <nil>
	// >=1.6.0-0 → 1.6.0-rc.1 <nil>
	// v1.5.0
}

func ExampleRangeFor() {
	exact, _ := imagepolicy.RangeFor("v1.5.0", imagepolicy.PinExact)
	patch, _ := imagepolicy.RangeFor("v1.5.0", imagepolicy.PinPatch)
	fmt.Println(exact, patch)
	// Output: 1.5.0 ~1.5.0
}

func ExampleCheckDowngrade() {
	tags := []string{"1.4.0", "1.5.0"}
	err := imagepolicy.CheckDowngrade("1.5.0", "1.4.0", tags)
	fmt.Println(errors.Is(err, imagepolicy.ErrDowngrade))
	// Output: true
}
