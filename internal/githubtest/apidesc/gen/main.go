// Command gen writes the subset of GitHub's published API descriptions that package apidesc
// embeds: the REST operations the forge and the emulator use, with every component they
// reference (descriptions and examples dropped), and the whole GraphQL schema without its
// descriptions. Both gzipped.
//
//	npm pack @octokit/openapi@23.0.2 @octokit/graphql-schema@15.26.1   # in a scratch directory
//	tar xzf octokit-openapi-23.0.2.tgz -C openapi && tar xzf octokit-graphql-schema-15.26.1.tgz -C graphql
//	go run ./internal/githubtest/apidesc/gen -openapi openapi/package -graphql graphql/package
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// operations: every REST operation Flightline sends or the emulator answers, and those the
// flows are likely to need next (reading commits, comparing, the token's identity).
var operations = []string{
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/git/ref/{ref}",
	"POST /repos/{owner}/{repo}/git/refs",
	"PATCH /repos/{owner}/{repo}/git/refs/{ref}",
	"DELETE /repos/{owner}/{repo}/git/refs/{ref}",
	"GET /repos/{owner}/{repo}/git/commits/{commit_sha}",
	"GET /repos/{owner}/{repo}/contents/{path}",
	"GET /repos/{owner}/{repo}/commits",
	"GET /repos/{owner}/{repo}/commits/{ref}",
	"GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
	"GET /repos/{owner}/{repo}/compare/{basehead}",
	"GET /repos/{owner}/{repo}/pulls",
	"POST /repos/{owner}/{repo}/pulls",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}",
	"PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/commits",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/labels",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
	"GET /repos/{owner}/{repo}/labels/{name}",
	"POST /repos/{owner}/{repo}/labels",
	"GET /repos/{owner}/{repo}/actions/permissions/workflow",
	"GET /repos/{owner}/{repo}/collaborators/{username}/permission",
	"GET /repos/{owner}/{repo}/rules/branches/{branch}",
	"GET /user",
	"GET /rate_limit",
}

func main() {
	openapiDir := flag.String("openapi", "", "the unpacked @octokit/openapi package (its package/ directory)")
	graphqlDir := flag.String("graphql", "", "the unpacked @octokit/graphql-schema package (its package/ directory)")
	out := flag.String("out", "internal/githubtest/apidesc/data", "output directory")
	flag.Parse()
	if *openapiDir == "" || *graphqlDir == "" {
		log.Fatal("give -openapi and -graphql")
	}
	if err := rest(filepath.Join(*openapiDir, "generated", "api.github.com.json"), filepath.Join(*out, "rest.json.gz")); err != nil {
		log.Fatal(err)
	}
	if err := graphql(filepath.Join(*graphqlDir, "schema.graphql"), filepath.Join(*out, "schema.graphql.gz")); err != nil {
		log.Fatal(err)
	}
}

func rest(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	paths := doc["paths"].(map[string]any)
	comps := doc["components"].(map[string]any)
	keptPaths := map[string]any{}
	for _, op := range operations {
		method, path, _ := strings.Cut(op, " ")
		item, ok := paths[path].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: no such path in the description", op)
		}
		o, ok := item[strings.ToLower(method)]
		if !ok {
			return fmt.Errorf("%s: no such method in the description", op)
		}
		kp, _ := keptPaths[path].(map[string]any)
		if kp == nil {
			kp = map[string]any{}
			keptPaths[path] = kp
		}
		kp[strings.ToLower(method)] = strip(o)
	}
	// The closure of $refs.
	kept := map[string]map[string]any{}
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(r, "#/components/"), "/")
				if len(parts) != 2 {
					log.Fatalf("unexpected $ref %q", r)
				}
				kind, name := parts[0], strings.ReplaceAll(strings.ReplaceAll(parts[1], "~1", "/"), "~0", "~")
				if kept[kind] == nil {
					kept[kind] = map[string]any{}
				}
				if _, done := kept[kind][parts[1]]; !done {
					c := strip(comps[kind].(map[string]any)[name])
					kept[kind][parts[1]] = c
					visit(c)
				}
			}
			for _, e := range x {
				visit(e)
			}
		case []any:
			for _, e := range x {
				visit(e)
			}
		}
	}
	visit(keptPaths)
	components := map[string]any{}
	for k, v := range kept {
		components[k] = v
	}
	info := doc["info"].(map[string]any)
	sub := map[string]any{"openapi": doc["openapi"], "info": map[string]any{"title": info["title"], "version": info["version"],
		"license": info["license"], "x-subset": "the operations listed in internal/githubtest/apidesc/gen, with the components they reference; descriptions and examples dropped"},
		"paths": keptPaths, "components": components}
	b, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	return writeGz(out, b)
}

// strip drops what validation does not read: descriptions, summaries, examples and the
// vendor extensions (a property named "description" is kept: it is a schema).
func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch {
			case k == "examples" || k == "example" || k == "summary" || k == "externalDocs" || strings.HasPrefix(k, "x-"):
				continue
			case k == "description":
				if _, isString := e.(string); isString {
					continue
				}
			case k == "properties":
				props := map[string]any{}
				for name, p := range e.(map[string]any) {
					props[name] = strip(p)
				}
				out[k] = props
				continue
			}
			out[k] = strip(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = strip(e)
		}
		return out
	}
	return v
}

func graphql(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	doc, gerr := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: "schema.graphql", Input: string(raw)})
	if gerr != nil {
		return gerr
	}
	// schema.graphql 15.26.1 defines a few fields twice (EnterpriseOwnerInfo's
	// repositoryDeployKeySetting…), which the GraphQL spec forbids: keep the first.
	for _, d := range doc.Definitions {
		seen := map[string]bool{}
		var fields ast.FieldList
		for _, f := range d.Fields {
			if seen[f.Name] {
				fmt.Printf("dropped the second definition of %s.%s\n", d.Name, f.Name)
				continue
			}
			seen[f.Name] = true
			fields = append(fields, f)
		}
		d.Fields = fields
	}
	schema, gerr := validator.ValidateSchemaDocument(doc)
	if gerr != nil {
		return gerr
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithoutDescription(), formatter.WithIndent("  ")).FormatSchema(schema)
	// Deterministic: the formatter walks maps; sort the type blocks.
	blocks := strings.Split(strings.TrimSpace(buf.String()), "\n\n")
	sort.Strings(blocks)
	return writeGz(out, []byte("# @octokit/graphql-schema 15.26.1 schema.graphql, descriptions removed (MIT, see LICENSE-graphql-schema)\n"+strings.Join(blocks, "\n\n")+"\n"))
}

func writeGz(path string, b []byte) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes (%d uncompressed)\n", path, buf.Len(), len(b))
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
