package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/registry"
)

func newImagePolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "imagepolicy",
		Short: "Read, edit and resolve the semver range of a Flux ImagePolicy",
		Long: `Work on one Flux ImagePolicy (image.toolkit.fluxcd.io/v1, v1beta2, or v1beta1 with a warning) in
a multi-document YAML file (items of a kind: List included), identified by --policy NS/NAME
(NAME alone for a policy without metadata.namespace).
Useful locally and in pre-commit hooks.`,
	}
	cmd.AddCommand(newImagePolicyGetCmd(a), newImagePolicySetCmd(a), newImagePolicyResolveCmd(a))
	return cmd
}

// policyFlag adds the required --policy flag.
func policyFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "policy", "", "the ImagePolicy as NS/NAME (required)")
	_ = cmd.MarkFlagRequired("policy")
}

// readPolicyFile reads FILE and the ref; errors name the file.
func readPolicyFile(file, policy string) ([]byte, imagepolicy.Ref, error) {
	ref, err := imagepolicy.ParseRef(policy)
	if err != nil {
		return nil, ref, fmt.Errorf("--policy: %w", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, ref, fmt.Errorf("reading %s: %w", file, err)
	}
	return data, ref, nil
}

func newImagePolicyGetCmd(a *app) *cobra.Command {
	var policy string
	cmd := &cobra.Command{
		Use:   "get FILE --policy NS/NAME",
		Short: "Print the policy's spec.policy.semver.range",
		Long: `Print the policy's spec.policy.semver.range, refusing what set refuses: a value that is not a
YAML string (1.10 unquoted is a number) or a range Flux's semver library rejects.
Outputs: range, line (1-based line of the value in FILE).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, ref, err := readPolicyFile(args[0], policy)
			if err != nil {
				return err
			}
			p, err := imagepolicy.Find(data, ref)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			// The same checks as set: a range Flux's semver library rejects is an error, not a
			// value to print.
			if err := imagepolicy.ValidateRange(p.Range); err != nil {
				return fmt.Errorf("%s:%d:%d: ImagePolicy %q: %w", args[0], p.Line, p.Column, ref, err)
			}
			warn(a, args[0], p.Warnings)
			return a.rt.SetOutputs([2]string{"range", p.Range}, [2]string{"line", fmt.Sprint(p.Line)})
		},
	}
	policyFlag(cmd, &policy)
	return cmd
}

func newImagePolicySetCmd(a *app) *cobra.Command {
	var policy, rng string
	var write bool
	cmd := &cobra.Command{
		Use:   "set FILE --policy NS/NAME --range RANGE [--write]",
		Short: "Replace the policy's semver range, changing no other byte of the file",
		Long: `Replace the policy's spec.policy.semver.range and write exactly the new file's bytes to stdout
and nothing else, or, with --write, replace FILE in place (atomically, keeping its mode).
Comments, order, quoting, document markers, CRLF and the final newline are kept; a value that
YAML would misread (>=1.4.0, *, 1.10) is quoted. No outputs and no downgrade check (promote
does that).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			data, ref, err := readPolicyFile(file, policy)
			if err != nil {
				return err
			}
			out, err := imagepolicy.SetRange(data, ref, rng)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if p, err := imagepolicy.Find(data, ref); err == nil {
				warn(a, file, p.Warnings) // on stderr: stdout carries the file's bytes only
			}
			if !write {
				_, err := a.stdout.Write(out)
				return err
			}
			return writeFileAtomic(file, out)
		},
	}
	policyFlag(cmd, &policy)
	cmd.Flags().StringVar(&rng, "range", "", "the new semver range, e.g. 1.5.0 or ~1.5.0 (required)")
	_ = cmd.MarkFlagRequired("range")
	cmd.Flags().BoolVar(&write, "write", false, "edit FILE in place instead of writing to stdout")
	return cmd
}

// writeFileAtomic replaces file (following symlinks) with data through a temporary file in the
// same directory and a rename, keeping the file's mode; on failure the file is left as it was.
func writeFileAtomic(file string, data []byte) (err error) {
	target, err := filepath.EvalSymlinks(file)
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".flightline-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err = os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

func newImagePolicyResolveCmd(a *app) *cobra.Command {
	var policy, image, repoFile, fluxVersion string
	cmd := &cobra.Command{
		Use:   "resolve FILE --policy NS/NAME [--image REPO] [--image-repository-file F] [--flux-version 2.7]",
		Short: "Show which tag and digest the policy selects in the registry today, as Flux selects it",
		Long: `Resolve the policy against the image repository's tags as Flux's image-reflector-controller
does: the ImageRepository's exclusionList (Flux's default ^.*\.sig$ when unset), the policy's
filterTags (Go regexp, extract with $name), then the highest version within the semver range
(tags read with github.com/fluxcd/pkg/version; --flux-version 2.6 for the strict semver of older
clusters), the first listed winning among equal versions.
The ImageRepository the policy refers to is read from --image-repository-file, else from FILE,
else found by a bounded search of the git work tree FILE is in. The repository defaults to its
spec.image. Credentials: GITHUB_TOKEN/GITHUB_ACTOR for ghcr.io, else the docker config.
Outputs: range, image, tag, digest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, ref, err := readPolicyFile(args[0], policy)
			if err != nil {
				return err
			}
			rules, err := imagepolicy.ParseRules(fluxVersion)
			if err != nil {
				return fmt.Errorf("--flux-version: %w", err)
			}
			t, err := imagepolicy.Load(data, ref, imagepolicy.LoadOptions{
				Rules: rules, RepositoryFile: repoFile, ReadFile: os.ReadFile,
				Search: os.DirFS(searchRoot(args[0])), ImageGiven: image != "",
			})
			if err != nil {
				return fmt.Errorf("%s: %w (flags --image-repository-file, --image)", args[0], err)
			}
			warn(a, args[0], t.Warnings)
			res, err := t.Resolve(cmd.Context(), registry.New(registry.WithGetenv(a.getenv)), image)
			if err != nil {
				return err
			}
			if err := a.rt.SetOutputs(
				[2]string{"range", res.Range},
				[2]string{"image", res.Image},
				[2]string{"tag", res.Tag},
				[2]string{"digest", res.Digest},
			); err != nil {
				return err
			}
			return a.rt.WriteSummary(new(actions.Summary).Para(res.Summary()))
		},
	}
	policyFlag(cmd, &policy)
	cmd.Flags().StringVar(&image, "image", "", "the image repository (default: spec.image of the policy's ImageRepository)")
	cmd.Flags().StringVar(&repoFile, "image-repository-file", "", "the file that holds the policy's ImageRepository (default: FILE, else a bounded search of FILE's git work tree)")
	cmd.Flags().StringVar(&fluxVersion, "flux-version", "", "the Flux release the cluster runs: 2.7 or later (default) reads tags with fluxcd/pkg/version; 2.6 or earlier needs strict semver")
	return cmd
}

// warn shows each warning as an annotation on file.
func warn(a *app, file string, warnings []string) {
	for _, w := range warnings {
		a.rt.Annotate(actions.Warning, w, actions.Annotation{File: file})
	}
}

// searchRoot is where a bounded search for an ImageRepository starts: the git work tree that
// holds file, or file's directory when it is in none.
func searchRoot(file string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return filepath.Dir(file)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
