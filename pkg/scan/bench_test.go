package scan_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/labrats-work/flightline/internal/registrytest"
	"github.com/labrats-work/flightline/internal/trivytest"
	"github.com/labrats-work/flightline/pkg/scan"
)

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkOverhead runs Trivy by itself and flightline's scan (resolve, DB freshness check,
// ignore file, the same Trivy, report parsing with Trivy's types, verdict, report file) on the
// same image and DB, alternating, at least 5 rounds, and reports both medians and the
// overhead (target ≤ 100 ms):
//
//	go test ./pkg/scan -run '^$' -bench Overhead -benchtime 7x
func BenchmarkOverhead(b *testing.B) {
	e := newEnv(b)
	reg := registrytest.New(b)
	ref := trivytest.Push(b, reg.Ref("acme/agent:1"), trivytest.Alpine(b, "linux/amd64", full))
	ignore := filepath.Join(b.TempDir(), "active.yaml")
	if err := os.WriteFile(ignore, []byte("vulnerabilities: []\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "trivy.json")
	direct := func() time.Duration {
		start := time.Now()
		cmd := exec.Command(e.trivy, "image", "--cache-dir", e.cache, "--skip-db-update", "--skip-version-check", "--disable-telemetry",
			"--scanners", "vuln", "--format", "json", "--show-suppressed", "--ignorefile", ignore, "--no-progress", "--quiet",
			"--output", out, "--image-src", "remote", ref)
		cmd.Env = []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("trivy: %v\n%s", err, o)
		}
		return time.Since(start)
	}
	viaScan := func() time.Duration {
		o := e.options(b, ref)
		o.Logf = nil
		start := time.Now()
		if _, err := scan.Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	direct() // warm the page cache
	var ds, fs []time.Duration
	rounds := max(b.N, 5)
	b.ResetTimer()
	for range rounds {
		ds = append(ds, direct())
		fs = append(fs, viaScan())
	}
	b.StopTimer()
	md, mf := median(ds), median(fs)
	b.ReportMetric(float64(md.Milliseconds()), "trivy-ms")
	b.ReportMetric(float64(mf.Milliseconds()), "flightline-ms")
	b.ReportMetric(float64((mf - md).Milliseconds()), "overhead-ms")
	b.ReportMetric(float64(rounds), "rounds")
}

// BenchmarkWarmCacheDBDownloads scans with a fresh cached DB and the DB repository pointing at
// a registry that serves it: the registry must see no DB request (target: 0 downloads).
//
//	go test ./pkg/scan -run '^$' -bench WarmCache -benchtime 5x
func BenchmarkWarmCacheDBDownloads(b *testing.B) {
	e := newEnv(b)
	reg := registrytest.New(b)
	dbRef := reg.Ref("aquasecurity/trivy-db:2")
	trivytest.PushDB(b, dbRef, trivytest.Meta(time.Now()))
	ref := trivytest.Push(b, reg.Ref("acme/agent:1"), trivytest.Alpine(b, "linux/amd64", clean))
	reg.Reset()
	downloads := 0
	for b.Loop() {
		o := e.options(b, ref)
		o.Logf = nil
		o.DB.Repositories = []string{dbRef}
		res, err := scan.Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if res.DB.Downloaded {
			downloads++
		}
	}
	b.ReportMetric(float64(downloads), "db-downloads")
	b.ReportMetric(float64(dbRequests(reg)), "db-requests")
}
