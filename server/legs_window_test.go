package server

import (
	"testing"
	"time"
)

func TestLegWindowKeepsTheNewest(t *testing.T) {
	var w window
	for i := range legWindow + 10 {
		w.add(time.Duration(i))
	}
	got := w.ordered()
	if len(got) != legWindow || got[0] != 10 || got[len(got)-1] != legWindow+9 {
		t.Errorf("window holds %d, from %v to %v; want the last %d, 10 to %d", len(got), got[0], got[len(got)-1], legWindow, legWindow+9)
	}
}
