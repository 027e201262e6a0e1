package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string // substring; "" means valid
	}{
		{DefaultConfig(), ""},
		{Config{}, ""}, // zero fields mean defaults
		{Config{Partitions: 1, Replicas: 1}, ""},
		{Config{Partitions: 4096, Replicas: 16}, ""},
		{Config{Partitions: 3}, "power of two"},
		{Config{Partitions: 8192}, "power of two in [1, 4096]"},
		{Config{Partitions: -256}, "got -256"},
		{Config{Replicas: -1}, "replicas must be in [1, 16]"},
		{Config{Replicas: 17}, "got 17"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%+v.Validate() = %v, want nil", tt.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
			!strings.HasPrefix(err.Error(), "ring: ") || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v.Validate() = %v, want a ring: error wrapping ErrInvalid containing %q", tt.cfg, err, tt.wantErr)
		}
	}
}

func TestNewRejectsBadMembers(t *testing.T) {
	tests := []struct {
		name    string
		members []Member
		cfg     Config
		wantErr string
	}{
		{"none", nil, DefaultConfig(), "at least one member"},
		{"empty ID", []Member{{ID: "a"}, {ID: ""}}, DefaultConfig(), "empty member ID"},
		{"duplicate", []Member{{ID: "a"}, {ID: "b"}, {ID: "a", Zone: "z"}}, DefaultConfig(), `duplicate member ID "a"`},
		{"negative weight", []Member{{ID: "a", Weight: -1}}, DefaultConfig(), "weight -1"},
		{"NaN weight", []Member{{ID: "a", Weight: math.NaN()}}, DefaultConfig(), "weight NaN"},
		{"infinite weight", []Member{{ID: "a", Weight: math.Inf(1)}}, DefaultConfig(), "weight +Inf"},
		{"too many", nodes(MaxMembers + 1), DefaultConfig(), "exceed the maximum of 1024"},
		{"bad config", nodes(3), Config{Partitions: 100}, "power of two"},
		{"removed before joined", []Member{{ID: "a"}, {ID: "b", Joined: 4, Removed: 4}}, DefaultConfig(), `"b" removed at epoch 4`},
		{"all removed", []Member{{ID: "a", Removed: 1}}, DefaultConfig(), "at least one member"},
		{"duplicate tombstone", []Member{{ID: "a"}, {ID: "a", Removed: 2}}, DefaultConfig(), `duplicate member ID "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.members, tt.cfg)
			if err == nil || r != nil {
				t.Fatalf("New = %v, %v; want nil and an error", r, err)
			}
			if !strings.HasPrefix(err.Error(), "ring: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want prefix %q and %q", err, "ring: ", tt.wantErr)
			}
		})
	}
}

// TestSmallRings checks rings small enough to work out by hand.
func TestSmallRings(t *testing.T) {
	t.Run("one partition", func(t *testing.T) {
		r := mustNew(t, nodes(5), Config{Partitions: 1, Replicas: 3})
		for _, key := range []string{"", "a", "some key"} {
			if p := r.Partition([]byte(key)); p != 0 {
				t.Errorf("Partition(%q) = %d, want 0 with Q=1", key, p)
			}
		}
		if got := len(r.Primaries(0)); got != 3 {
			t.Errorf("len(Primaries(0)) = %d, want 3", got)
		}
	})
	t.Run("one node", func(t *testing.T) {
		r := mustNew(t, []Member{{ID: "solo"}}, DefaultConfig())
		for p := range uint32(256) {
			if got := r.PartitionPreferenceList(p, 3); !slices.Equal(got, []string{"solo"}) {
				t.Fatalf("partition %d: %v, want [solo]", p, got)
			}
		}
	})
	t.Run("fewer members than replicas", func(t *testing.T) {
		r := mustNew(t, []Member{{ID: "b"}, {ID: "a"}}, DefaultConfig())
		for p := range uint32(256) {
			got := slices.Sorted(slices.Values(r.Primaries(p)))
			if !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("partition %d primaries %v, want both nodes", p, got)
			}
		}
	})
	t.Run("partition is the top bits of xxhash", func(t *testing.T) {
		for _, q := range []int{2, 16, 256, 4096} {
			r := mustNew(t, nodes(3), Config{Partitions: q})
			for _, key := range []string{"", "k", "user:42"} {
				want := uint32(xxhash.Sum64String(key) >> (64 - int(math.Log2(float64(q)))))
				if got := r.Partition([]byte(key)); got != want {
					t.Errorf("Q=%d Partition(%q) = %d, want %d", q, key, got, want)
				}
			}
		}
	})
}

func TestAccessors(t *testing.T) {
	r := mustNew(t, []Member{{ID: "c", Zone: "z1", Weight: 2}, {ID: "a"}, {ID: "b"}, {ID: "d"}}, Config{})
	if r.Partitions() != 256 || r.Replicas() != 3 || r.Size() != 4 {
		t.Errorf("Partitions, Replicas, Size = %d, %d, %d; want 256, 3, 4", r.Partitions(), r.Replicas(), r.Size())
	}
	wantMembers := []Member{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}, {ID: "c", Zone: "z1", Weight: 2}, {ID: "d", Weight: 1}}
	if got := r.Members(); !reflect.DeepEqual(got, wantMembers) {
		t.Errorf("Members() = %v, want %v", got, wantMembers)
	}
	key := []byte("hello")
	p := r.Partition(key)
	full := r.PreferenceList(key, 100)
	if !slices.Equal(slices.Sorted(slices.Values(full)), []string{"a", "b", "c", "d"}) {
		t.Errorf("full preference list %v is not a permutation of the members", full)
	}
	tests := []struct {
		n    int
		want []string
	}{
		{-1, nil}, {0, nil}, {1, full[:1]}, {2, full[:2]}, {4, full}, {5, full},
	}
	for _, tt := range tests {
		if got := r.PreferenceList(key, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("PreferenceList(n=%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if got := r.Primaries(p); !slices.Equal(got, full[:3]) {
		t.Errorf("Primaries = %v, want %v", got, full[:3])
	}
	if got := r.Owner(p); got != full[0] {
		t.Errorf("Owner = %q, want %q", got, full[0])
	}
	for _, bad := range []uint32{256, math.MaxUint32} {
		if r.PartitionPreferenceList(bad, 3) != nil || r.Primaries(bad) != nil || r.Owner(bad) != "" {
			t.Errorf("partition %d out of range should give nil lists and no owner", bad)
		}
	}
	for _, m := range r.Members() {
		got := r.PrimaryPartitions(m.ID)
		want := []uint32{}
		for q := range uint32(256) {
			if slices.Contains(r.Primaries(q), m.ID) {
				want = append(want, q)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("PrimaryPartitions(%q) = %v, want %v", m.ID, got, want)
		}
	}
}

// TestPreferenceListsArePermutations checks that every list holds every
// member exactly once, so its primaries are distinct and the fallbacks
// cover the rest of the cluster.
func TestPreferenceListsArePermutations(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 30} {
		r := mustNew(t, nodes(n), DefaultConfig())
		if got := len(r.Members()); got != n {
			t.Fatalf("n=%d: ring has %d members", n, got)
		}
		checkLists(t, r)
	}
}

// TestInputOrderIrrelevant checks that every node computes the same ring
// from the same membership, whatever order it learnt the members in.
func TestInputOrderIrrelevant(t *testing.T) {
	seed := *seedFlag
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	members := zoned(3, 4)
	members[5].Weight = 2.5
	want := mustNew(t, members, DefaultConfig())
	for range 20 {
		shuffled := slices.Clone(members)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := mustNew(t, shuffled, DefaultConfig())
		if !reflect.DeepEqual(got.prefs, want.prefs) {
			t.Fatalf("ring of shuffled members %v differs", shuffled)
		}
	}
	// Weight 0 means 1, so these describe the same membership.
	ones := slices.Clone(members)
	for i := range ones {
		if ones[i].Weight == 0 {
			ones[i].Weight = 1
		}
	}
	if !reflect.DeepEqual(mustNew(t, ones, DefaultConfig()).prefs, want.prefs) {
		t.Error("explicit weight 1 gives a different ring from weight 0")
	}
}

// zoned returns zones×perZone members, zone zK holding nodes zK-0, zK-1, ….
func zoned(sizes ...int) []Member {
	var out []Member
	for z, size := range sizes {
		for i := range size {
			out = append(out, Member{ID: fmt.Sprintf("z%d-%d", z, i), Zone: fmt.Sprintf("z%d", z)})
		}
	}
	return out
}

func TestZones(t *testing.T) {
	tests := []struct {
		name   string
		sizes  []int
		spread bool    // primaries must be in distinct zones
		bound  float64 // max load / mean
	}{
		// Equal zones: the spread costs no balance.
		{"3 zones of 4", []int{4, 4, 4}, true, maxBalance},
		{"4 zones of 5", []int{5, 5, 5, 5}, true, maxBalance},
		{"3 zones of 20", []int{20, 20, 20}, true, maxBalance},
		// With exactly N zones every zone holds one replica of every
		// partition, so the lone node of zone 0 holds all 256 while the
		// mean is 768/12 = 64: spread wins over balance, by design.
		{"3 unequal zones", []int{1, 3, 8}, true, 4.0},
		// Too few zones to spread: zones are ignored.
		{"2 zones", []int{3, 3}, false, maxBalance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members := zoned(tt.sizes...)
			zoneOf := make(map[string]string)
			for _, m := range members {
				zoneOf[m.ID] = m.Zone
			}
			r := mustNew(t, members, DefaultConfig())
			for p := range uint32(r.Partitions()) {
				seen := make(map[string]bool)
				for _, id := range r.Primaries(p) {
					if tt.spread && seen[zoneOf[id]] {
						t.Fatalf("partition %d: primaries %v share zone %s", p, r.Primaries(p), zoneOf[id])
					}
					seen[zoneOf[id]] = true
				}
			}
			maxLoad, mean := balance(r)
			ratio := float64(maxLoad) / mean
			t.Logf("zones %v: max load %d, mean %.1f, ratio %.3f", tt.sizes, maxLoad, mean, ratio)
			if ratio > tt.bound {
				t.Errorf("max load %d is %.3f× the mean %.1f, want <= %.2f", maxLoad, ratio, mean, tt.bound)
			}
		})
	}
}

// TestWeights checks that load follows weight. A weighted ring gives every
// node a budget of its weighted share rounded up, and those budgets add up
// to at most n slots more than there are, so a node can fall short of its
// share only by the few slots the others hold in excess: within 10% of 2×
// a light node is the tolerance at these sizes (a one-slot difference is
// 1.3% of the smallest share tested, 73 slots).
func TestWeights(t *testing.T) {
	for _, n := range []int{4, 10, 32} {
		for _, q := range []int{256, 1024} {
			members := nodes(n)
			members[0].Weight = 2
			members[n-1].Weight = 0.5
			r := mustNew(t, members, Config{Partitions: q})
			l := loads(r)
			var light float64
			for _, m := range members[1 : n-1] {
				light += float64(l[m.ID])
			}
			light /= float64(n - 2)
			heavy, half := float64(l[members[0].ID])/light, float64(l[members[n-1].ID])/light
			t.Logf("n=%d Q=%d: weight-2 node holds %.2f×, weight-0.5 node %.2f× a weight-1 node (mean %.1f)", n, q, heavy, half, light)
			// With 4 nodes a weight-2 share exceeds one slot per
			// partition and is capped at Q.
			want := min(2, float64(q)/light)
			if math.Abs(heavy/want-1) > 0.1 || math.Abs(half/0.5-1) > 0.1 {
				t.Errorf("n=%d Q=%d: weight-2 node holds %.2f× (want %.2f), weight-0.5 node %.2f× (want 0.5) a weight-1 node",
					n, q, heavy, want, half)
			}
		}
	}
}

func TestMovesSmall(t *testing.T) {
	one := mustNew(t, []Member{{ID: "a"}}, DefaultConfig())
	two := mustNew(t, []Member{{ID: "a"}, {ID: "b"}}, DefaultConfig())
	moves := Moves(one, two)
	if len(moves) != 256 {
		t.Fatalf("growing 1 node to 2 with N=3: %d moves, want 256", len(moves))
	}
	for i, m := range moves {
		if m != (Move{Partition: uint32(i), To: "b"}) {
			t.Fatalf("move %d = %+v, want {%d  b}", i, m, i)
		}
	}
	back := Moves(two, one)
	if len(back) != 256 || back[7] != (Move{Partition: 7, From: "b"}) {
		t.Errorf("shrinking 2 nodes to 1: %d moves, move 7 = %+v; want 256 and {7 b }", len(back), back[7])
	}
	if m := Moves(two, two); len(m) != 0 {
		t.Errorf("Moves(r, r) = %v, want none", m)
	}
	if m := Moves(nil, two); len(m) != 2*256 || m[0].From != "" {
		t.Errorf("Moves(nil, r) has %d moves, first %+v; want 512 placements with empty From", len(m), m[0])
	}
	if m := Moves(two, nil); len(m) != 2*256 || m[0].To != "" {
		t.Errorf("Moves(r, nil) has %d moves, first %+v; want 512 removals with empty To", len(m), m[0])
	}
	other := mustNew(t, []Member{{ID: "a"}}, Config{Partitions: 64})
	if m := Moves(one, other); m != nil {
		t.Errorf("Moves across partition counts = %v, want nil", m)
	}
	checkMoves(t, one, two)
	checkMoves(t, mustNew(t, nodes(5), DefaultConfig()), mustNew(t, zoned(3, 3), DefaultConfig()))
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := mustNew(t, nodes(64), DefaultConfig())
	key := []byte("user:1234")
	if n := testing.AllocsPerRun(1000, func() { _ = r.PreferenceList(key, 3) }); n != 0 {
		t.Errorf("PreferenceList allocates %.0f times per call, want 0", n)
	}
}

func TestPartitionOfMatchesRing(t *testing.T) {
	for _, q := range []int{1, 2, 256, 4096} {
		r, err := New([]Member{{ID: "a"}, {ID: "b"}}, Config{Partitions: q, Replicas: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			k := []byte(fmt.Sprintf("key-%d", i))
			if got, want := PartitionOf(k, q), r.Partition(k); got != want {
				t.Fatalf("q=%d key %q: PartitionOf=%d, Ring.Partition=%d", q, k, got, want)
			}
		}
	}
}
