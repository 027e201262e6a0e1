package vclock

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func val(s string) Value { return Value{Data: []byte(s)} }

// mustUpdate is Set.Update for sets and contexts far from every limit,
// where an error is a bug in the test itself.
func mustUpdate(s Set, ctx Clock, node string, v Value) Set {
	u, err := s.Update(ctx, node, v)
	if err != nil {
		panic(fmt.Sprintf("Update(%s, %q): %v", ctx.Format(), node, err))
	}
	return u
}

func dataOf(s Set) []string {
	var out []string
	for _, sib := range s.Siblings() {
		if sib.Tombstone {
			out = append(out, "<tombstone>")
			continue
		}
		out = append(out, string(sib.Data))
	}
	return out
}

func TestUpdateWithFullContextLeavesOneValue(t *testing.T) {
	s := NewSet("a", val("v1"))
	s = mustUpdate(s, Clock{}, "b", val("v2"))
	s = mustUpdate(s, Clock{}, "a", val("v3"))
	if s.Len() != 3 {
		t.Fatalf("siblings = %v, want 3", dataOf(s))
	}
	s = mustUpdate(s, s.Context(), "c", val("v4"))
	if got := dataOf(s); len(got) != 1 || got[0] != "v4" {
		t.Fatalf("siblings after full-context write = %v, want [v4]", got)
	}
	if want := "{a:2 b:1 c:1}"; s.Context().Format() != want {
		t.Fatalf("context = %s, want %s", s.Context().Format(), want)
	}
}

func TestUpdateWithEmptyContextAddsSibling(t *testing.T) {
	s := NewSet("a", val("v1"))
	for i := 2; i <= 5; i++ {
		s = mustUpdate(s, Clock{}, "a", val(fmt.Sprint("v", i)))
		if s.Len() != i {
			t.Fatalf("after %d blind writes: siblings = %v", i, dataOf(s))
		}
	}
}

func TestUpdateWithPartialContextKeepsUnseen(t *testing.T) {
	s := NewSet("a", val("v1"))
	seen := s.Context()
	s = mustUpdate(s, Clock{}, "b", val("v2")) // a writer that did not see v1
	s = mustUpdate(s, seen, "a", val("v3"))    // supersedes v1 only
	if got := dataOf(s); len(got) != 2 || got[0] != "v3" || got[1] != "v2" {
		t.Fatalf("siblings = %v, want [v3 v2]", got)
	}
}

func TestDelete(t *testing.T) {
	s := NewSet("a", val("v1"))
	del := mustUpdate(s, s.Context(), "a", Value{Data: []byte("ignored"), Tombstone: true})
	if !del.Deleted() || len(del.Values()) != 0 {
		t.Fatalf("after delete: Deleted=%v values=%v", del.Deleted(), dataOf(del))
	}
	if del.Siblings()[0].Data != nil {
		t.Fatalf("tombstone kept data %q", del.Siblings()[0].Data)
	}
	// A write concurrent with the delete (context from before v1) survives.
	concurrent := NewSet("b", val("v2"))
	merged := Sync(del, concurrent)
	if merged.Deleted() || len(merged.Values()) != 1 || string(merged.Values()[0].Data) != "v2" {
		t.Fatalf("concurrent write beside delete: %v", dataOf(merged))
	}
	// A write after reading the tombstone replaces it.
	after := mustUpdate(del, del.Context(), "a", val("v3"))
	if got := dataOf(after); len(got) != 1 || got[0] != "v3" {
		t.Fatalf("write after delete = %v, want [v3]", got)
	}
	if (Set{}).Deleted() {
		t.Fatal("empty set reports Deleted")
	}
}

// history simulates replicas of one key under random coordinator writes
// (with contexts clients really obtained) and random pairwise syncs, and
// records every write with the context it carried.
type history struct {
	rng      *rand.Rand
	nodes    []string
	replicas map[string]Set
	contexts []Clock // contexts clients have obtained so far
	writes   []write
}

type write struct {
	dot Dot
	ctx Clock
}

func newHistory(seed int64, nodes ...string) *history {
	return &history{
		rng:      rand.New(rand.NewSource(seed)),
		nodes:    nodes,
		replicas: map[string]Set{},
		contexts: []Clock{{}},
	}
}

func (h *history) pick() string { return h.nodes[h.rng.Intn(len(h.nodes))] }

func (h *history) step() {
	switch h.rng.Intn(4) {
	case 0, 1:
		node := h.pick()
		ctx := h.contexts[h.rng.Intn(len(h.contexts))]
		v := Value{Data: fmt.Appendf(nil, "w%d", len(h.writes)), Tombstone: h.rng.Intn(8) == 0, Timestamp: int64(len(h.writes))}
		s := mustUpdate(h.replicas[node], ctx, node, v)
		h.replicas[node] = s
		h.writes = append(h.writes, write{dot: Dot{node, s.Context().Get(node)}, ctx: ctx})
		h.contexts = append(h.contexts, s.Context())
	case 2:
		a, b := h.pick(), h.pick()
		h.replicas[a] = Sync(h.replicas[a], h.replicas[b])
	case 3:
		h.contexts = append(h.contexts, h.replicas[h.pick()].Context()) // a read
	}
}

func (h *history) merged() Set {
	var all Set
	for _, n := range h.nodes {
		all = Sync(all, h.replicas[n])
	}
	return all
}

func randomSet(seed int64, steps int) Set {
	h := newHistory(seed, "a", "b", "c", "d")
	for range steps {
		h.step()
	}
	return h.replicas[h.pick()]
}

func TestSyncIsCommutativeAssociativeIdempotent(t *testing.T) {
	seed := int64(20261123)
	rng := rand.New(rand.NewSource(seed))
	for i := range 2000 {
		// Three replicas of one history, so their dots share meaning.
		h := newHistory(rng.Int63(), "a", "b", "c", "d")
		for range rng.Intn(40) {
			h.step()
		}
		a, b, c := h.replicas["a"], h.replicas["b"], h.replicas["c"]
		if !Sync(a, b).Equal(Sync(b, a)) {
			t.Fatalf("seed %d case %d: Sync not commutative", seed, i)
		}
		if !Sync(Sync(a, b), c).Equal(Sync(a, Sync(b, c))) {
			t.Fatalf("seed %d case %d: Sync not associative", seed, i)
		}
		if !Sync(a, a).Equal(a) || !Sync(Sync(a, b), b).Equal(Sync(a, b)) {
			t.Fatalf("seed %d case %d: Sync not idempotent", seed, i)
		}
		if !Sync(a, Set{}).Equal(a) {
			t.Fatalf("seed %d case %d: Sync with the empty set changed the set", seed, i)
		}
	}
}

// TestValuesDisappearOnlyWhenSuperseded checks, over random histories, that
// after all replicas are synced a write's value is present exactly when no
// write carried a context that had seen it.
func TestValuesDisappearOnlyWhenSuperseded(t *testing.T) {
	seed := int64(7)
	rng := rand.New(rand.NewSource(seed))
	for i := range 500 {
		h := newHistory(rng.Int63(), "a", "b", "c")
		for range 60 {
			h.step()
		}
		present := map[Dot]bool{}
		final := h.merged()
		for _, sib := range final.Siblings() {
			present[sib.Dot] = true
		}
		for _, w := range h.writes {
			superseded := false
			for _, later := range h.writes {
				if later.ctx.Covers(w.dot) {
					superseded = true
					break
				}
			}
			if present[w.dot] == superseded {
				t.Fatalf("seed %d case %d: write %v present=%v superseded=%v; final %s %v",
					seed, i, w.dot, present[w.dot], superseded, final.Context().Format(), dataOf(final))
			}
		}
	}
}

// TestInterleavedWritersDoNotExplodeSiblings replays riak_kv#746: writers
// interleave, each reusing the context its own previous write returned.
// With per-client or per-node version vectors without dots the sibling list
// grows with every write; with DVV sets it stays at the truly concurrent
// writes, one per writer.
func TestInterleavedWritersDoNotExplodeSiblings(t *testing.T) {
	for _, writers := range []int{2, 3, 5} {
		for _, coordinators := range [][]string{{"a"}, {"a", "b", "c"}} {
			t.Run(fmt.Sprintf("writers=%d/nodes=%d", writers, len(coordinators)), func(t *testing.T) {
				replicas := map[string]Set{}
				ctxs := make([]Clock, writers)
				most := 0
				for round := range 50 {
					for w := range writers {
						node := coordinators[(round+w)%len(coordinators)]
						s := mustUpdate(replicas[node], ctxs[w], node, val(fmt.Sprintf("w%d-r%d", w, round)))
						replicas[node] = s
						ctxs[w] = s.Context()
						// Replicas exchange state after every write.
						for _, n := range coordinators {
							replicas[n] = Sync(replicas[n], s)
						}
						if s.Len() > writers {
							t.Fatalf("round %d: %d siblings with %d writers: %v", round, s.Len(), writers, dataOf(s))
						}
						most = max(most, s.Len())
					}
				}
				// The writers are truly concurrent: each wrote once without
				// seeing the others' latest, so that many siblings must exist.
				if most != writers {
					t.Fatalf("at most %d siblings, want %d (one per concurrent writer)", most, writers)
				}
			})
		}
	}
}

func TestEqualIgnoresNilVersusEmptyData(t *testing.T) {
	a := NewSet("a", Value{Data: nil})
	b := NewSet("a", Value{Data: []byte{}})
	if !a.Equal(b) {
		t.Fatal("nil and empty data differ")
	}
	if a.Equal(NewSet("a", val("x"))) || a.Equal(NewSet("b", Value{})) {
		t.Fatal("different sets are Equal")
	}
}

func TestUpdateFromFloorSupersedesLostDots(t *testing.T) {
	// a wrote (a,1) and (a,2); a replica holds both, but a lost (a,2) in a
	// machine crash and restarts with a floor.
	s1 := mustUpdate(Set{}, Clock{}, "a", Value{Data: []byte("v1")})
	lost := mustUpdate(s1, s1.Context(), "a", Value{Data: []byte("lost")})
	replica := lost
	const floor = 1 << 32
	next, err := s1.UpdateFrom(s1.Context(), "a", Value{Data: []byte("new")}, floor)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Siblings()[0].Dot; got.Counter != floor+1 {
		t.Fatalf("dot after the floor: %v, want counter %d", got, uint64(floor+1))
	}
	merged := Sync(next, replica)
	if vs := merged.Values(); len(vs) != 1 || string(vs[0].Data) != "new" {
		t.Fatalf("merge after restart: %v, want only the new write (the lost one was never acknowledged)", vs)
	}
	// Without a floor the counter is reused: two values under one dot.
	reused := mustUpdate(s1, s1.Context(), "a", Value{Data: []byte("new")})
	if reused.Siblings()[0].Dot != lost.Siblings()[0].Dot {
		t.Fatalf("expected the unfloored update to reuse dot %v", lost.Siblings()[0].Dot)
	}
}

// TestUpdateAtTheCounterLimit writes with contexts and floors at and
// around the end of the counter space: each write either mints a dot that
// encodes and decodes, or fails with ErrCounterOverflow and leaves nothing
// to store. A counter that wrapped around to 0 was once stored, and the key
// could then not be decoded any more.
func TestUpdateAtTheCounterLimit(t *testing.T) {
	base := NewSet("a", val("v1"))
	tests := []struct {
		name    string
		ctx     Clock
		floor   uint64
		wantErr bool
	}{
		{"context one below the limit", clk2("a", MaxCounter-1), 0, false},
		{"context at the limit", clk2("a", MaxCounter), 0, true},
		{"context at the uint64 limit", clk2("a", math.MaxUint64), 0, true},
		{"other node at the uint64 limit", clk2("b", math.MaxUint64), 0, false},
		{"floor one below the limit", Clock{}, MaxCounter - 1, false},
		{"floor at the limit", Clock{}, MaxCounter, true},
		{"floor at the uint64 limit", Clock{}, math.MaxUint64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := base.UpdateFrom(tt.ctx, "a", val("v2"), tt.floor)
			if tt.wantErr {
				if !errors.Is(err, ErrCounterOverflow) {
					t.Fatalf("err = %v, want ErrCounterOverflow", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want a new dot", err)
			}
			got, err := Decode(s.Encode())
			if err != nil {
				t.Fatalf("the new set %s does not decode: %v", s.Context().Format(), err)
			}
			if !got.Equal(s) {
				t.Fatal("round trip changed the set")
			}
			if c := s.Context().Get("a"); c == 0 || c > MaxCounter {
				t.Fatalf("new counter of a = %d, want 1..MaxCounter", c)
			}
		})
	}
}

func TestUpdateRefusesAContextClientsCouldNotSendBack(t *testing.T) {
	var wide []Entry
	for i := range MaxContextNodes {
		wide = append(wide, Entry{Node: fmt.Sprintf("n%04d", i), Counter: 1})
	}
	ctx := NewClock(wide...)
	if _, err := ParseContext(ctx.String()); err != nil {
		t.Fatalf("a context of %d nodes is refused: %v", ctx.Len(), err)
	}
	if _, err := NewSet("a", val("v")).Update(ctx, "a", val("v2")); !errors.Is(err, ErrContextTooLarge) {
		t.Fatalf("Update to %d nodes: err = %v, want ErrContextTooLarge", ctx.Len()+1, err)
	}
	if _, err := NewSet("n0000", val("v")).Update(ctx, "n0000", val("v2")); err != nil {
		t.Fatalf("Update within %d nodes: %v", ctx.Len(), err)
	}
}

// clk2 builds a one-entry clock with any counter (clk takes ints).
func clk2(node string, counter uint64) Clock { return NewClock(Entry{Node: node, Counter: counter}) }
