package scan

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aquasecurity/trivy/pkg/types"

	"github.com/labrats-work/flightline/pkg/registry"
)

// ErrInvalidInput reports a missing or malformed option; the message names it.
var ErrInvalidInput = errors.New("invalid input")

// Options is one scan. Exactly one of Image and FS is set.
type Options struct {
	// Image is the image to scan, HOST/REPO@sha256:… (a tag is resolved to its digest first, and
	// the digest is what is scanned and recorded). An image index is scanned per platform.
	Image string
	// FS is a directory whose lockfiles (go.mod, requirements*.txt, poetry.lock, …) are audited.
	FS string
	// Policy: the severities that gate (default HIGH,CRITICAL) and ignore-unfixed.
	Policy Policy
	// IgnoreFile is Trivy's YAML ignore file (default .trivyignore.yaml, read only if present;
	// a file given explicitly must exist: set IgnoreFileRequired).
	IgnoreFile         string
	IgnoreFileRequired bool
	// VEX documents passed to Trivy (--vex) as Trivy reads them.
	VEX []string
	// Trivy is the binary and its cache; DB how the vulnerability DB is had.
	Trivy Trivy
	DB    DBOptions
	// Attach pushes the report as an OCI referrer of the scanned digest (images only).
	Attach bool
	// OutDir receives report.json (default: a new temporary directory).
	OutDir string
	// Registry resolves the image, lists its platforms and attaches the report (required for
	// images; its credentials are handed to Trivy for ghcr.io).
	Registry *registry.Client
	// Getenv reads the environment that Trivy may inherit (HOME, PATH, proxies, DOCKER_CONFIG,
	// GITHUB_TOKEN for ghcr.io). Default: none.
	Getenv func(string) string
	// Now is the clock (default time.Now); Logf reports progress (default: discard).
	Now  func() time.Time
	Logf func(string, ...any)
}

// Result is what a scan found and decided.
type Result struct {
	Verdict
	Image      string           // the repository (images) or the directory (fs)
	Digest     string           // the scanned digest (an index's own digest for multi-platform)
	Platforms  []PlatformResult // one per scanned platform (images)
	DB         DBInfo
	Trivy      string // the Trivy version that ran
	Time       time.Time
	ReportPath string     // Flightline's JSON report (with Trivy's reports inside)
	Referrer   string     // the attached report's manifest digest ("" when not attached)
	Ignore     IgnoreFile // the ignore file as read
	Report     *Report    // what ReportPath holds
	Duration   time.Duration
}

// PlatformResult is the verdict of one platform of an image.
type PlatformResult struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Verdict  string `json:"verdict"`
	Gating   int    `json:"gating"`
}

// Run scans, decides once, writes the report and (for an image, when asked) attaches it to the
// scanned digest. A failed verdict is a Result with Passed false and a nil error; an error
// means the scan could not be made (no verdict: never a pass).
func Run(ctx context.Context, o Options) (Result, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	start := now()
	if (o.Image == "") == (o.FS == "") {
		return Result{}, fmt.Errorf("%w: give image (REPO@sha256:…) or fs (a directory), one of them", ErrInvalidInput)
	}
	sev, err := ParseSeverities(o.Policy.Severities)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	pol := Policy{Severities: sev, IgnoreUnfixed: o.Policy.IgnoreUnfixed}
	ignPath := o.IgnoreFile
	if ignPath == "" {
		ignPath = DefaultIgnoreFile
	}
	ign, err := ParseIgnoreFile(ignPath, o.IgnoreFileRequired, now())
	if err != nil {
		return Result{}, err
	}
	if o.Image != "" && o.Registry == nil {
		return Result{}, fmt.Errorf("%w: no registry client", ErrInvalidInput)
	}
	if o.FS != "" {
		if st, err := os.Stat(o.FS); err != nil || !st.IsDir() {
			return Result{}, fmt.Errorf("%w: fs %q is not a directory", ErrInvalidInput, o.FS)
		}
	}
	outDir := o.OutDir
	if outDir == "" {
		if outDir, err = os.MkdirTemp("", "flightline-scan-"); err != nil {
			return Result{}, err
		}
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("creating the report directory: %w", err)
	}
	tv := o.Trivy
	if tv.Env == nil {
		tv.Env = trivyEnv(getenv)
	}
	if _, err := tv.locate(); err != nil {
		return Result{}, err
	}

	res := Result{Ignore: ign, Time: now().UTC()}
	// Resolve first: a bad reference fails before any download.
	var resolved registry.Resolved
	if o.Image != "" {
		if resolved, err = o.Registry.Resolve(ctx, o.Image); err != nil {
			return res, err
		}
		res.Image, res.Digest = resolved.Digest.Context().String(), resolved.Digest.DigestStr()
		if !registry.IsDigest(o.Image) {
			logf("resolved %s to %s", o.Image, resolved.Digest)
		}
	} else {
		res.Image = o.FS
	}

	if res.DB, err = tv.EnsureDB(ctx, o.DB, now, logf); err != nil {
		return res, err
	}
	if res.DB.Downloaded {
		logf("downloaded the vulnerability DB (updated %s) in %d attempt(s)", res.DB.UpdatedAt.Format(time.RFC3339), res.DB.Attempts)
	}

	activeIgnore := filepath.Join(outDir, "trivyignore.active.yaml")
	if err := ign.writeActive(activeIgnore); err != nil {
		return res, fmt.Errorf("writing the active ignore entries: %w", err)
	}
	base := []string{"--cache-dir", tv.CacheDir, "--skip-db-update", "--skip-version-check", "--disable-telemetry",
		"--scanners", "vuln", "--format", "json", "--show-suppressed", "--ignorefile", activeIgnore,
		"--no-progress", "--quiet"}
	if o.DB.Offline {
		base = append(base, "--skip-java-db-update", "--offline-scan")
	}
	for _, v := range o.VEX {
		base = append(base, "--vex", v)
	}

	var targets []target
	var raws []json.RawMessage
	scanOne := func(kind, ref, platform string, extraEnv []string) error {
		out := filepath.Join(outDir, "trivy-"+strings.NewReplacer("/", "-", ":", "-").Replace(cmpOr(platform, kind))+".json")
		args := append([]string{kind}, base...)
		args = append(args, "--output", out)
		if kind == "image" {
			args = append(args, "--image-src", "remote")
		}
		args = append(args, ref)
		t := tv
		t.Env = append(slicesClone(tv.Env), extraEnv...)
		stderr, err := t.run(ctx, nil, args...)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("trivy %s %s: %v: %s", kind, ref, err, lastLines(stderr, 5))
		}
		data, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("reading Trivy's report: %w", err)
		}
		var rep types.Report
		if err := json.Unmarshal(data, &rep); err != nil {
			return fmt.Errorf("the report Trivy wrote (%s) is not a Trivy JSON report: %w", out, err)
		}
		if res.Trivy == "" {
			v, err := tv.version(rep.Trivy.Version)
			if err != nil {
				return err
			}
			res.Trivy = v
		}
		targets = append(targets, target{Platform: platform, Report: rep})
		raws = append(raws, data)
		return nil
	}

	if o.FS != "" {
		if err := scanOne("fs", o.FS, "", nil); err != nil {
			return res, err
		}
	} else {
		env, cleanup, err := registryAuthEnv(resolved.Digest.RegistryStr(), getenv)
		if err != nil {
			return res, err
		}
		defer cleanup()
		if !resolved.Index {
			if err := scanOne("image", resolved.Digest.String(), "", env); err != nil {
				return res, err
			}
		}
		for _, p := range resolved.Platforms {
			logf("scanning %s (%s)", p.Platform, p.Digest.DigestStr())
			if err := scanOne("image", p.Digest.String(), p.Platform, env); err != nil {
				return res, err
			}
		}
	}

	res.Verdict = decide(targets, pol, ign)
	for i, t := range targets {
		if t.Platform == "" {
			continue
		}
		pv := decide(targets[i:i+1], pol, ign)
		res.Platforms = append(res.Platforms, PlatformResult{Platform: t.Platform, Digest: resolved.Platforms[i].Digest.DigestStr(), Verdict: pv.String(), Gating: len(pv.Gating)})
	}
	res.Duration = now().Sub(start)
	rep := newReport(res, raws)
	res.Report = &rep
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return res, err
	}
	res.ReportPath = filepath.Join(outDir, "report.json")
	if err := os.WriteFile(res.ReportPath, data, 0o644); err != nil {
		return res, fmt.Errorf("writing the report: %w", err)
	}
	if o.Attach && o.Image != "" {
		ref, err := o.Registry.Attach(ctx, resolved, artifact(rep, data))
		if err != nil {
			return res, fmt.Errorf("the scan %s, but attaching its report to %s failed (push access to the repository is needed; or set attach: false): %w", res.Verdict.String(), resolved.Digest, err)
		}
		res.Referrer = ref.DigestStr()
	}
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// trivyEnv is the only environment Trivy gets: no TRIVY_* variable from the job leaks into a
// scan (every setting is a flag), and no token but the one registryAuthEnv chooses.
func trivyEnv(getenv func(string) string) []string {
	var env []string
	for _, k := range []string{"HOME", "PATH", "TMPDIR", "DOCKER_CONFIG", "XDG_RUNTIME_DIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// registryAuthEnv gives Trivy the workflow token for ghcr.io (as Flightline's own registry calls
// use it) through a private docker config that adds only that registry to the user's own
// config; other registries use the docker config as it is.
func registryAuthEnv(host string, getenv func(string) string) ([]string, func(), error) {
	token := getenv("GITHUB_TOKEN")
	if !strings.EqualFold(host, registry.GHCR) || token == "" {
		return nil, func() {}, nil
	}
	cfgDir := getenv("DOCKER_CONFIG")
	if cfgDir == "" && getenv("HOME") != "" {
		cfgDir = filepath.Join(getenv("HOME"), ".docker")
	}
	cfg := map[string]any{}
	if cfgDir != "" {
		if data, err := os.ReadFile(filepath.Join(cfgDir, "config.json")); err == nil {
			_ = json.Unmarshal(data, &cfg)
		}
	}
	auths, _ := cfg["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	if _, ok := auths[registry.GHCR]; ok {
		return nil, func() {}, nil // the user logged in to ghcr.io: keep it
	}
	user := getenv("GITHUB_ACTOR")
	if user == "" {
		user = "x-access-token"
	}
	auths[registry.GHCR] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + token))}
	cfg["auths"] = auths
	dir, err := os.MkdirTemp("", "flightline-docker-config-")
	if err != nil {
		return nil, nil, err
	}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return []string{"DOCKER_CONFIG=" + dir}, func() { os.RemoveAll(dir) }, nil
}
