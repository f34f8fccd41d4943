package promtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labrats-work/flightline/internal/testenv"
)

// Install is how to get the prometheus binary on Debian.
const Install = "apt-get install -y --no-install-recommends prometheus"

// ScrapeInterval is the scrape (and rule evaluation) interval of every server Start runs.
const ScrapeInterval = time.Second

// Server is a running Prometheus scraping the given targets every ScrapeInterval under the job
// name "agent". It stops when the test ends.
type Server struct {
	URL string // http://127.0.0.1:PORT

	cmd     *exec.Cmd
	done    chan struct{}
	log     *syncBuffer
	stopped sync.Once

	bin, cfgPath, tsdb, addr string
}

// Start runs prometheus against targets (host:port, scraped at /metrics) with a temporary
// configuration and TSDB, and waits until it is ready. Without the binary the test is skipped,
// or fails under CI=true.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin := testenv.LookPath(t, "prometheus", Install)
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: agent
    static_configs:
      - targets: [%[2]s]
`, ScrapeInterval, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("promtest: writing config: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken between probe and bind
		s, err := start(bin, cfgPath, filepath.Join(dir, fmt.Sprintf("tsdb%d", attempt)))
		if err == nil {
			t.Cleanup(func() {
				s.Stop()
				if t.Failed() {
					t.Logf("prometheus log:\n%s", s.log.String())
				}
			})
			return s
		}
		lastErr = err
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
}

func start(bin, cfgPath, tsdb string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{URL: "http://" + addr, log: &syncBuffer{}, bin: bin, cfgPath: cfgPath, tsdb: tsdb, addr: addr}
	return s, s.run()
}

// run starts the process and waits until it is ready.
func (s *Server) run() error {
	bin := s.bin
	s.done = make(chan struct{})
	s.cmd = exec.Command(bin,
		"--config.file="+s.cfgPath,
		"--storage.tsdb.path="+s.tsdb,
		"--web.listen-address="+s.addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	done := s.done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case <-done:
			return fmt.Errorf("prometheus exited before it was ready:\n%s", s.log.String())
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("prometheus not ready at %s after 30s:\n%s", s.URL, s.log.String())
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// Stop terminates Prometheus (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Tests
// call it to take Prometheus away mid-run; it is also called when the test ends.
func (s *Server) Stop() {
	s.stopped.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Restart starts a stopped Prometheus again on the same address and TSDB (what it scraped
// before the stop is still there), and waits until it is ready.
func (s *Server) Restart() error {
	s.Stop()
	s.stopped = sync.Once{}
	return s.run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
