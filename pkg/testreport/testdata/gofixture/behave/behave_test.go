// Package behave has behavioural tests that pass at a set rate, like an agent whose answers
// vary: FIXTURE_RATE_<NAME> is the rate of the test (or subtest) NAME. The draws come from a
// counter in FIXTURE_BEHAVE_DIR hashed with FIXTURE_SEED, so a sequence of runs is random but
// reproducible.
package behave

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func draw(t *testing.T) float64 {
	dir := os.Getenv("FIXTURE_BEHAVE_DIR")
	if dir == "" {
		t.Skip("FIXTURE_BEHAVE_DIR not set")
	}
	name := strings.NewReplacer("/", "_").Replace(t.Name())
	counter := filepath.Join(dir, name)
	n := 0
	if b, err := os.ReadFile(counter); err == nil {
		n, _ = strconv.Atoi(string(b))
	}
	if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", os.Getenv("FIXTURE_SEED"), name, n))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

func rate(t *testing.T) float64 {
	name := strings.NewReplacer("/", "_").Replace(t.Name())
	r, err := strconv.ParseFloat(os.Getenv("FIXTURE_RATE_"+name), 64)
	if err != nil {
		t.Fatalf("FIXTURE_RATE_%s: %v", name, err)
	}
	return r
}

func TestAnswer(t *testing.T) {
	if d := draw(t); d >= rate(t) {
		t.Errorf("answer wrong (draw %.3f)", d)
	}
}

func TestPrompts(t *testing.T) {
	for _, p := range []string{"greeting", "refund", "cancel"} {
		t.Run(p, func(t *testing.T) {
			if d := draw(t); d >= rate(t) {
				t.Errorf("answer to %s wrong (draw %.3f)", p, d)
			}
		})
	}
}

func TestUnit(t *testing.T) {}
