package fail

import "testing"

func TestAdd(t *testing.T) {
	t.Logf("adding")
	if got := 1 + 1; got != 3 {
		t.Errorf("1+1 = %d, want 3", got)
	}
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   int
	}{{"positive", 1}, {"negative", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in < 0 {
				t.Fatalf("input %d is negative", tc.in)
			}
		})
	}
}

func TestOK(t *testing.T) {}
