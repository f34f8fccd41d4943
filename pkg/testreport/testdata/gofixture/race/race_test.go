package race

import "testing"

func TestRace(t *testing.T) {
	x := 0
	done := make(chan bool)
	go func() {
		x++
		done <- true
	}()
	x++
	<-done
	_ = x
}
