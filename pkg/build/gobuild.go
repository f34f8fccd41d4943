package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinDir is where the Go builder puts the binary in the image: /usr/local/bin/NAME. It is on
// every base image's default PATH (and on the PATH the builder sets when the base has none), so
// `docker run IMAGE NAME` and `kubectl exec … NAME` work as well as the entrypoint.
const BinDir = "/usr/local/bin"

// DefaultUser is the runtime user when WithUser is not given: the conventional "nonroot"
// uid/gid 65532 (distroless, Chainguard). The binary itself is owned by root, mode 0755.
const DefaultUser = "65532:65532"

// OCI image annotation/label keys the builder sets.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
)

// ErrBase is returned (wrapped) when the base image cannot be fetched or has no matching platform.
var ErrBase = errors.New("base image")

// Go builds a Go main package into an image. Create it with NewGo.
type Go struct {
	dir, main string
	c         goConfig
}

type goConfig struct {
	platforms  []v1.Platform
	base       string
	baseImage  v1.Image
	remoteOpts []remote.Option
	version    string
	ldflags    []string
	name       string
	env        []string
	workdir    string
	user       string
	ports      []string
	labels     map[string]string
	epoch      *time.Time
	getenv     func(string) string
	goEnv      []string
	local      *LocalFlags
	goBin      string
	cacheDir   string
	jobs       int
	log        io.Writer
}

// GoOption configures NewGo.
type GoOption func(*goConfig)

// WithPlatforms sets the target platforms (default: linux/amd64). One platform gives a
// v1.Image, several a v1.ImageIndex in this order.
func WithPlatforms(ps ...v1.Platform) GoOption {
	return func(c *goConfig) { c.platforms = ps }
}

// WithBase sets the base image reference (default "": an empty image, for a static binary).
// It is pulled with the remote options (WithRemoteOptions); from a multi-platform index the
// image matching each target platform is used.
func WithBase(ref string) GoOption { return func(c *goConfig) { c.base = ref } }

// WithBaseImage uses img as the base for every platform instead of pulling a reference.
func WithBaseImage(img v1.Image) GoOption { return func(c *goConfig) { c.baseImage = img } }

// WithRemoteOptions sets how the base image is pulled (keychain, transport); default anonymous.
func WithRemoteOptions(opts ...remote.Option) GoOption {
	return func(c *goConfig) { c.remoteOpts = opts }
}

// WithVersion sets the version: linked in as main.version (-X main.version=V) and written as the
// org.opencontainers.image.version label. Default: none.
func WithVersion(v string) GoOption { return func(c *goConfig) { c.version = v } }

// WithLdflags replaces the default extra linker flags ("-s -w": no symbol table, no DWARF,
// a smaller layer). The -X main.version flag is always added when a version is set.
func WithLdflags(flags ...string) GoOption { return func(c *goConfig) { c.ldflags = flags } }

// WithName sets the binary name (default: the main package directory's base name).
func WithName(n string) GoOption { return func(c *goConfig) { c.name = n } }

// WithEnv adds KEY=VALUE entries to the image environment (after the base image's).
func WithEnv(env ...string) GoOption { return func(c *goConfig) { c.env = append(c.env, env...) } }

// WithWorkdir sets the working directory (default: the base image's, else "/").
func WithWorkdir(dir string) GoOption { return func(c *goConfig) { c.workdir = dir } }

// WithUser sets the runtime user (default DefaultUser, 65532:65532).
func WithUser(u string) GoOption { return func(c *goConfig) { c.user = u } }

// WithExposedPorts declares ports such as "8080" or "8080/tcp" (default: none).
func WithExposedPorts(ports ...string) GoOption {
	return func(c *goConfig) { c.ports = append(c.ports, ports...) }
}

// WithLabels adds config labels; they override the org.opencontainers.image.* labels the
// builder derives (source, revision, version, created, title).
func WithLabels(l map[string]string) GoOption {
	return func(c *goConfig) {
		for k, v := range l {
			c.labels[k] = v
		}
	}
}

// WithSourceDateEpoch fixes the time written into the layer, the config and the created label.
// Default: SOURCE_DATE_EPOCH (through WithGetenv), else the time of the last commit in the
// source directory (git log -1 --format=%ct), else the Unix epoch.
func WithSourceDateEpoch(t time.Time) GoOption { return func(c *goConfig) { c.epoch = &t } }

// WithGetenv sets how the environment is read (default: every variable empty). Read:
// SOURCE_DATE_EPOCH, GITHUB_SHA (the revision label; else git rev-parse HEAD), and
// GITHUB_SERVER_URL with GITHUB_REPOSITORY (the source label).
func WithGetenv(getenv func(string) string) GoOption { return func(c *goConfig) { c.getenv = getenv } }

// WithGoEnv sets the environment `go build` runs with (default: the process environment),
// before the builder adds CGO_ENABLED=0, GOOS, GOARCH and GOARM/GOAMD64.
func WithGoEnv(environ []string) GoOption { return func(c *goConfig) { c.goEnv = environ } }

// LocalFlags are the two compile settings that WithLocalFlags lets a local build choose.
type LocalFlags struct {
	Trimpath bool // -trimpath
	Cgo      bool // CGO_ENABLED=1
}

// WithLocalFlags compiles with these settings instead of the defaults (-trimpath, CGO_ENABLED=0),
// so that a local build can share Go's build cache with a `go run` or `go test` of the same
// packages (whose flags differ, which makes every package compile again). The binary is then
// neither reproducible nor, with Cgo, static: it is for the demo, which builds the agent the
// way `go run` built the demo itself; never for an image that leaves the machine.
func WithLocalFlags(f LocalFlags) GoOption { return func(c *goConfig) { c.local = &f } }

// WithGoBinary sets the go command (default "go", looked up on PATH).
func WithGoBinary(p string) GoOption { return func(c *goConfig) { c.goBin = p } }

// WithCacheDir keeps the per-platform binaries in dir between builds (default: a temporary
// directory removed after Build). With a stable output path `go build` sees an up-to-date
// binary and skips the link step, which makes a no-op rebuild fast.
func WithCacheDir(dir string) GoOption { return func(c *goConfig) { c.cacheDir = dir } }

// WithJobs sets how many platforms build at once (default 2).
func WithJobs(n int) GoOption { return func(c *goConfig) { c.jobs = n } }

// WithLog sets where `go build` output goes (default: discarded; it is in the error on failure).
func WithLog(w io.Writer) GoOption { return func(c *goConfig) { c.log = w } }

// NewGo returns a builder for the Go main package mainPkg (a path such as "./cmd/agent",
// relative to dir, the module directory) with the options applied over these defaults:
// linux/amd64, empty base, user 65532:65532, ldflags "-s -w", binary at /usr/local/bin/NAME as
// the entrypoint. Go is always built with CGO_ENABLED=0 and -trimpath.
func NewGo(dir, mainPkg string, opts ...GoOption) *Go {
	c := goConfig{
		platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}},
		ldflags:   []string{"-s", "-w"},
		user:      DefaultUser,
		labels:    map[string]string{},
		getenv:    func(string) string { return "" },
		goBin:     "go",
		jobs:      2,
		log:       io.Discard,
	}
	for _, o := range opts {
		o(&c)
	}
	return &Go{dir: dir, main: mainPkg, c: c}
}

// Name is the binary name: WithName, else the main package directory's base name.
func (g *Go) Name() string {
	if g.c.name != "" {
		return g.c.name
	}
	n := path.Base(filepath.ToSlash(filepath.Clean(g.main)))
	if n == "." || n == "/" || n == "" {
		abs, err := filepath.Abs(g.dir)
		if err == nil {
			n = filepath.Base(abs)
		}
	}
	return n
}

// Build compiles the main package once per platform (in parallel, WithJobs) and assembles the
// images. It returns a v1.Image for one platform and a v1.ImageIndex for several.
func (g *Go) Build(ctx context.Context) (Artifact, error) {
	if len(g.c.platforms) == 0 {
		return nil, fmt.Errorf("%w: no target platform", ErrBadPlatform)
	}
	if _, err := os.Stat(g.dir); err != nil {
		return nil, fmt.Errorf("source directory %q: %w", g.dir, err)
	}
	outDir := g.c.cacheDir
	if outDir == "" {
		tmp, err := os.MkdirTemp("", "flightline-build-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		outDir = tmp
	}

	// The metadata (git) and the base image (registry) are fetched while go build runs; a
	// failure there stops the compilers. (The base image keeps ctx: its layers are read later,
	// when the image is pushed, so only the compilers get the cancellable context.)
	compileCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		meta     buildMeta
		bases    []v1.Image
		prepErr  error
		prepDone = make(chan struct{})
	)
	go func() {
		defer close(prepDone)
		if meta, prepErr = g.metadata(ctx); prepErr == nil {
			bases, prepErr = g.bases(ctx)
		}
		if prepErr != nil {
			cancel()
		}
	}()

	imgs := make([]v1.Image, len(g.c.platforms))
	errs := make([]error, len(g.c.platforms))
	sem := make(chan struct{}, max(g.c.jobs, 1))
	var wg sync.WaitGroup
	for i, p := range g.c.platforms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			bin, err := g.compile(compileCtx, p, outDir)
			<-sem
			<-prepDone
			if prepErr != nil {
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			imgs[i], errs[i] = g.assemble(p, bases[i], bin, meta)
		}()
	}
	wg.Wait()
	<-prepDone
	if prepErr != nil {
		return nil, prepErr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(imgs) == 1 {
		return imgs[0], nil
	}
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		p := g.c.platforms[i]
		mt, err := img.MediaType()
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: &p}})
	}
	idxType := types.OCIImageIndex
	if mt, _ := imgs[0].MediaType(); mt == types.DockerManifestSchema2 {
		idxType = types.DockerManifestList
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, idxType), adds...)
	if idxType == types.OCIImageIndex {
		idx = mutate.Annotations(idx, meta.labels).(v1.ImageIndex)
	}
	return idx, nil
}

type buildMeta struct {
	epoch  time.Time
	labels map[string]string // the OCI labels plus WithLabels
}

func (g *Go) metadata(ctx context.Context) (buildMeta, error) {
	var m buildMeta
	switch {
	case g.c.epoch != nil:
		m.epoch = *g.c.epoch
	case g.c.getenv("SOURCE_DATE_EPOCH") != "":
		s := g.c.getenv("SOURCE_DATE_EPOCH")
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return m, fmt.Errorf("SOURCE_DATE_EPOCH %q: want a non-negative number of seconds since 1970-01-01 UTC", s)
		}
		m.epoch = time.Unix(sec, 0)
	default:
		m.epoch = time.Unix(0, 0)
		if out, err := g.git(ctx, "log", "-1", "--format=%ct"); err == nil {
			if sec, err := strconv.ParseInt(out, 10, 64); err == nil {
				m.epoch = time.Unix(sec, 0)
			}
		}
	}
	m.epoch = m.epoch.UTC()

	m.labels = map[string]string{
		LabelCreated: m.epoch.Format(time.RFC3339),
		LabelTitle:   g.Name(),
	}
	if srv, repo := g.c.getenv("GITHUB_SERVER_URL"), g.c.getenv("GITHUB_REPOSITORY"); repo != "" {
		if srv == "" {
			srv = "https://github.com"
		}
		m.labels[LabelSource] = strings.TrimSuffix(srv, "/") + "/" + repo
	}
	if rev := g.c.getenv("GITHUB_SHA"); rev != "" {
		m.labels[LabelRevision] = rev
	} else if rev, err := g.git(ctx, "rev-parse", "HEAD"); err == nil && rev != "" {
		m.labels[LabelRevision] = rev
	}
	if g.c.version != "" {
		m.labels[LabelVersion] = g.c.version
	}
	for k, v := range g.c.labels {
		m.labels[k] = v
	}
	return m, nil
}

func (g *Go) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// bases returns the base image for each target platform.
func (g *Go) bases(ctx context.Context) ([]v1.Image, error) {
	out := make([]v1.Image, len(g.c.platforms))
	switch {
	case g.c.baseImage != nil:
		for i := range out {
			out[i] = g.c.baseImage
		}
		return out, nil
	case g.c.base == "":
		for i := range out {
			out[i] = mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
		}
		return out, nil
	}
	ref, err := parseReference(g.c.base)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
	}
	desc, err := remote.Get(ref, append(g.c.remoteOpts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
		}
		for i, p := range g.c.platforms {
			var have []string
			for _, m := range im.Manifests {
				if m.Platform == nil {
					continue
				}
				have = append(have, m.Platform.String())
				if platformMatches(*m.Platform, p) {
					img, err := idx.Image(m.Digest)
					if err != nil {
						return nil, fmt.Errorf("%w %q for %s: %w", ErrBase, g.c.base, p, err)
					}
					out[i] = img
					break
				}
			}
			if out[i] == nil {
				return nil, fmt.Errorf("%w %q has no image for %s (it has: %s)", ErrBase, g.c.base, p, strings.Join(have, ", "))
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%w %q: reading config: %w", ErrBase, g.c.base, err)
	}
	for i, p := range g.c.platforms {
		if cf.OS != "" && !platformMatches(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}, p) {
			return nil, fmt.Errorf("%w %q is a single %s/%s image, not %s: use a multi-platform base", ErrBase, g.c.base, cf.OS, cf.Architecture, p)
		}
		out[i] = img
	}
	return out, nil
}

func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || have.Variant == want.Variant ||
		(want.Architecture == "arm64" && want.Variant == "v8" && have.Variant == "")
}

// assemble puts the binary for p on its base image as one layer and sets the config.
func (g *Go) assemble(p v1.Platform, base v1.Image, bin []byte, meta buildMeta) (v1.Image, error) {
	baseType, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBase, g.c.base, err)
	}
	layerType := types.OCILayer
	if baseType == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	binPath := BinDir + "/" + g.Name()
	layer, err := NewLayer([]File{{Path: binPath, Mode: 0o755, Data: bin}}, meta.epoch, layerType)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: layerType,
		History: v1.History{
			Created:   v1.Time{Time: meta.epoch},
			CreatedBy: "flightline build (go) " + g.main,
			Comment:   "Go binary " + binPath,
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%w %q: reading config: %w", ErrBase, g.c.base, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: meta.epoch}
	cfg := &cf.Config
	cfg.Entrypoint = []string{binPath}
	cfg.Cmd = nil
	if !hasEnv(cfg.Env, "PATH") {
		cfg.Env = append(cfg.Env, "PATH="+BinDir+":/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	cfg.Env = append(cfg.Env, g.c.env...)
	if g.c.workdir != "" {
		cfg.WorkingDir = g.c.workdir
	} else if cfg.WorkingDir == "" {
		cfg.WorkingDir = "/"
	}
	cfg.User = g.c.user
	for _, port := range g.c.ports {
		if !strings.Contains(port, "/") {
			port += "/tcp"
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[port] = struct{}{}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range meta.labels {
		cfg.Labels[k] = v
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return img, nil
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// compile runs go build for one platform and returns the binary.
func (g *Go) compile(ctx context.Context, p v1.Platform, outDir string) ([]byte, error) {
	out := filepath.Join(outDir, strings.ReplaceAll(p.String(), "/", "-"), g.Name())
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	ldflags := append([]string(nil), g.c.ldflags...)
	if g.c.version != "" {
		ldflags = append(ldflags, "-X", "main.version="+g.c.version)
	}
	trimpath, cgo := true, "0"
	if g.c.local != nil {
		trimpath, cgo = g.c.local.Trimpath, "0"
		if g.c.local.Cgo {
			cgo = "1"
		}
	}
	args := []string{"build", "-o", out}
	if trimpath {
		args = append(args, "-trimpath")
	}
	if len(ldflags) > 0 {
		args = append(args, "-ldflags", strings.Join(ldflags, " "))
	}
	args = append(args, g.main)
	cmd := exec.CommandContext(ctx, g.c.goBin, args...)
	cmd.Dir = g.dir
	env := g.c.goEnv
	if env == nil {
		env = os.Environ()
	}
	env = append(append([]string(nil), env...), "CGO_ENABLED="+cgo, "GOOS="+p.OS, "GOARCH="+p.Architecture)
	switch {
	case p.Architecture == "arm" && p.Variant != "":
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	case p.Architecture == "amd64" && p.Variant != "":
		env = append(env, "GOAMD64="+p.Variant)
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout = g.c.log
	cmd.Stderr = io.MultiWriter(g.c.log, &stderr)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s for %s in %s: %w\n%s", g.main, p, g.dir, err, strings.TrimSpace(stderr.String()))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("reading the built binary for %s: %w", p, err)
	}
	return bin, nil
}

var _ Builder = (*Go)(nil)
