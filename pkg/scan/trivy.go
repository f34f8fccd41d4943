package scan

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

// TrivyVersion is the one Trivy version Flightline runs. Its release archives' SHA-256 values
// are committed below (Releases); the report's Trivy version must match it.
const TrivyVersion = "v0.74.0"

// Release is one Trivy release archive for a runner OS and architecture.
type Release struct {
	Version string // TrivyVersion
	OS      string // GOOS: linux, darwin
	Arch    string // GOARCH: amd64, arm64
	Archive string // file name of the release asset
	URL     string // where GitHub serves it
	SHA256  string // committed here, never fetched from the release
}

// releaseSHA256 holds the SHA-256 of each archive of TrivyVersion, committed in this repository
// (cross-checked against several independent published pins of the v0.74.0 archives; the
// checksums file of the release itself is never read). An empty value refuses the download.
var releaseSHA256 = map[string]string{
	"trivy_0.74.0_Linux-64bit.tar.gz": "2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a",
	"trivy_0.74.0_Linux-ARM64.tar.gz": "b94ce1976bbf3c15b514b605ee88be7c6d94a29be2302847ff01cb794d47aad5",
	"trivy_0.74.0_macOS-64bit.tar.gz": "472816f6888dda689d075c30254d4210b4d1035acf365aa72332f584c2f60485",
	"trivy_0.74.0_macOS-ARM64.tar.gz": "1caada5e0e2091909357c7525d3aa76f4b660b13821bc143b190c7483e31cc11",
}

// ErrNoRelease reports an OS/architecture (or a version) without a committed hash.
var ErrNoRelease = errors.New("no committed Trivy release for this platform")

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ReleaseFor returns the Trivy release archive for goos/goarch (GOOS/GOARCH names, or the
// runner's RUNNER_OS/RUNNER_ARCH: Linux, macOS, X64, ARM64). It fails for a platform without a
// committed SHA-256.
func ReleaseFor(goos, goarch string) (Release, error) {
	osName := map[string]string{"linux": "Linux", "darwin": "macOS", "macos": "macOS"}[strings.ToLower(goos)]
	arch := map[string]string{"amd64": "64bit", "x64": "64bit", "arm64": "ARM64"}[strings.ToLower(goarch)]
	if osName == "" || arch == "" {
		return Release{}, fmt.Errorf("%w: %s/%s; committed: %s (or give trivy-path)", ErrNoRelease, goos, goarch, strings.Join(archives(), ", "))
	}
	v := strings.TrimPrefix(TrivyVersion, "v")
	archive := fmt.Sprintf("trivy_%s_%s-%s.tar.gz", v, osName, arch)
	sum := releaseSHA256[archive]
	if !sha256Hex.MatchString(sum) {
		return Release{}, fmt.Errorf("%w: %s has no committed SHA-256 (pkg/scan/trivy.go): fill it in before release", ErrNoRelease, archive)
	}
	return Release{Version: TrivyVersion, OS: map[string]string{"Linux": "linux", "macOS": "darwin"}[osName],
		Arch: map[string]string{"64bit": "amd64", "ARM64": "arm64"}[arch], Archive: archive,
		URL:    fmt.Sprintf("https://github.com/aquasecurity/trivy/releases/download/%s/%s", TrivyVersion, archive),
		SHA256: sum}, nil
}

func archives() []string {
	var out []string
	for k := range releaseSHA256 {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrTrivyMissing reports that the Trivy binary is not where it was looked for.
var ErrTrivyMissing = errors.New("trivy not found")

// Trivy runs the pinned Trivy binary.
type Trivy struct {
	Path     string   // the binary; "" = "trivy" on PATH
	CacheDir string   // Trivy's cache (the DB lives in CACHE/db); required
	Env      []string // the process environment (nil: none besides HOME/PATH/TMPDIR from Getenv)
}

// locate returns the binary's path or ErrTrivyMissing with what to do.
func (t Trivy) locate() (string, error) {
	p := t.Path
	if p == "" {
		p = "trivy"
	}
	found, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v; the scan action installs Trivy %s (verified against the SHA-256 committed in pkg/scan/trivy.go); elsewhere set trivy-path to a Trivy %s binary", ErrTrivyMissing, p, err, TrivyVersion, TrivyVersion)
	}
	return found, nil
}

// version checks that the Trivy that ran is TrivyVersion: the version in its report, or, for a
// source build (which reports "dev"), the Trivy module version in the binary's Go build info.
func (t Trivy) version(reported string) (string, error) {
	v := strings.TrimPrefix(strings.TrimSpace(reported), "v")
	if v == "" || v == "dev" {
		if bin, err := t.locate(); err == nil {
			if info, err := buildinfo.ReadFile(bin); err == nil {
				if info.Main.Path == trivyModule && strings.HasPrefix(info.Main.Version, "v") {
					v = strings.TrimPrefix(info.Main.Version, "v")
				}
				for _, d := range info.Deps {
					if d.Path == trivyModule {
						v = strings.TrimPrefix(d.Version, "v")
					}
				}
			}
		}
	}
	if "v"+v != TrivyVersion {
		return "", fmt.Errorf("the Trivy at %s is version %q, Flightline pins %s: use the scan action's Trivy, or set trivy-path to a Trivy %s binary", t.Path, sanitize(v), TrivyVersion, TrivyVersion)
	}
	return TrivyVersion, nil
}

const trivyModule = "github.com/aquasecurity/trivy"

// run runs trivy with args and returns its stderr (last 8 KiB) with the error.
func (t Trivy) run(ctx context.Context, stdout io.Writer, args ...string) (string, error) {
	bin, err := t.locate()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr, cmd.Env = stdout, &stderr, t.Env
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		return stderr.String(), ctx.Err()
	}
	return stderr.String(), err
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

// lastLines is the last n lines of Trivy's stderr, stripped of control characters, for an
// error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return sanitize(strings.Join(lines, "\n"))
}

// sanitize removes control characters (except newlines and tabs) and neutralises "::" at
// line starts, so text from Trivy or a registry cannot start a workflow command.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			lines[i] = " " + strings.Replace(l, "::", ": :", 1)
		}
	}
	return strings.Join(lines, "\n")
}

// exists reports whether path exists.
func exists(path string) bool { _, err := os.Stat(path); return err == nil }
