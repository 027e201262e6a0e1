package gossip

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("gossip.seed", 0, "seed for property tests (0: time-based)")

func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -gossip.seed=%d)", seed, seed)
	return seed
}

func rec(id string, st Status, v uint64) MemberRecord {
	return MemberRecord{ID: id, Status: st, Version: v, Weight: 1, GRPCAddr: id + ":1", HTTPAddr: id + ":2"}
}

func TestCompare(t *testing.T) {
	zoneB := rec("a", StatusActive, 3)
	zoneB.Zone = "b"
	tests := []struct {
		name string
		a, b MemberRecord
		want int
	}{
		{"identical", rec("a", StatusActive, 3), rec("a", StatusActive, 3), 0},
		{"higher version wins", rec("a", StatusActive, 4), rec("a", StatusLeaving, 3), 1},
		{"lower version loses", rec("a", StatusJoining, 1), rec("a", StatusActive, 2), -1},
		{"tie: leaving beats active", rec("a", StatusLeaving, 3), rec("a", StatusActive, 3), 1},
		{"tie: active beats joining", rec("a", StatusJoining, 3), rec("a", StatusActive, 3), -1},
		{"tie: bytes decide", rec("a", StatusActive, 3), zoneB, -1},
		{"removed beats newer active", rec("a", StatusRemoved, 1), rec("a", StatusActive, 100), 1},
		{"newer active loses to removed", rec("a", StatusActive, 100), rec("a", StatusRemoved, 1), -1},
		{"newer removed wins", rec("a", StatusRemoved, 5), rec("a", StatusRemoved, 2), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.a, tt.b); got != tt.want {
				t.Errorf("Compare(%+v, %+v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := Compare(tt.b, tt.a); got != -tt.want {
				t.Errorf("Compare reversed = %d, want %d", got, -tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name string
		a, b State
		want State
	}{
		{"empty", State{}, State{}, State{}},
		{"union of disjoint", NewState(rec("a", StatusActive, 1)), NewState(rec("b", StatusJoining, 1)),
			NewState(rec("a", StatusActive, 1), rec("b", StatusJoining, 1))},
		{"newer record wins", NewState(rec("a", StatusActive, 1), rec("b", StatusActive, 4)),
			NewState(rec("a", StatusLeaving, 2), rec("b", StatusLeaving, 3)),
			NewState(rec("a", StatusLeaving, 2), rec("b", StatusActive, 4))},
		{"tombstone beats older active", NewState(rec("a", StatusRemoved, 3)), NewState(rec("a", StatusActive, 2)),
			NewState(rec("a", StatusRemoved, 3))},
		{"tombstone beats newer active (removal is final)", NewState(rec("a", StatusRemoved, 3)),
			NewState(rec("a", StatusActive, 9)), NewState(rec("a", StatusRemoved, 3))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.Merge(tt.b)
			if !got.Equal(tt.want) {
				t.Errorf("Merge = %v, want %v", got.Records(), tt.want.Records())
			}
			if got.Hash() != tt.want.Hash() {
				t.Errorf("Hash = %x, want %x", got.Hash(), tt.want.Hash())
			}
		})
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	a := NewState(rec("a", StatusActive, 1))
	b := NewState(rec("b", StatusActive, 1))
	m := a.Merge(b)
	_ = m.with(rec("c", StatusActive, 1))
	if a.Len() != 1 || b.Len() != 1 || m.Len() != 2 {
		t.Errorf("inputs changed: len a=%d b=%d m=%d, want 1 1 2", a.Len(), b.Len(), m.Len())
	}
}

// randomState draws records from a small space (3 IDs, 4 versions, 2
// zones, 3 joined epochs) so that ties on version and status are common.
func randomState(r *rand.Rand) State {
	var recs []MemberRecord
	for range r.IntN(5) {
		x := rec([]string{"a", "b", "c"}[r.IntN(3)], Status(1+r.IntN(4)), uint64(r.IntN(4)))
		x.Zone = []string{"", "z"}[r.IntN(2)]
		randomEpochs(r, &x)
		recs = append(recs, x)
	}
	return NewState(recs...)
}

// randomEpochs makes x placed or not, with valid epochs.
func randomEpochs(r *rand.Rand, x *MemberRecord) {
	if r.IntN(2) == 0 {
		return
	}
	x.Placed, x.Joined = true, uint64(r.IntN(3))
	if x.Status == StatusRemoved {
		x.Removed = x.Joined + 1 + uint64(r.IntN(2))
	}
}

func TestMergeProperties(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 20000 {
		a, b, c := randomState(r), randomState(r), randomState(r)
		fail := func(prop string, got, want State) {
			t.Fatalf("seed %d case %d: %s fails\na=%v\nb=%v\nc=%v\ngot  %v\nwant %v",
				seed, i, prop, a.Records(), b.Records(), c.Records(), got.Records(), want.Records())
		}
		if ab, ba := a.Merge(b), b.Merge(a); !ab.Equal(ba) {
			fail("commutativity", ab, ba)
		}
		if l, rr := a.Merge(b).Merge(c), a.Merge(b.Merge(c)); !l.Equal(rr) {
			fail("associativity", l, rr)
		}
		if aa := a.Merge(a); !aa.Equal(a) {
			fail("idempotence", aa, a)
		}
		if ab := a.Merge(b); !ab.Merge(b).Equal(ab) {
			fail("absorption", ab.Merge(b), ab)
		}
		if ab := a.Merge(b); a.Merge(b).Hash() != b.Merge(a).Hash() {
			fail("hash agreement", ab, b.Merge(a))
		}
	}
}

func TestCompareIsTotalOrder(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	draw := func() MemberRecord {
		x := rec("a", Status(1+r.IntN(4)), uint64(r.IntN(3)))
		x.Zone = []string{"", "y", "z"}[r.IntN(3)]
		randomEpochs(r, &x)
		return x
	}
	for i := range 20000 {
		a, b, c := draw(), draw(), draw()
		if Compare(a, b) != -Compare(b, a) {
			t.Fatalf("seed %d case %d: not antisymmetric: %+v %+v", seed, i, a, b)
		}
		if (Compare(a, b) == 0) != (a == b) {
			t.Fatalf("seed %d case %d: Compare 0 for different records: %+v %+v", seed, i, a, b)
		}
		if Compare(a, b) > 0 && Compare(b, c) > 0 && Compare(a, c) <= 0 {
			t.Fatalf("seed %d case %d: not transitive: %+v %+v %+v", seed, i, a, b, c)
		}
	}
}

func TestStateAccessors(t *testing.T) {
	s := NewState(rec("c", StatusRemoved, 2), rec("a", StatusActive, 1), rec("b", StatusLeaving, 3))
	var ids []string
	for _, r := range s.Records() {
		ids = append(ids, r.ID)
	}
	if got := len(ids); got != 3 || ids[0] != "a" || ids[2] != "c" {
		t.Errorf("Records IDs = %v, want [a b c]", ids)
	}
	if got := s.WithStatus(StatusActive, StatusLeaving); len(got) != 2 {
		t.Errorf("WithStatus(active, leaving) = %v, want a and b", got)
	}
	if _, ok := s.Get("zz"); ok {
		t.Error("Get of a missing ID reported ok")
	}
	if s.Hash() == s.with(rec("a", StatusActive, 2)).Hash() {
		t.Error("Hash did not change with a record")
	}
	if got := StatusLeaving.String(); got != "leaving" {
		t.Errorf("String = %q", got)
	}
	if got := Status(9).String(); got != "status(9)" {
		t.Errorf("String = %q", got)
	}
}
