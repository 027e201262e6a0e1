package handoff

import (
	"context"
	"testing"

	"github.com/chorusdb/chorus/ring"
)

// RingBefore decides what a node with no handoff state pulls: nothing when
// it founded the cluster, its partitions when it joined later or when its
// data was wiped.
func TestRingBefore(t *testing.T) {
	mem := func(id string, joined, removed uint64) ring.Member {
		return ring.Member{ID: id, Weight: 1, Joined: joined, Removed: removed}
	}
	for _, tt := range []struct {
		name    string
		history []ring.Member
		want    []string // members of the ring before; nil for no ring
	}{
		{"alone", []ring.Member{mem("a", 1, 0)}, nil},
		{"founders of one epoch", []ring.Member{mem("a", 0, 0), mem("b", 0, 0), mem("c", 0, 0)}, nil},
		{"joined third", []ring.Member{mem("x", 1, 0), mem("y", 2, 0), mem("a", 3, 0)}, []string{"x", "y"}},
		{"founder wiped, others joined later", []ring.Member{mem("a", 1, 0), mem("y", 2, 0), mem("z", 3, 0)}, []string{"y", "z"}},
		{"removed after this node joined was a member then", []ring.Member{mem("x", 1, 0), mem("y", 1, 5), mem("a", 3, 0)}, []string{"x", "y"}},
		{"removed before this node joined was not", []ring.Member{mem("x", 1, 0), mem("y", 1, 2), mem("a", 3, 0)}, []string{"x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RingBefore("a", tt.history, ring.Config{Partitions: 16, Replicas: 3})
			var ids []string
			if got != nil {
				for _, m := range got.Members() {
					ids = append(ids, m.ID)
				}
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("ring before has members %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("ring before has members %v, want %v", ids, tt.want)
				}
			}
		})
	}
}

// At its first ring a fresh node that joined an existing cluster pulls its
// partitions; a founder holds them whole; a node with saved state ignores
// the history.
func TestUpdateFromHistory(t *testing.T) {
	ctx := context.Background()
	cfg := ring.Config{Partitions: 16, Replicas: 3}
	history := []ring.Member{memA, memB, memC, memD}
	next := mustRing(t, history...)
	pending := func(m *Manager) int {
		n := 0
		for p := range uint32(16) {
			if m.Incomplete(p) {
				n++
			}
		}
		return n
	}
	src := newFakeSource()
	joiner := mustNew(t, testConfig("d", src.node("d"), src, newFakeLiveness()))
	if err := joiner.UpdateFromHistory(ctx, nil, next, history, cfg); err != nil {
		t.Fatal(err)
	}
	if got, want := pending(joiner), len(next.PrimaryPartitions("d")); got != want {
		t.Errorf("a fresh joiner pulls %d partitions, want all %d it owns", got, want)
	}
	founder := mustNew(t, testConfig("a", src.node("a"), src, newFakeLiveness()))
	if err := founder.UpdateFromHistory(ctx, nil, next, history, cfg); err != nil {
		t.Fatal(err)
	}
	// a founded the cluster, but d joined later: a's empty state means its
	// data was wiped, so it pulls too.
	if pending(founder) == 0 {
		t.Error("a founder with no saved state but later members pulls nothing")
	}

	// A restart with saved state: a's state says it holds its partitions
	// whole; the history must not make it pull them again.
	st := newFakeStore()
	first := mustNew(t, testConfig("a", st, src, newFakeLiveness()))
	if err := first.Update(ctx, nil, mustRing(t, memA, memB, memC)); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	restarted := mustNew(t, testConfig("a", st, src, newFakeLiveness()))
	if restarted.Fresh() {
		t.Fatal("Fresh with saved state")
	}
	if err := restarted.UpdateFromHistory(ctx, nil, next, history, cfg); err != nil {
		t.Fatal(err)
	}
	if got := pending(restarted); got != 0 {
		t.Errorf("a restarted node with saved state pulls %d partitions, want 0", got)
	}
}
