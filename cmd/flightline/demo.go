//go:build !lean

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/build"
	"github.com/labrats-work/flightline/pkg/forge/gitforge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
)

// The demo's fixed names: the sample platform repo's prod policy and its image.
const (
	demoPolicy   = "flux-system/ai-agents-main"
	demoImage    = "labrats-work/ai-agents-main" // under the embedded registry, for ghcr.io/labrats-work/ai-agents-main
	demoModule   = "github.com/labrats-work/flightline"
	demoOld      = "1.4.0"
	demoNew      = "1.5.0"
	demoSteps    = 9
	demoLoadRate = 40 // chat requests per second from the load generator
)

// demoFaults is what makes the demo's 1.5.0 a bad release: every 5th chat request answers 500
// and 3 in 10 count as AI failures unless they already failed (the sample agent's deterministic
// fault injection, by environment).
var demoFaults = []string{"AGENT_ERROR_RATE=0.2", "AGENT_AI_FAILURE_RATE=0.3"}

// demoTrack, when set (by tests), is told of every process the demo starts ("process", pid) and
// every address it listens on or serves from ("listener", host:port).
var demoTrack func(kind, what string)

type demoOptions struct {
	keep, healthy bool
	source        string
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the build → promote → canary → auto-revert loop on embedded components",
		Long: `demo runs Flightline's whole loop on this machine with nothing but Go and git: no network, no
Docker, no Prometheus, no credentials. It starts an OCI registry in-process, builds the sample
agent (examples/agent) as 1.4.0 and 1.5.0 and pushes both, makes a temporary platform repository
from examples/platform pinned to 1.4.0, promotes 1.5.0 and merges it, runs the agent binary taken
out of the pushed 1.5.0 image with a fault injected under a small load, watches it with the canary
monitor (Prometheus's engine over scraped metrics, 1 s interval), and, when the checks fail,
merges the revert and runs 1.4.0 again from its image, then watches it to show it is healthy.

What stands in for what: a local process for the pod, the in-process registry for GHCR, a local
git repository for the platform repo on GitHub (a branch is a PR), the demo itself for Flux
(it resolves the policy's range against the registry and runs that image's binary), and the
scrape provider for Prometheus.

--healthy promotes a good 1.5.0: the canary passes and nothing is reverted. --keep leaves the
temporary directory (platform repo, step summary, reports, agent logs). The last line is
decision=rollback (or decision=success with --healthy); the exit code is 0 only when the loop
did what it said. Ctrl-C stops everything the demo started and says at which step.

Outputs: decision, platform-dir, range-before, range-after, summary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), a, o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.keep, "keep", false, "keep the temporary directory (platform repo, step summary, reports, logs)")
	f.BoolVar(&o.healthy, "healthy", false, "promote a good release: the canary passes and nothing is reverted")
	f.StringVar(&o.source, "source", "", "Flightline's source tree, to build examples/agent from (default: the module root above the current directory)")
	return cmd
}

// demo is one run: its clock, its temporary directory and everything it started.
type demo struct {
	a       *app
	o       demoOptions
	start   time.Time
	out     io.Writer
	dir     string
	src     string
	step    int
	stepMsg string

	regHost  string // 127.0.0.1:PORT of the embedded registry
	regSrv   *httptest.Server
	platform string // the platform repository
	summary  string // the step summary (markdown)
	calls    int

	mu     sync.Mutex
	agents []*agentProc
	load   *loadGen
}

func runDemo(ctx context.Context, a *app, o demoOptions) (err error) {
	d := &demo{a: a, o: o, start: time.Now(), out: a.stderr}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the demo runs the agent binary taken out of a linux image, so it needs linux (this is %s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	if d.src, err = demoSource(o.source); err != nil {
		return err
	}
	if d.dir, err = os.MkdirTemp("", "flightline-demo-"); err != nil {
		return fmt.Errorf("creating the demo's temporary directory: %w", err)
	}
	d.summary = filepath.Join(d.dir, "step-summary.md")
	defer func() { err = d.cleanup(ctx, err) }()

	variant := "a bad 1.5.0 is promoted, caught by the canary and reverted"
	if o.healthy {
		variant = "a good 1.5.0 is promoted and passes the canary"
	}
	d.say("Flightline demo: %s. Everything runs on this machine, in %s.", variant, d.dir)
	d.say("Stand-ins: a local process for the pod, an in-process OCI registry for GHCR, a local git repository for the platform repo on GitHub (a branch is a PR), this demo for Flux, the scrape provider (Prometheus's own engine over scraped /metrics) for Prometheus.")

	if err := d.startRegistry(ctx); err != nil {
		return err
	}
	digests := map[string]string{}
	d.stepf("build examples/agent as %s and %s and push both (flightline build)", demoOld, demoNew)
	for _, v := range []string{demoOld, demoNew} {
		outs, err := d.flightline(ctx, "build", "--dir", d.src, "--main", "./examples/agent", "--image", d.imageRepo(),
			"--platforms", "linux/"+runtime.GOARCH, "--tags", "type=semver,pattern={{version}},value="+v,
			// Compile the agent with the flags this binary was compiled with (go run's: no -trimpath,
			// Cgo where a C compiler is installed), so its packages come from Go's build cache instead of
			// a second compile of the standard library and client_golang (see docs/demo.md).
			"--like-self")
		if err != nil {
			return err
		}
		digests[v] = outs["digest"]
		d.say("pushed %s", outs["image"])
	}

	d.stepf("create the platform repo from examples/platform, prod pinned to %s", demoOld)
	if err := d.makePlatform(ctx); err != nil {
		return err
	}
	before, err := d.reconcile(ctx, nil)
	if err != nil {
		return err
	}

	d.stepf("promote %s and merge the promotion (flightline promote --require-scan=false: the demo runs no Trivy, so no scan report is attached to the digest)", demoNew)
	pr, err := d.flightline(ctx, "promote", "--platform-dir", d.platform, "--policy", demoPolicy, "--version", demoNew,
		"--image", d.imageRepo()+"@"+digests[demoNew], "--merge", "merge", "--require-scan=false")
	if err != nil {
		return err
	}
	if pr["operation"] != string(promote.Merged) || pr["range"] != demoNew {
		return fmt.Errorf("promotion: operation %q, range %q: want merged, %s", pr["operation"], pr["range"], demoNew)
	}
	d.say("merged %s: range %s → %s", pr["pr-url"], pr["previous-range"], pr["range"])

	var faults []string
	if !o.healthy {
		faults = demoFaults
	}
	d.stepf("Flux reconciles: the policy now selects %s; its binary, taken out of the pushed image, replaces %s", demoNew, demoOld)
	if _, err := d.reconcile(ctx, faults); err != nil {
		return err
	}

	d.stepf("watch %s with the canary monitor: the runbook's gate (success ≥ 99 %%, p99 ≤ 1500 ms, AI failures ≤ 0.5/s) scaled from minutes to seconds, a check every 1 s, roll back at the 3rd failure", demoNew)
	cfg, err := d.writeCanary("canary.yaml", demoNew, 8, 3)
	if err != nil {
		return err
	}
	agent := d.current()
	outs, err := d.flightline(ctx, "canary-monitor", "--config", cfg, "--scrape", "http://"+agent.addr+"/metrics", "--version", demoNew,
		"--policy", demoPolicy, "--platform-dir", d.platform, "--merge", "merge", "--report", filepath.Join(d.dir, "canary-report.json"))
	decision := outs["decision"]
	var ee *exitError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case decision == "rollback" && errors.As(err, &ee) && ee.code == exitRollback:
		d.say("decision: rollback; revert merged: %s", outs["revert-pr-url"])
	case decision == "success" && err == nil:
		d.say("decision: success; the promotion stays")
	default:
		return fmt.Errorf("canary monitor: decision %q, %v", decision, err)
	}
	want := map[bool]string{true: "success", false: "rollback"}[o.healthy]
	if decision != want {
		return fmt.Errorf("the canary decided %s where this demo expected %s: the loop did not do what it narrated", decision, want)
	}

	if decision == "rollback" {
		d.stepf("Flux reconciles the revert: the policy selects %s again; its binary, from its image, replaces %s", demoOld, demoNew)
		if _, err := d.reconcile(ctx, nil); err != nil {
			return err
		}
		d.stepf("verification watch: is %s healthy again? (canary monitor, decide only)", demoOld)
		cfg, err := d.writeCanary("verify.yaml", demoOld, 4, 2)
		if err != nil {
			return err
		}
		agent := d.current()
		outs, err := d.flightline(ctx, "canary-monitor", "--config", cfg, "--scrape", "http://"+agent.addr+"/metrics", "--version", demoOld,
			"--rollback=false", "--report", filepath.Join(d.dir, "verify-report.json"))
		if err != nil || outs["decision"] != "success" {
			return fmt.Errorf("verification watch of %s: decision %q, %v", demoOld, outs["decision"], err)
		}
		d.say("%s is healthy: %s", demoOld, "decision success")
	} else {
		d.step = demoSteps - 1 // no revert, no verification watch
	}

	d.stepf("what happened")
	after, err := d.policyRange(ctx)
	if err != nil {
		return err
	}
	wantAfter := map[bool]string{true: demoNew, false: demoOld}[o.healthy]
	if after != wantAfter {
		return fmt.Errorf("the platform repo pins %s after the loop, where %s was expected", after, wantAfter)
	}
	logOut, err := d.git(ctx, d.platform, "log", "--oneline", "--graph", "main")
	if err != nil {
		return err
	}
	d.say("platform repo %s, git log --oneline --graph main (a merge is a merged PR):", d.platform)
	for _, l := range strings.Split(strings.TrimSpace(logOut), "\n") {
		fmt.Fprintf(d.out, "      %s\n", l)
	}
	d.say("range before: %s, promoted: %s, after: %s (serving %s)", before.Range, pr["range"], after, d.current().version)
	d.say("step summary (markdown with the charts): %s", d.summary)
	if !o.keep {
		d.say("(temporary directory removed at exit; --keep keeps it)")
	}
	return a.rt.SetOutputs(
		[2]string{"platform-dir", d.platform},
		[2]string{"range-before", before.Range},
		[2]string{"range-after", after},
		[2]string{"summary", d.summary},
		[2]string{"decision", decision},
	)
}

// say writes one narrated line with the elapsed time.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) stepf(format string, args ...any) {
	d.step++
	d.stepMsg = fmt.Sprintf(format, args...)
	fmt.Fprintf(d.out, "[%5.1fs] ── step %d/%d: %s\n", time.Since(d.start).Seconds(), d.step, demoSteps, d.stepMsg)
}

func (d *demo) track(kind, what string) {
	if demoTrack != nil {
		demoTrack(kind, what)
	}
}

func (d *demo) imageRepo() string { return d.regHost + "/" + demoImage }

// demoSource finds Flightline's source tree: dir, or the module root at or above the current
// directory.
func demoSource(dir string) (string, error) {
	check := func(d string) bool {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err != nil || !regexp.MustCompile(`(?m)^module\s+`+regexp.QuoteMeta(demoModule)+`\s*$`).Match(b) {
			return false
		}
		_, e1 := os.Stat(filepath.Join(d, "examples", "agent", "main.go"))
		_, e2 := os.Stat(filepath.Join(d, "examples", "platform", promote.DefaultFile))
		return e1 == nil && e2 == nil
	}
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err == nil && check(abs) {
			return abs, nil
		}
		return "", fmt.Errorf("--source %q: not Flightline's source tree (want go.mod of %s with examples/agent and examples/platform)", dir, demoModule)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if check(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("the demo builds examples/agent from Flightline's source, and %s is not inside it: run it from a clone (go run ./cmd/flightline demo) or give --source DIR", wd)
		}
	}
}

func (d *demo) startRegistry(ctx context.Context) error {
	d.stepf("start an OCI registry in-process on loopback (go-containerregistry's pkg/registry, standing in for GHCR)")
	if err := ctx.Err(); err != nil {
		return err
	}
	d.regSrv = httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	d.regHost = strings.TrimPrefix(d.regSrv.URL, "http://")
	d.track("listener", d.regHost)
	d.say("registry at %s", d.regSrv.URL)
	return nil
}

// env is the environment of the subcommands the demo runs: the caller's, without anything that
// would make them act on GitHub (GITHUB_*, RUNNER_*, CI, action inputs), with the outputs and the
// step summary going to the demo's files.
func (d *demo) env(outputs string) func(string) string {
	return func(k string) string {
		switch {
		case k == "GITHUB_OUTPUT":
			return outputs
		case k == "GITHUB_STEP_SUMMARY":
			return d.summary
		case strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "RUNNER_"), strings.HasPrefix(k, actions.InputPrefix), k == "CI":
			return ""
		}
		return d.a.getenv(k)
	}
}

// environ lists the environment env(outputs) reads, for the processes the subcommands start.
func (d *demo) environ(outputs string) func() []string {
	return func() []string {
		get := d.env(outputs)
		out := []string{}
		if d.a.environ == nil {
			return out
		}
		for _, kv := range d.a.environ() {
			if k, _, _ := strings.Cut(kv, "="); get(k) != "" {
				out = append(out, k+"="+get(k))
			}
		}
		return out
	}
}

// flightline runs one subcommand in-process, its log indented under the narration, and returns
// its outputs. The error is the subcommand's (an *exitError keeps its code).
func (d *demo) flightline(ctx context.Context, args ...string) (map[string]string, error) {
	d.calls++
	outFile := filepath.Join(d.dir, fmt.Sprintf("outputs-%d-%s.txt", d.calls, args[0]))
	d.say("$ flightline %s", strings.Join(quoteArgs(args), " "))
	w := &indent{w: d.out, prefix: "      │ "}
	var stdout bytes.Buffer
	sub := &app{getenv: d.env(outFile), environ: d.environ(outFile), stdout: &stdout, stderr: w,
		rt: actions.New(actions.WithGetenv(d.env(outFile)), actions.WithStdout(&stdout), actions.WithStderr(w))}
	root := newRootCmd(sub)
	root.SetArgs(args)
	root.SetOut(&stdout)
	root.SetErr(w)
	err := root.ExecuteContext(ctx)
	w.flush()
	outs := map[string]string{}
	if b, rerr := os.ReadFile(outFile); rerr == nil {
		if outs, rerr = actions.ParseOutputs(string(b)); rerr != nil {
			return nil, fmt.Errorf("reading the outputs of flightline %s: %w", args[0], rerr)
		}
	}
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return outs, err
		}
		return outs, fmt.Errorf("flightline %s: %w", args[0], err)
	}
	return outs, nil
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"{}=*") && !strings.HasPrefix(a, "--") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

// git runs git in dir with an explicit identity (a fresh machine has none).
func (d *demo) git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "user.name=Flightline demo", "-c", "user.email=demo@flightline.invalid",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// makePlatform makes the platform repository: a bare repository (as on a server: the forge
// moves refs, nobody's working tree goes stale) whose main holds examples/platform.
func (d *demo) makePlatform(ctx context.Context) error {
	seed := filepath.Join(d.dir, "platform-seed")
	d.platform = filepath.Join(d.dir, "platform.git")
	if err := os.MkdirAll(seed, 0o755); err != nil {
		return err
	}
	if _, err := d.git(ctx, seed, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	for _, f := range []string{promote.DefaultFile, "README.md"} {
		b, err := os.ReadFile(filepath.Join(d.src, "examples", "platform", f))
		if err != nil {
			return fmt.Errorf("reading examples/platform: %w", err)
		}
		if err := os.WriteFile(filepath.Join(seed, f), b, 0o644); err != nil {
			return err
		}
	}
	if _, err := d.git(ctx, seed, "add", "."); err != nil {
		return err
	}
	if _, err := d.git(ctx, seed, "commit", "-q", "-m", "platform: prod pinned to "+demoOld+" (from examples/platform)"); err != nil {
		return err
	}
	if _, err := d.git(ctx, d.dir, "clone", "-q", "--bare", seed, d.platform); err != nil {
		return err
	}
	if err := os.RemoveAll(seed); err != nil {
		return err
	}
	d.say("%s (bare, standing in for the platform repo on GitHub): ImagePolicy %s pins range %q for image ghcr.io/%s, which the embedded registry serves here", d.platform, demoPolicy, demoOld, demoImage)
	return nil
}

// policyRange reads the prod policy's range on the platform repo's main branch.
func (d *demo) policyRange(ctx context.Context) (string, error) {
	f, err := gitforge.Open(ctx, d.platform)
	if err != nil {
		return "", err
	}
	data, err := f.ReadFile(ctx, "main", promote.DefaultFile)
	if err != nil {
		return "", err
	}
	ref, err := imagepolicy.ParseRef(demoPolicy)
	if err != nil {
		return "", err
	}
	p, err := imagepolicy.Find(data, ref)
	if err != nil {
		return "", err
	}
	return p.Range, nil
}

// reconcile does Flux's part: resolve the policy's range against the registry, take the agent
// binary out of that image and run it in place of the current one, with faults (env) injected.
func (d *demo) reconcile(ctx context.Context, faults []string) (imagepolicy.Resolution, error) {
	rng, err := d.policyRange(ctx)
	if err != nil {
		return imagepolicy.Resolution{}, err
	}
	res, err := imagepolicy.Resolve(ctx, rng, d.imageRepo(), registry.New(registry.WithGetenv(d.env(""))))
	if err != nil {
		return res, err
	}
	d.say("range %q selects tag %s (%s)", res.Range, res.Tag, short(res.Digest))
	bin, err := d.extract(ctx, res)
	if err != nil {
		return res, err
	}
	next, err := d.startAgent(ctx, res.Tag, bin, faults)
	if err != nil {
		return res, err
	}
	d.mu.Lock()
	d.agents = append(d.agents, next)
	d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var prev *agentProc
	d.mu.Lock()
	if n := len(d.agents); n > 1 {
		prev = d.agents[n-2]
	}
	d.mu.Unlock()
	if d.load == nil {
		d.load = startLoad(next.addr)
		d.say("load generator: %d chat requests a second", demoLoadRate)
	} else {
		d.load.target.Store(next.addr)
	}
	if prev != nil && prev != next {
		prev.stop()
		d.say("stopped agent %s (pid %d)", prev.version, prev.cmd.Process.Pid)
	}
	return res, nil
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}

// extract pulls the image by digest and writes its /usr/local/bin/agent.
func (d *demo) extract(ctx context.Context, res imagepolicy.Resolution) (string, error) {
	ref, err := name.ParseReference(d.imageRepo() + "@" + res.Digest)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", ref, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	want := strings.TrimPrefix(build.BinDir, "/") + "/agent"
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("image %s has no %s", ref, "/"+want)
		}
		if err != nil {
			return "", fmt.Errorf("reading the layers of %s: %w", ref, err)
		}
		if strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/") != want || h.Typeflag != tar.TypeReg {
			continue
		}
		dst := filepath.Join(d.dir, "run", "agent-"+res.Tag)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return "", err
		}
		n, err := io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("writing %s: %w", dst, err)
		}
		d.say("took /%s (%.1f MB) out of %s", want, float64(n)/1e6, ref)
		return dst, nil
	}
}

// agentProc is one running agent binary: the demo's stand-in for a pod.
type agentProc struct {
	version, addr string
	cmd           *exec.Cmd
	done          chan struct{}
	once          sync.Once
}

var listening = regexp.MustCompile(`listening on http://(\S+)`)

func (d *demo) startAgent(ctx context.Context, version, bin string, faults []string) (*agentProc, error) {
	logf, err := os.Create(filepath.Join(d.dir, "run", "agent-"+version+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, faults...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = logf, io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting agent %s: %w", version, err)
	}
	p := &agentProc{version: version, cmd: cmd, done: make(chan struct{})}
	d.track("process", fmt.Sprint(cmd.Process.Pid))
	go func() { _ = cmd.Wait(); pw.Close(); logf.Close(); close(p.done) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case p.addr = <-addr:
	case <-p.done:
		b, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("agent %s exited at start: %s", version, strings.TrimSpace(string(b)))
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("agent %s did not say where it listens within 10 s", version)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	d.track("listener", p.addr)
	injected := "no faults"
	if len(faults) > 0 {
		injected = "fault injected: " + strings.Join(faults, " ")
	}
	d.say("agent %s running as pid %d on http://%s (%s) — a process standing in for the pod", version, cmd.Process.Pid, p.addr, injected)
	return p, nil
}

// stop ends the process (SIGTERM, SIGKILL after 5 s) and waits for it.
func (p *agentProc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func (d *demo) current() *agentProc {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.agents) == 0 {
		return nil
	}
	return d.agents[len(d.agents)-1]
}

// loadGen posts chat requests to the current agent at demoLoadRate a second.
type loadGen struct {
	target atomic.Value // host:port
	cancel context.CancelFunc
	done   chan struct{}
	client *http.Client
}

func startLoad(addr string) *loadGen {
	ctx, cancel := context.WithCancel(context.Background())
	l := &loadGen{cancel: cancel, done: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	l.target.Store(addr)
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second / demoLoadRate)
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"messages":[{"role":"user","content":"demo question %d"}]}`, i)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+l.target.Load().(string)+"/v1/chat", strings.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if resp, err := l.client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	}()
	return l
}

func (l *loadGen) stop() {
	l.cancel()
	<-l.done
	l.client.CloseIdleConnections()
}

// writeCanary writes the demo's analysis: the runbook's checks (success rate ≥ 99 %, p99
// duration ≤ 1500 ms, the rate of ai_ir_failures_total), scaled from minutes to seconds, run
// blue/green as Flagger runs it: success after `passes` passing checks (iterations passes-1,
// plus the check Flagger makes before it promotes), rollback at the threshold-th failed check.
// The monitor gets --version, so it waits until a series of that version serves.
func (d *demo) writeCanary(file, version string, passes, threshold int) (string, error) {
	cfg := fmt.Sprintf(`# The runbook's gate, scaled from minutes to seconds for the demo (version %s).
apiVersion: flightline.dev/v1alpha1
kind: CanaryMonitor
metadata: {name: agent, namespace: ai-agents-prod}
spec:
  analysis:
    interval: 1s
    iterations: %d # blue/green: Flagger promotes after iterations + 1 passing checks
    threshold: %d
    selector: 'job="agent"'
    minRequests: 10 # our guard, off unless set: an idle agent is inconclusive, never a pass
    readyTimeout: 20s
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 4s
      - name: request-duration
        thresholdRange: {max: 1500}
        interval: 4s
      - name: ai-failure-rate
        thresholdRange: {max: 0.5}
        interval: 4s
`, version, passes-1, threshold)
	p := filepath.Join(d.dir, file)
	return p, os.WriteFile(p, []byte(cfg), 0o644)
}

// cleanup stops everything the demo started, says where an interruption stopped it, and removes
// the temporary directory unless --keep.
func (d *demo) cleanup(ctx context.Context, err error) error {
	interrupted := ctx.Err() != nil
	var stopped []string
	if d.load != nil {
		d.load.stop()
		stopped = append(stopped, "the load generator")
	}
	d.mu.Lock()
	agents := append([]*agentProc(nil), d.agents...)
	d.mu.Unlock()
	for _, p := range agents {
		select {
		case <-p.done:
			continue
		default:
		}
		p.stop()
		stopped = append(stopped, fmt.Sprintf("agent %s (pid %d)", p.version, p.cmd.Process.Pid))
	}
	if d.regSrv != nil {
		d.regSrv.Close()
		stopped = append(stopped, "the registry")
	}
	if interrupted {
		where := "before the first step"
		if d.step > 0 {
			where = fmt.Sprintf("at step %d/%d — %s —", d.step, demoSteps, d.stepMsg)
		}
		what := "nothing was running"
		if len(stopped) > 0 {
			what = "stopped " + strings.Join(stopped, ", ")
		}
		d.say("interrupted %s %s", where, what)
	} else if err != nil && d.step > 0 {
		d.say("failed at step %d/%d — %s — %v", d.step, demoSteps, d.stepMsg, err)
	}
	if d.dir != "" {
		if d.o.keep {
			d.say("kept %s", d.dir)
		} else if rerr := os.RemoveAll(d.dir); rerr != nil && err == nil {
			err = fmt.Errorf("removing %s: %w", d.dir, rerr)
		}
	}
	if interrupted && err == nil {
		err = ctx.Err()
	}
	return err
}

// indent prefixes every line written to w.
type indent struct {
	w      io.Writer
	prefix string
	buf    []byte
	mu     sync.Mutex
}

func (i *indent) Write(p []byte) (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.buf = append(i.buf, p...)
	for {
		n := bytes.IndexByte(i.buf, '\n')
		if n < 0 {
			return len(p), nil
		}
		if _, err := fmt.Fprintf(i.w, "%s%s\n", i.prefix, i.buf[:n]); err != nil {
			return len(p), err
		}
		i.buf = i.buf[n+1:]
	}
}

func (i *indent) flush() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.buf) > 0 {
		fmt.Fprintf(i.w, "%s%s\n", i.prefix, i.buf)
		i.buf = nil
	}
}
