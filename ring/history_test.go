package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBootstrapIsHistoryFree checks that a history of one bootstrap group
// gives the history-free ring, whether it is at epoch 0 (the fast path) or
// replayed at a later epoch, with zones and weights.
func TestBootstrapIsHistoryFree(t *testing.T) {
	for _, members := range [][]Member{nodes(1), nodes(2), nodes(17), zoned(2, 3, 4), zoned(5, 5)} {
		members[0].Weight = 2
		want := mustNew(t, members, DefaultConfig())
		late := slices.Clone(members)
		for i := range late {
			late[i].Joined = 7
		}
		// A node that joined and left before the bootstrap group is
		// history only.
		late = append(late, Member{ID: "gone", Joined: 2, Removed: 5})
		got := mustNew(t, late, DefaultConfig())
		if !slices.EqualFunc(got.prefs, want.prefs, slices.Equal) {
			t.Errorf("%d members bootstrapped at epoch 7: ring differs from the history-free one", len(members))
		}
		if got.Size() != len(members) {
			t.Errorf("Size = %d, want %d", got.Size(), len(members))
		}
	}
}

// TestHistorySmall walks a history through the sizes below and around N,
// where every member holds every partition, checking preference lists
// stay permutations of the members and Moves stays exact.
func TestHistorySmall(t *testing.T) {
	h := &hist{records: []Member{{ID: "a"}}}
	steps := []func(){
		func() { h.join(Member{ID: "b"}) },
		func() { h.join(Member{ID: "c"}) },
		func() { h.join(Member{ID: "d"}) },
		func() { h.remove(0) },
		func() { h.remove(0) },
		func() { h.remove(0) },
		func() { h.join(Member{ID: "e"}) },
		func() { h.remove(0); h.epoch--; h.join(Member{ID: "f"}) }, // same epoch
	}
	prev := mustNew(t, h.records, DefaultConfig())
	for i, step := range steps {
		step()
		r := mustNew(t, h.records, DefaultConfig())
		checkMoves(t, prev, r)
		checkLists(t, r)
		if want := min(3, r.Size()) * r.Partitions(); changedTotal(r) != want {
			t.Fatalf("step %d: %d replica-partitions, want %d", i, changedTotal(r), want)
		}
		prev = r
	}
}

// changedTotal counts the replica-partitions of r.
func changedTotal(r *Ring) int {
	n := 0
	for _, l := range loads(r) {
		n += l
	}
	return n
}

// checkLists verifies every preference list is a permutation of the
// members with distinct primaries first.
func checkLists(t *testing.T, r *Ring) {
	t.Helper()
	var want []string
	for _, m := range r.Members() {
		want = append(want, m.ID)
	}
	for p := range uint32(r.Partitions()) {
		got := slices.Sorted(slices.Values(r.PartitionPreferenceList(p, r.Size())))
		if !slices.Equal(got, want) {
			t.Fatalf("partition %d: list %v is not a permutation of %v", p, got, want)
		}
	}
}

// TestHistoryZones joins and removes nodes of random zones one epoch at a
// time, starting from 2 zones (no spread) so that a join first gives the
// ring 3 zones, and checks that once 3 zones exist the primaries of every
// partition are in distinct zones, and that balance and movement stay
// within bounds while the zones are equal in size.
func TestHistoryZones(t *testing.T) {
	seed := *seedFlag
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	cfg := DefaultConfig()
	h := &hist{records: []Member{{ID: "a0", Zone: "z0"}, {ID: "b0", Zone: "z1"}, {ID: "b1", Zone: "z1"}}}
	prev := mustNew(t, h.records, cfg)
	for i := range 40 {
		if i > 5 && rng.IntN(4) == 0 {
			h.remove(rng.IntN(h.live()))
		} else {
			h.join(Member{ID: randomName(rng), Zone: fmt.Sprintf("z%d", rng.IntN(3))})
		}
		r := mustNew(t, h.records, cfg)
		moved := checkMoves(t, prev, r)
		checkLists(t, r)
		zoneOf := make(map[string]string)
		for _, m := range r.Members() {
			zoneOf[m.ID] = m.Zone
		}
		if !spreadZones(r.Members(), cfg.Replicas) {
			prev = r
			continue
		}
		for p := range uint32(r.Partitions()) {
			seen := make(map[string]bool)
			for _, id := range r.Primaries(p) {
				if seen[zoneOf[id]] {
					t.Fatalf("step %d partition %d: primaries %v share zone %s", i, p, r.Primaries(p), zoneOf[id])
				}
				seen[zoneOf[id]] = true
			}
		}
		maxLoad, mean := balance(r)
		t.Logf("step %d: %d members, max load %d, mean %.1f, moved %d (optimum about %.1f)",
			i, r.Size(), maxLoad, mean, moved, float64(cfg.Replicas*cfg.Partitions)/float64(max(r.Size(), prev.Size())))
		prev = r
	}
}

// TestHistoryWeights joins a weight-2 and a weight-0.5 node into a
// replayed ring and checks their loads follow their weights.
func TestHistoryWeights(t *testing.T) {
	h := &hist{records: nodes(8)}
	h.join(Member{ID: "heavy", Weight: 2})
	h.join(Member{ID: "light", Weight: 0.5})
	h.join(Member{ID: "n100"})
	r := mustNew(t, h.records, DefaultConfig())
	l := loads(r)
	unit := float64(3*256) / 10.5
	for id, w := range map[string]float64{"heavy": 2, "light": 0.5, "n000": 1, "n100": 1} {
		if got := float64(l[id]) / unit; math.Abs(got/w-1) > 0.1 {
			t.Errorf("%s holds %d replica-partitions, %.2f× a weight-1 share, want %.1f×", id, l[id], got, w)
		}
	}
}
