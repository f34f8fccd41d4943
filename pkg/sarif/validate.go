package sarif

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaJSON is the SARIF 2.1.0 JSON schema (see schema/README.md for where it comes from).
//
//go:embed schema/sarif-schema-2.1.0.json
var schemaJSON []byte

const schemaURL = "sarif-schema-2.1.0.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("reading the embedded SARIF schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("loading the embedded SARIF schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("compiling the embedded SARIF schema: %w", err)
	}
	return s, nil
})

// Validate checks a SARIF log against the SARIF 2.1.0 JSON schema (formats asserted), then
// against what GitHub code scanning requires on top: version 2.1.0, at most MaxRuns runs and
// MaxResultsPerRun results per run, a ruleId on every result, and artifact URIs that are
// relative (or carry a uriBaseId). Every problem found is reported, one per line.
func Validate(data []byte) error {
	s, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("SARIF is not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("SARIF does not match the 2.1.0 schema:\n%s", strings.TrimSpace(fmt.Sprintf("%v", ve)))
		}
		return fmt.Errorf("SARIF does not match the 2.1.0 schema: %w", err)
	}
	return checkGitHub(data)
}

func checkGitHub(data []byte) error {
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name string `json:"name"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation *struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("reading SARIF: %w", err)
	}
	var problems []string
	if doc.Version != "2.1.0" {
		problems = append(problems, fmt.Sprintf("version is %q: GitHub accepts 2.1.0 only", doc.Version))
	}
	if len(doc.Runs) > MaxRuns {
		problems = append(problems, fmt.Sprintf("%d runs: GitHub accepts at most %d per file", len(doc.Runs), MaxRuns))
	}
	for i, run := range doc.Runs {
		name := run.Tool.Driver.Name
		if len(run.Results) > MaxResultsPerRun {
			problems = append(problems, fmt.Sprintf("run %d (%s): %d results, GitHub accepts at most %d", i, name, len(run.Results), MaxResultsPerRun))
		}
		for j, res := range run.Results {
			at := fmt.Sprintf("run %d (%s) result %d", i, name, j)
			if res.RuleID == "" {
				problems = append(problems, at+": no ruleId")
			}
			for _, loc := range res.Locations {
				if loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation == nil {
					continue
				}
				a := loc.PhysicalLocation.ArtifactLocation
				if a.URIBaseID == "" && (strings.HasPrefix(a.URI, "/") || strings.HasPrefix(a.URI, "file:")) {
					problems = append(problems, fmt.Sprintf("%s: absolute uri %q: GitHub needs paths relative to the repository root", at, a.URI))
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("SARIF is not what GitHub code scanning accepts:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}
