package imagepolicy

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// realisticFile is the sample platform file repeated to about the size of a real
// ai-agents-image-automation.yaml with several services (ImageRepository, ImagePolicy and
// ImageUpdateAutomation per service).
func realisticFile(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/set/multidoc.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for _, svc := range []string{"api", "worker", "gateway", "indexer", "planner", "evaluator"} {
		sb.WriteString(strings.ReplaceAll(string(data), "ai-agents-api", "ai-agents-"+svc))
		sb.WriteString("---\n")
	}
	return []byte(sb.String())
}

func BenchmarkSetRange(b *testing.B) {
	data := realisticFile(b)
	ref := Ref{Namespace: "flux-system", Name: "ai-agents-planner"}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SetRange(data, ref, "~1.5.0"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	data := realisticFile(b)
	ref := Ref{Namespace: "flux-system", Name: "ai-agents-planner"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Find(data, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect picks from 1,000 tags, a quarter of them not semver (as registries with
// sha-* and latest tags have).
func BenchmarkSelect(b *testing.B) {
	tags := make([]string, 0, 1000)
	for i := range 750 {
		tags = append(tags, fmt.Sprintf("%d.%d.%d", 1+i/250, i/10%25, i%10))
	}
	for i := range 250 {
		tags = append(tags, fmt.Sprintf("sha-%07x", i*7919))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Select(">=1.0.0 <3.0.0", tags); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect_FilterTags picks from 1,000 tags through an exclusionList and a filterTags
// extraction (prod-vX.Y.Z-SHA), as a real platform's policy does.
func BenchmarkSelect_FilterTags(b *testing.B) {
	tags := make([]string, 0, 1000)
	for i := range 500 {
		tags = append(tags, fmt.Sprintf("prod-v%d.%d.%d-%07x", 1+i/250, i/10%25, i%10, i*7919))
	}
	for i := range 250 {
		tags = append(tags, fmt.Sprintf("staging-v1.%d.%d-%07x", i/10, i%10, i*31))
	}
	for i := range 250 {
		tags = append(tags, fmt.Sprintf("sha256-%07x.sig", i*7919))
	}
	s, err := NewSelector(Ref{Namespace: "flux-system", Name: "agent"},
		&TagFilter{Pattern: `^prod-v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-[a-f0-9]{7}$`, Extract: "$version"},
		[]string{`^.*\.sig$`, `^prod-v1\.8\.0-`}, DefaultRules)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Select(">=1.0.0 <3.0.0", tags); err != nil {
			b.Fatal(err)
		}
	}
}
