//go:build !lean

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/internal/testenv"
	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/marker"
	"github.com/labrats-work/flightline/pkg/promote"
)

// started records what a demo run started, through demoTrack.
type started struct {
	mu        sync.Mutex
	pids      []int
	listeners []string
	onEvent   func(kind, what string, n int) // n: how many events so far
}

func trackDemo(t *testing.T) *started {
	t.Helper()
	s := &started{}
	demoTrack = func(kind, what string) {
		s.mu.Lock()
		switch kind {
		case "process":
			pid, err := strconv.Atoi(what)
			require.NoError(t, err)
			s.pids = append(s.pids, pid)
		case "listener":
			s.listeners = append(s.listeners, what)
		}
		n := len(s.pids) + len(s.listeners)
		f := s.onEvent
		s.mu.Unlock()
		if f != nil {
			f(kind, what, n)
		}
	}
	t.Cleanup(func() { demoTrack = nil })
	return s
}

// assertNothingLeft checks that every process the demo started is gone and nothing it
// listened on still accepts connections.
func (s *started) assertNothingLeft(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.listeners, "the demo reported no listener: the tracking is broken")
	for _, pid := range s.pids {
		err := syscall.Kill(pid, 0)
		assert.True(t, errors.Is(err, syscall.ESRCH), "process %d is still there (kill -0: %v)", pid, err)
	}
	for _, addr := range s.listeners {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		assert.Error(t, err, "%s still accepts connections", addr)
	}
}

func runDemoCLI(ctx context.Context, t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	// A newcomer's terminal (this run's own outputs print on stdout), with what the demo must not
	// pass on to its subcommands.
	env := terminalEnv(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "must-not-be-used",
		actions.InputPrefix + "POLICY": "must/not-leak"})
	code = run(ctx, append([]string{"demo"}, args...), &out, &errb, func(k string) string { return env[k] }, environOf(env))
	return code, out.String(), errb.String()
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// TestDemo_EndToEnd runs both variants of the demo as a newcomer would and checks what it says
// against the platform repository it leaves (--keep), and that it leaves nothing running.
func TestDemo_EndToEnd(t *testing.T) {
	testenvGit(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "platform", promote.DefaultFile))
	require.NoError(t, err)
	tests := []struct {
		name     string
		args     []string
		decision string
		after    string
		reverts  int
	}{
		{"bad release: rolled back", nil, "rollback", "1.4.0", 1},
		{"healthy release: stays", []string{"--healthy"}, "success", "1.5.0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.decision == "success" {
				testenv.CIOnly(t, "the --healthy variant; the README's demo runs everywhere")
			}
			s := trackDemo(t)
			start := time.Now()
			code, stdout, stderr := runDemoCLI(context.Background(), t, append(tc.args, "--keep")...)
			t.Logf("loop wall time (after compilation): %s", time.Since(start).Round(100*time.Millisecond))
			require.Equal(t, 0, code, stderr)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			assert.Equal(t, "decision="+tc.decision, lines[len(lines)-1], "the last line")
			outs, err := actions.ParseOutputs(stdout)
			require.NoError(t, err)
			dir := filepath.Dir(outs["platform-dir"])
			require.True(t, strings.HasPrefix(filepath.Base(dir), "flightline-demo-"), dir)
			t.Cleanup(func() { os.RemoveAll(dir) })
			s.assertNothingLeft(t)

			assert.Equal(t, "1.4.0", outs["range-before"])
			assert.Equal(t, tc.after, outs["range-after"])
			for _, want := range []string{"step 1/9", "step 9/9", "a local process for the pod", "local git repository for the platform repo",
				"scrape provider", "took /usr/local/bin/agent", "git log --oneline", "step summary"} {
				assert.Contains(t, stderr, want)
			}
			assert.NotContains(t, stderr, "must-not-be-used")

			// The platform repository: the file on main, the merged promotion, the revert.
			plat := outs["platform-dir"]
			file := gitOut(t, plat, "show", "main:"+promote.DefaultFile)
			if tc.decision == "rollback" {
				assert.Equal(t, string(example), file, "the revert restores the file byte for byte")
			} else {
				assert.Equal(t, strings.Replace(string(example), `range: "1.4.0"`, `range: "1.5.0"`, 1), file, "the promotion changed one value")
			}
			log := gitOut(t, plat, "log", "--first-parent", "--format=%B%x00", "main")
			var promotions, reverts []string
			for _, msg := range strings.Split(log, "\x00") {
				if strings.Contains(msg, "flightline:promotion") {
					promotions = append(promotions, msg)
				}
				if strings.Contains(msg, "flightline:revert") {
					reverts = append(reverts, msg)
				}
			}
			require.Len(t, promotions, 1, "one merged promotion")
			require.Len(t, reverts, tc.reverts)
			if tc.reverts > 0 {
				m, err := marker.ParseRevert(reverts[0])
				require.NoError(t, err)
				assert.Equal(t, "canary", m.Trigger)
				assert.Equal(t, "1.4.0", m.RestoredRange)
				assert.NotEmpty(t, m.Checks)
			}

			sum, err := os.ReadFile(outs["summary"])
			require.NoError(t, err)
			assert.Contains(t, string(sum), "xychart-beta", "the step summary has the charts")
			assert.Contains(t, string(sum), "canary agent: "+tc.decision)
			for _, r := range []string{"canary-report.json", "run/agent-1.5.0.log"} {
				_, err := os.Stat(filepath.Join(dir, r))
				assert.NoError(t, err)
			}
		})
	}
}

// TestDemo_CtrlCStopsEverything cancels the run at different steps: it must stop what it started,
// say where it stopped, remove its directory and exit 130.
func TestDemo_CtrlCStopsEverything(t *testing.T) {
	testenv.CIOnly(t, "starts the demo three times to interrupt it")
	testenvGit(t)
	tests := []struct {
		name  string
		after func(kind string, n int) bool // cancel once this event happened
		delay time.Duration
		where string
	}{
		{"while building", func(kind string, n int) bool { return kind == "listener" && n == 1 }, 300 * time.Millisecond, "step 2/9"},
		{"as 1.5.0 starts", func(kind string, n int) bool { return kind == "listener" && n == 5 }, 0, "step 5/9"},
		{"during the canary", func(kind string, n int) bool { return kind == "listener" && n == 5 }, 2 * time.Second, "step 6/9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := trackDemo(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			s.onEvent = func(kind, _ string, n int) {
				if tc.after(kind, n) {
					once.Do(func() {
						if tc.delay == 0 {
							cancel()
						} else {
							time.AfterFunc(tc.delay, cancel)
						}
					})
				}
			}
			code, stdout, stderr := runDemoCLI(ctx, t)
			assert.Equal(t, 130, code, stderr)
			assert.NotContains(t, stdout, "decision=")
			assert.Contains(t, stderr, "interrupted at "+tc.where, stderr)
			t.Logf("%s", stderr[strings.LastIndex(stderr[:len(stderr)-1], "\n")+1:])
			assert.Contains(t, stderr, "stopped ")
			s.assertNothingLeft(t)
			dir := regexpDemoDir(stderr)
			require.NotEmpty(t, dir)
			_, err := os.Stat(dir)
			assert.True(t, os.IsNotExist(err), "the temporary directory %s is removed", dir)
		})
	}
}

func regexpDemoDir(stderr string) string {
	_, rest, ok := strings.Cut(stderr, "Everything runs on this machine, in ")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.Fields(rest)[0], ".")
}

func TestDemo_NeedsTheSourceTree(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "demo", "--source", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not Flightline's source tree")
}

// BenchmarkDemo measures the loop (after compilation): the rollback variant, end to end.
func BenchmarkDemo(b *testing.B) {
	for b.Loop() {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"demo"}, &out, &errb, os.Getenv, os.Environ); code != 0 {
			b.Fatalf("demo exited %d:\n%s", code, errb.String())
		}
	}
}

func testenvGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the demo needs git: %v", err)
	}
}
