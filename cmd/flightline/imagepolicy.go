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
		Long: `Work on one Flux ImagePolicy (image.toolkit.fluxcd.io/v1beta2 or v1) in a multi-document YAML
file, identified by --policy NS/NAME (NAME alone for a policy without metadata.namespace).
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
		Long: `Print the policy's spec.policy.semver.range.
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
	var policy, image string
	cmd := &cobra.Command{
		Use:   "resolve FILE --policy NS/NAME [--image REPO]",
		Short: "Show which tag and digest the policy's range selects in the registry today",
		Long: `Resolve the policy's range against the image repository's tags with Flux's rules (strict
semver after an optional leading v, highest match, pre-releases only for pre-release ranges).
The repository defaults to spec.image of the ImageRepository the policy refers to, in FILE.
Credentials: GITHUB_TOKEN/GITHUB_ACTOR for ghcr.io, else the docker config.
Outputs: range, image, tag, digest.`,
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
			if image == "" {
				if image, err = imagepolicy.ImageOf(data, ref); err != nil {
					return fmt.Errorf("%s: %w (with --image REPO)", args[0], err)
				}
			}
			res, err := imagepolicy.Resolve(cmd.Context(), p.Range, image, registry.New(registry.WithGetenv(a.getenv)))
			if err != nil {
				return err
			}
			if err := a.rt.SetOutputs(
				[2]string{"range", res.Range},
				[2]string{"image", image},
				[2]string{"tag", res.Tag},
				[2]string{"digest", res.Digest},
			); err != nil {
				return err
			}
			return a.rt.WriteSummary(new(actions.Summary).
				Heading(3, "ImagePolicy "+ref.String()).
				Table([]string{"range", "image", "tag", "digest"}, [][]string{{res.Range, image, res.Tag, res.Digest}}))
		},
	}
	policyFlag(cmd, &policy)
	cmd.Flags().StringVar(&image, "image", "", "the image repository (default: spec.image of the policy's ImageRepository in FILE)")
	return cmd
}
