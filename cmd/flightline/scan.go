package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/scan"
)

// exitScanFailed is the exit code of a scan whose verdict is failed (1: it could not scan).
const exitScanFailed = 2

func newScanCmd(a *app) *cobra.Command {
	var (
		o          scan.Options
		severity   []string
		sarifPath  string
		reportDir  string
		dbRepos    []string
		ignoreFile string
	)
	cmd := &cobra.Command{
		Use:   "scan (--image REPO@sha256:… | --fs DIR)",
		Short: "Scan an image digest (or a source tree) with the pinned Trivy; one verdict gates, and the report is attached to the digest",
		Long: `scan runs Trivy ` + scan.TrivyVersion + ` on an image by digest (a tag is resolved to its digest first; an image
index is scanned platform by platform and the verdict is the worst of them), or with --fs on a
source tree's lockfiles. One verdict comes from the severities that gate, ignore-unfixed and the
ignore file (Trivy's .trivyignore.yaml, where Flightline requires a statement and an expired_at
on every entry; expired and stale entries are reported): the exit code, the outputs, the SARIF,
the annotations and the step summary all say the same. The JSON report is pushed as an OCI
referrer of the scanned digest (artifactType ` + scan.ArtifactType + `), which promote checks.

The vulnerability DB is downloaded only when the cached one is due for an update, retried with
back-off when the registry rate-limits (429) or fails; without a DB the scan fails, never passes.
--offline uses the cached DB as it is.

Exit codes: 0 passed, 2 failed (gating findings), 1 could not scan.
Outputs: verdict (passed|failed), counts (JSON by severity), report, sarif, referrer, digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			o.Policy.Severities = severity
			o.DB.Repositories = dbRepos
			o.IgnoreFile, o.IgnoreFileRequired = ignoreFile, cmd.Flags().Changed("ignore-file") && ignoreFile != scan.DefaultIgnoreFile
			o.Registry = registry.New(registry.WithGetenv(a.getenv))
			o.Getenv = a.getenv
			o.Logf = a.rt.Logf
			if o.Trivy.CacheDir == "" {
				o.Trivy.CacheDir = defaultTrivyCache(a.getenv)
			}
			if reportDir == "" {
				dir, err := os.MkdirTemp(a.getenv("RUNNER_TEMP"), "flightline-scan-")
				if err != nil {
					return err
				}
				reportDir = dir
			}
			o.OutDir = reportDir
			res, err := scan.Run(ctx, o)
			if err != nil {
				return err
			}
			if sarifPath != "" {
				if err := writeFileWith(sarifPath, res.WriteSARIF); err != nil {
					return fmt.Errorf("writing the SARIF file %s: %w", sarifPath, err)
				}
			}
			res.Annotate(a.rt)
			if err := a.rt.SetOutputs(res.Outputs(sarifPath)...); err != nil {
				return err
			}
			if err := a.rt.WriteSummary(res.Summary()); err != nil {
				return err
			}
			if !res.Passed {
				return &exitError{code: exitScanFailed, err: fmt.Errorf("scan failed: %d finding(s) of severity %v in %s", len(res.Gating), res.Policy.Severities, res.Image)}
			}
			a.rt.Logf("scan passed: no finding of severity %v in %s", res.Policy.Severities, res.Image)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Image, "image", "", "the image to scan, REPO@sha256:… (the build action's image output); a tag is resolved to its digest")
	f.StringVar(&o.FS, "fs", "", "scan a source tree's lockfiles instead (go.mod, requirements*.txt, poetry.lock, package-lock.json, …)")
	f.StringSliceVar(&severity, "severity", scan.DefaultSeverities, "the severities that fail the scan (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)")
	f.BoolVar(&o.Policy.IgnoreUnfixed, "ignore-unfixed", false, "findings without a fixed version do not fail the scan")
	f.StringVar(&ignoreFile, "ignore-file", scan.DefaultIgnoreFile, "Trivy's YAML ignore file; every entry needs statement and expired_at (read only if present when left at the default)")
	f.StringSliceVar(&o.VEX, "vex", nil, "VEX documents for Trivy (--vex), as Trivy reads them")
	f.StringVar(&sarifPath, "sarif", "", "write the gating findings as SARIF 2.1.0 to this path (for github/codeql-action/upload-sarif)")
	f.BoolVar(&o.Attach, "attach", true, "push the report as an OCI referrer of the scanned digest (promote checks it)")
	f.StringVar(&o.Trivy.Path, "trivy-path", "", "the Trivy "+scan.TrivyVersion+" binary (default: trivy on PATH; the action installs the pinned release)")
	f.StringVar(&o.Trivy.CacheDir, "cache-dir", "", "Trivy's cache directory, where the DB lives (default: $HOME/.cache/trivy)")
	f.StringSliceVar(&dbRepos, "db-repository", nil, "the vulnerability DB's OCI repositories, tried in order (default: Trivy's, mirror.gcr.io first)")
	f.BoolVar(&o.DB.Offline, "offline", false, "never download: scan with the cached DB as it is (fails without one)")
	f.StringVar(&reportDir, "report-dir", "", "where report.json goes (default: a new directory under RUNNER_TEMP or the system's temp)")
	cmd.AddCommand(newTrivyReleaseCmd(a))
	return cmd
}

func defaultTrivyCache(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "trivy")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "trivy")
	}
	return filepath.Join(os.TempDir(), "trivy-cache")
}

func writeFileWith(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// newTrivyReleaseCmd prints the pinned Trivy release archive for a runner, from the SHA-256
// values committed in pkg/scan: the scan action downloads it with scripts/fetch-verified.sh.
func newTrivyReleaseCmd(a *app) *cobra.Command {
	var goos, goarch string
	cmd := &cobra.Command{
		Use:   "trivy-release",
		Short: "Print the pinned Trivy release archive for an OS/arch: version, archive, url, sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if goos == "" {
				goos = cmpOrEnv(a.getenv("RUNNER_OS"), runtime.GOOS)
			}
			if goarch == "" {
				goarch = cmpOrEnv(a.getenv("RUNNER_ARCH"), runtime.GOARCH)
			}
			rel, err := scan.ReleaseFor(goos, goarch)
			if err != nil {
				return err
			}
			return a.rt.SetOutputs([2]string{"version", rel.Version}, [2]string{"archive", rel.Archive},
				[2]string{"url", rel.URL}, [2]string{"sha256", rel.SHA256})
		},
	}
	cmd.Flags().StringVar(&goos, "os", "", "linux or darwin (default: RUNNER_OS, else this machine's)")
	cmd.Flags().StringVar(&goarch, "arch", "", "amd64 or arm64 (default: RUNNER_ARCH, else this machine's)")
	return cmd
}

func cmpOrEnv(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// registryScans finds the scan reports attached to a digest, for promote's scan check.
type registryScans struct{ c *registry.Client }

func (r registryScans) FindScans(ctx context.Context, repo, digest string) ([]promote.ScanEvidence, error) {
	evs, err := scan.FindEvidence(ctx, r.c, repo, digest)
	if err != nil {
		return nil, err
	}
	out := make([]promote.ScanEvidence, 0, len(evs))
	for _, e := range evs {
		out = append(out, promote.ScanEvidence{Referrer: e.Referrer, Verdict: e.Verdict, Time: e.Time, Counts: e.Counts, Err: e.Err})
	}
	return out, nil
}
