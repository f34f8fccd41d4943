// Command agent is a small AI-agent service for Flightline's demo, build and canary tests: a
// deterministic fake chat model behind POST /v1/chat, /healthz, Prometheus /metrics, and fault
// injection (error rate, added latency, AI failure rate) by environment and by an admin endpoint.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set at build time: -ldflags "-X main.version=1.5.0".
var version = "dev"

func main() {
	addr := flag.String("addr", defaultAddr(os.Getenv),
		"listen address (default 127.0.0.1:8080, loopback only; :8080, every interface, in a Kubernetes pod)")
	flag.Parse()
	faults, err := faultsFromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("agent: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, faults, os.Stderr); err != nil {
		log.Fatalf("agent: %v", err)
	}
}

// defaultAddr is where the agent listens without -addr: on loopback only (127.0.0.1:8080) on a
// workstation, where nothing else should reach it, and on every interface (:8080) in a Kubernetes
// pod (KUBERNETES_SERVICE_HOST is set in every container), where the kubelet's probes and the
// Service reach it through the pod's IP.
func defaultAddr(getenv func(string) string) string {
	if getenv("KUBERNETES_SERVICE_HOST") != "" {
		return ":8080"
	}
	return "127.0.0.1:8080"
}

// serve listens on addr and serves the agent until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, addr string, faults Faults, logw interface{ Write([]byte) (int, error) }) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	a := New(version, faults)
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(logw, "agent %s listening on http://%s (faults: %s)\n", version, ln.Addr(), faults)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
