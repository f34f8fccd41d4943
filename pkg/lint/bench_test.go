package lint

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/labrats-work/flightline/internal/testenv"
)

// repoRoot is this repository (the benchmark lints it).
func repoRoot(b *testing.B) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkLint_ThisRepository runs flightline's linters on this repository and reports
// Flightline's own time (wall time minus the time during which a linter process ran) as a share
// of the wall time, each linter's time, and the wall time of running the same command lines by
// hand, one after another. Run: go test ./pkg/lint -run '^$' -bench Lint_ThisRepository -benchtime 3x
func BenchmarkLint_ThisRepository(b *testing.B) {
	root := repoRoot(b)
	repo, err := OpenRepo(context.Background(), root, root)
	if err != nil {
		b.Fatal(err)
	}
	linters, err := Select(repo, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range linters {
		testenv.LookPath(b, l.Program, l.Install)
	}
	b.Run("flightline", func(b *testing.B) {
		var wall, in time.Duration
		per := map[string]time.Duration{}
		for i := 0; i < b.N; i++ {
			rep, err := Run(context.Background(), repo, Options{})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rep.Results {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				per[r.Linter.Name] += r.Elapsed
			}
			wall += rep.Wall
			in += rep.InLinters
		}
		n := float64(b.N)
		b.ReportMetric(wall.Seconds()/n, "wall-s/op")
		b.ReportMetric((wall-in).Seconds()/n*1000, "own-ms/op")
		b.ReportMetric(100*float64(wall-in)/float64(wall), "own-%")
		for name, d := range per {
			b.ReportMetric(d.Seconds()/n, name+"-s/op")
		}
	})
	b.Run("by-hand-sequential", func(b *testing.B) {
		var wall time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			for _, l := range linters {
				prog, _ := exec.LookPath(l.Program)
				_ = exec.Command(prog, l.VersionArgs...).Run()
				for _, inv := range l.Plan(repo, nil) {
					cmd := exec.Command(prog, inv.Args...)
					cmd.Dir = filepath.Join(root, inv.Dir)
					_ = cmd.Run() // findings exit non-zero; only the time counts here
				}
			}
			wall += time.Since(start)
		}
		b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/op")
	})
}
