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

func ExampleSelector_Select() {
	// spec.filterTags of the policy and the ImageRepository's exclusionList, as Flux applies them.
	s, err := imagepolicy.NewSelector(imagepolicy.Ref{Namespace: "flux-system", Name: "agent"},
		&imagepolicy.TagFilter{Pattern: `^prod-v(?P<version>[0-9.]+)-[a-f0-9]{7}$`, Extract: "$version"},
		[]string{`^.*\.sig$`, `^prod-v1\.8\.0-`}, imagepolicy.DefaultRules)
	if err != nil {
		panic(err)
	}
	tags := []string{"prod-v1.7.3-1a2b3c4", "prod-v1.8.0-5d6e7f8", "1.9.0", "staging-v1.9.1-0a0b0c0", "latest"}
	tag, err := s.Select(">=1.7.0 <2.0.0", tags)
	fmt.Println(tag, err)
	fmt.Println(s.Explain("prod-v1.8.0-5d6e7f8"))
	// Output:
	// prod-v1.7.3-1a2b3c4 <nil>
	// tag not selectable by the policy: tag "prod-v1.8.0-5d6e7f8" matches the ImageRepository's exclusionList pattern "^prod-v1\\.8\\.0-", so Flux never lists it for ImagePolicy "flux-system/agent"; push a tag the exclusion list lets through or change the list
}

func ExampleRules_ParseVersion() {
	for _, rules := range []imagepolicy.Rules{imagepolicy.Flux27, imagepolicy.Flux26} {
		v, err := rules.ParseVersion("2024.01.15")
		fmt.Println(rules, v, err != nil)
	}
	// Output:
	// Flux ≥ 2.7 2024.1.15 false
	// Flux ≤ 2.6 <nil> true
}

func ExampleLoad() {
	file := `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: agent, namespace: apps}
spec:
  image: ghcr.io/acme/agent
  exclusionList: ['^.*\.sig$', 'rc']
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: agent, namespace: apps}
spec:
  imageRepositoryRef: {name: agent}
  policy: {semver: {range: '>=1.0.0-0'}}
`
	t, err := imagepolicy.Load([]byte(file), imagepolicy.Ref{Namespace: "apps", Name: "agent"}, imagepolicy.LoadOptions{})
	if err != nil {
		panic(err)
	}
	tag, _ := t.Selector.Select(t.Policy.Range, []string{"1.0.0", "1.1.0-rc.1", "1.1.0-beta.1"})
	fmt.Println(t.Image(), t.Exclusions(), tag)
	// Output: ghcr.io/acme/agent [^.*\.sig$ rc] 1.1.0-beta.1
}
