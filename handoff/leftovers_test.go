package handoff

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/vclock"
)

var _ PartitionStore = (*fakeStore)(nil)

// ScanPartition calls fn for a snapshot of p's keys, in key order.
func (s *fakeStore) ScanPartition(ctx context.Context, p uint32, fn func(key []byte, set vclock.Set) error) error {
	s.mu.Lock()
	part := maps.Clone(s.data[p])
	s.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(part)) {
		if err := fn([]byte(k), part[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeStore) DeleteIfEqual(ctx context.Context, p uint32, key []byte, expect vclock.Set) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.data[p][string(key)]
	if !ok || !cur.Equal(expect) {
		return false, nil
	}
	delete(s.data[p], string(key))
	return true, nil
}

// racingStore writes to key of every partition between the scan reading
// it and the delete, as a client write landing during the drop would.
type racingStore struct {
	*fakeStore
	key string
}

func (r racingStore) ScanPartition(ctx context.Context, p uint32, fn func(key []byte, set vclock.Set) error) error {
	return r.fakeStore.ScanPartition(ctx, p, func(key []byte, set vclock.Set) error {
		if string(key) == r.key {
			r.put(p, r.key, "late-writer")
		}
		return fn(key, set)
	})
}

// leftoverFixture is node a of the ring change {a,b,c} -> {a,b,c,d}: its
// store holds keys in every partition, and lost lists the partitions it
// hands off, each with its new owner.
type leftoverFixture struct {
	r3, r4 *ring.Ring
	store  *fakeStore
	m      *Manager
	lost   map[uint32]string
}

func newLeftoverFixture(t *testing.T) *leftoverFixture {
	t.Helper()
	f := &leftoverFixture{r3: mustRing(t, memA, memB, memC), r4: mustRing(t, memA, memB, memC, memD), lost: map[uint32]string{}}
	src := newFakeSource()
	f.store = src.node("a")
	for p := range uint32(16) {
		f.store.put(p, "k1", "a")
		f.store.put(p, "k2", "a")
	}
	f.m = mustNew(t, testConfig("a", f.store, src, newFakeLiveness()))
	ctx := context.Background()
	if err := f.m.Update(ctx, nil, f.r3); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Update(ctx, f.r3, f.r4); err != nil {
		t.Fatal(err)
	}
	for _, mv := range ring.Moves(f.r3, f.r4) {
		if mv.From == "a" {
			f.lost[mv.Partition] = mv.To
		}
	}
	if len(f.lost) < 2 {
		t.Fatalf("a hands off %d partitions, want at least 2", len(f.lost))
	}
	return f
}

// A handed-off partition is dropped once its new owner pulled it to the
// end, and no sooner; the partitions the node still owns are untouched.
func TestDropLeftoversAfterNewOwnersPulled(t *testing.T) {
	ctx := context.Background()
	f := newLeftoverFixture(t)
	lost := slices.Sorted(maps.Keys(f.lost))
	unpulled := lost[0]
	for _, p := range lost[1:] {
		f.m.NoteServed(p, f.lost[p], true)
	}
	if got := f.m.DropLeftovers(ctx, f.r4, f.store, 0); got != len(lost)-1 {
		t.Fatalf("DropLeftovers dropped %d partitions, want %d", got, len(lost)-1)
	}
	for p := range uint32(16) {
		_, handedOff := f.lost[p]
		dropped := handedOff && p != unpulled
		if got := len(f.store.keys(p)); (got == 0) != dropped {
			t.Errorf("partition %d holds %d keys; handed off %v, pulled %v", p, got, handedOff, p != unpulled)
		}
		if f.m.SourceComplete(p) == dropped {
			t.Errorf("SourceComplete(%d) = %v after dropping it = %v", p, !dropped, dropped)
		}
	}
	if owed, _ := f.m.Outgoing(); owed != 1 {
		t.Errorf("Outgoing owed = %d after the drops, want 1 (the unpulled partition)", owed)
	}
	if got := f.m.DropLeftovers(ctx, f.r4, f.store, 0); got != 0 {
		t.Errorf("a second DropLeftovers dropped %d partitions", got)
	}
	// The saved state says so: a restart does not take them as whole.
	m2 := mustNew(t, testConfig("a", f.store, newFakeSource(), newFakeLiveness()))
	if m2.SourceComplete(lost[1]) {
		t.Error("after a restart a dropped partition is a complete source again")
	}
}

func TestDropLeftoversWaitsAndSkips(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		ring   func(f *leftoverFixture) *ring.Ring
		settle time.Duration
	}{
		{"new owners pulled too recently", func(f *leftoverFixture) *ring.Ring { return f.r4 }, time.Hour},
		{"owned again in the current ring", func(f *leftoverFixture) *ring.Ring { return f.r3 }, 0},
		{"no ring yet", func(*leftoverFixture) *ring.Ring { return nil }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newLeftoverFixture(t)
			for p, to := range f.lost {
				f.m.NoteServed(p, to, true)
			}
			if got := f.m.DropLeftovers(ctx, tt.ring(f), f.store, tt.settle); got != 0 {
				t.Fatalf("DropLeftovers dropped %d partitions, want 0", got)
			}
			for p := range f.lost {
				if len(f.store.keys(p)) != 2 || !f.m.SourceComplete(p) {
					t.Errorf("partition %d: %d keys left, SourceComplete %v; want it kept whole",
						p, len(f.store.keys(p)), f.m.SourceComplete(p))
				}
			}
		})
	}
}

// A write that reaches the old owner while it drops a partition is kept.
func TestDropLeftoversKeepsLateWrite(t *testing.T) {
	f := newLeftoverFixture(t)
	for p, to := range f.lost {
		f.m.NoteServed(p, to, true)
	}
	f.m.DropLeftovers(context.Background(), f.r4, racingStore{f.store, "k1"}, 0)
	for p := range f.lost {
		if got := f.store.keys(p); !slices.Equal(got, []string{"k1"}) {
			t.Errorf("partition %d holds %v after the drop, want [k1] (written during it)", p, got)
		}
	}
}

// What a node pulled of a partition it lost before the pull completed is
// dropped at once: nobody pulls a partial copy.
func TestDropLeftoversLostWhilePulling(t *testing.T) {
	f := newJoinFixture(t, 2, nil)
	st := f.src.node("d")
	p := f.partitions[0]
	st.put(p, "pulled-so-far", "a")
	gone := memD
	gone.Removed = 2
	r5 := mustRing(t, memA, memB, memC, gone)
	if err := f.m.Update(context.Background(), f.r4, r5); err != nil {
		t.Fatal(err)
	}
	// Its new owners merge the partial copy (it may hold writes d took
	// since it joined): kept until each pulled it and settle passed.
	if got := f.m.DropLeftovers(context.Background(), r5, st, time.Hour); got != 0 {
		t.Fatalf("dropped %d partitions lost while pending before their new owners pulled them", got)
	}
	for _, mv := range ring.Moves(f.r4, r5) {
		if mv.From == "d" {
			f.m.NoteServed(mv.Partition, mv.To, true)
		}
	}
	f.clk.Advance(time.Hour)
	if got := f.m.DropLeftovers(context.Background(), r5, st, time.Hour); got == 0 {
		t.Fatal("nothing dropped of the partitions lost while pending, once pulled and settled")
	}
	if keys := st.keys(p); len(keys) != 0 {
		t.Fatalf("d still holds %v of partition %d, lost while it pulled it", keys, p)
	}
}
