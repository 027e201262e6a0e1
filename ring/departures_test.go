package ring

import (
	"slices"
	"testing"
)

func TestDepartures(t *testing.T) {
	cfg := Config{Partitions: 32, Replicas: 3}
	mk := func(ms ...Member) *Ring {
		t.Helper()
		r, err := New(ms, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, c, d := Member{ID: "a"}, Member{ID: "b"}, Member{ID: "c"}, Member{ID: "d"}
	r4 := mk(a, b, c, d)
	goneD := d
	goneD.Removed = 1
	r3 := mk(a, b, c, goneD)

	got := Departures(r4, r3)
	want := r4.PrimaryPartitions("d")
	if len(got) != len(want) {
		t.Fatalf("Departures lists %d partitions, want d's %d", len(got), len(want))
	}
	for _, p := range want {
		if !slices.Equal(got[p], []string{"d"}) {
			t.Errorf("partition %d: departures %v, want [d]", p, got[p])
		}
	}
	// A join moves partitions but nobody departs; neither does a nil ring.
	for name, d := range map[string]map[uint32][]string{
		"join": Departures(r3, r4), "same": Departures(r4, r4), "nil prev": Departures(nil, r4), "nil next": Departures(r4, nil),
	} {
		if len(d) != 0 {
			t.Errorf("%s: Departures = %v, want none", name, d)
		}
	}
}
