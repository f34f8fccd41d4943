package pass

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

func TestSlow(t *testing.T) { time.Sleep(30 * time.Millisecond) }

func TestSkipped(t *testing.T) {
	t.Skip("needs a GPU")
}

func TestTable(t *testing.T) {
	for _, name := range []string{"one", "two words"} {
		t.Run(name, func(t *testing.T) {
			t.Logf("case %s", name)
		})
	}
}
