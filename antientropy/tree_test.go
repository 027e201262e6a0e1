package antientropy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/chorusdb/chorus/vclock"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero means defaults", Config{}, true},
		{"default", DefaultConfig(), true},
		{"smallest", Config{Segments: 1, Branches: 1}, true},
		{"one branch", Config{Segments: 1024, Branches: 1}, true},
		{"one segment per branch", Config{Segments: 256, Branches: 256}, true},
		{"max segments", Config{Segments: MaxSegments, Branches: 64}, true},
		{"segments not a power of two", Config{Segments: 1000, Branches: 8}, false},
		{"negative segments", Config{Segments: -4096, Branches: 64}, false},
		{"too many segments", Config{Segments: 2 * MaxSegments, Branches: 64}, false},
		{"branches not a power of two", Config{Segments: 4096, Branches: 48}, false},
		{"negative branches", Config{Segments: 4096, Branches: -64}, false},
		{"more branches than segments", Config{Segments: 64, Branches: 128}, false},
		{"default branches exceed segments", Config{Segments: 32}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate(%+v) = %v, want it to wrap ErrInvalidConfig", tt.cfg, err)
			}
			tr, nerr := New(tt.cfg)
			if (err == nil) != (nerr == nil) {
				t.Fatalf("New(%+v) error = %v, Validate error = %v", tt.cfg, nerr, err)
			}
			if nerr == nil && (tr.Config().Segments == 0 || tr.Config().Branches == 0) {
				t.Fatalf("New(%+v).Config() = %+v, want defaults filled in", tt.cfg, tr.Config())
			}
		})
	}
}

func TestDefaultShape(t *testing.T) {
	tr := mustNew(t, Config{})
	if got, want := tr.Config(), DefaultConfig(); got != want {
		t.Fatalf("Config() = %+v, want %+v", got, want)
	}
	if got := len(tr.Branches()); got != DefaultBranches {
		t.Fatalf("len(Branches()) = %d, want %d", got, DefaultBranches)
	}
	if got, want := len(tr.Segments(0)), DefaultSegments/DefaultBranches; got != want {
		t.Fatalf("len(Segments(0)) = %d, want %d", got, want)
	}
	if tr.Root() != 0 {
		t.Fatalf("empty tree Root() = %#x, want 0", tr.Root())
	}
}

// TestLevelsAreXORs checks the structural invariant: every branch is the
// XOR of its segments and the root the XOR of the branches.
func TestLevelsAreXORs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 0))
	tr := mustNew(t, Config{Segments: 256, Branches: 16})
	for i := range 2000 {
		tr.Add(fmt.Appendf(nil, "k%d", i), randSet(rng))
	}
	var root uint64
	for br, bh := range tr.Branches() {
		var x uint64
		for _, s := range tr.Segments(br) {
			x ^= s
		}
		if x != bh {
			t.Fatalf("branch %d = %#x, XOR of its segments = %#x", br, bh, x)
		}
		root ^= bh
	}
	if root != tr.Root() {
		t.Fatalf("Root() = %#x, XOR of branches = %#x", tr.Root(), root)
	}
	for i := range 100 {
		key := fmt.Appendf(nil, "k%d", i)
		seg := tr.Segment(key)
		if seg < 0 || seg >= 256 || tr.Branch(seg) != seg/16 {
			t.Fatalf("Segment(%q) = %d, Branch = %d", key, seg, tr.Branch(seg))
		}
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	tr := mustNew(t, Config{Segments: 64, Branches: 8})
	tr.Add([]byte("k"), vclock.NewSet("a", vclock.Value{Data: []byte("v")}))
	root := tr.Root()
	br := tr.Branches()
	seg := tr.Branch(tr.Segment([]byte("k")))
	segs := tr.Segments(seg)
	clone := tr.Clone()

	for i := range br {
		br[i] = 42
	}
	for i := range segs {
		segs[i] = 42
	}
	tr.Add([]byte("other"), vclock.NewSet("b", vclock.Value{Data: []byte("w")}))

	if clone.Root() != root {
		t.Fatalf("clone root changed with the original: %#x, want %#x", clone.Root(), root)
	}
	if slices.Contains(tr.Branches(), 42) || slices.Contains(tr.Segments(seg), 42) {
		t.Fatal("modifying a returned slice changed the tree")
	}
	if got := tr.Segments(-1); got != nil {
		t.Fatalf("Segments(-1) = %v, want nil", got)
	}
	if got := tr.Segments(8); got != nil {
		t.Fatalf("Segments(8) = %v, want nil", got)
	}
}

func TestKeyHash(t *testing.T) {
	s1 := vclock.NewSet("a", vclock.Value{Data: []byte("v"), Timestamp: 7})
	s1again := vclock.NewSet("a", vclock.Value{Data: []byte("v"), Timestamp: 7})
	s2 := vclock.NewSet("b", vclock.Value{Data: []byte("v"), Timestamp: 7})
	tomb := vclock.NewSet("a", vclock.Value{Tombstone: true, Timestamp: 7})
	k := []byte("key")
	if KeyHash(k, s1) != KeyHash(k, s1again) {
		t.Fatal("equal sets hash differently")
	}
	for _, c := range []struct {
		name       string
		k1, k2     []byte
		set1, set2 vclock.Set
	}{
		{"other set", k, k, s1, s2},
		{"tombstone", k, k, s1, tomb},
		{"other key", k, []byte("kez"), s1, s1},
		{"empty key", k, nil, s1, s1},
	} {
		if KeyHash(c.k1, c.set1) == KeyHash(c.k2, c.set2) {
			t.Errorf("%s: hashes collide", c.name)
		}
	}
}

// TestSegmentsSpreadWithinPartition checks that keys of one ring partition,
// which share the top bits of their xxhash, still spread over the segments.
func TestSegmentsSpreadWithinPartition(t *testing.T) {
	tr := mustNew(t, DefaultConfig())
	used := map[int]bool{}
	for i := 0; len(used) < 1000 && i < 10_000_000; i++ {
		key := fmt.Appendf(nil, "key-%d", i)
		if xxhash.Sum64(key)>>56 != 0 { // partition 0 of Q = 256
			continue
		}
		used[tr.Segment(key)] = true
	}
	if len(used) < 1000 {
		t.Fatalf("keys of one partition reached only %d segments", len(used))
	}
}

func TestUpdateInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 0))
	tr := mustNew(t, Config{})
	k := []byte("k")
	s1, s2 := randSet(rng), randSet(rng)
	tr.Update(k, vclock.Set{}, s1)
	afterPut := tr.Root()
	tr.Update(k, s1, s1)
	if tr.Root() != afterPut {
		t.Fatal("Update with old == new changed the tree")
	}
	tr.Update(k, s1, s2)
	tr.Update(k, s2, vclock.Set{})
	if m := treeMismatch(tr, mustNew(t, Config{})); m != "" {
		t.Fatalf("put, overwrite, delete did not leave an empty tree: %s", m)
	}
}

// TestIncrementalEqualsRebuild is the order-independence property: any
// sequence of Updates (puts, overwrites, deletes) ends in the same tree as
// a rebuild with Add over the final contents, in any order.
func TestIncrementalEqualsRebuild(t *testing.T) {
	configs := []Config{{Segments: 16, Branches: 4}, {Segments: 1024, Branches: 32}, DefaultConfig()}
	for seed := uint64(1); seed <= 40; seed++ {
		for _, cfg := range configs {
			rng := rand.New(rand.NewPCG(seed, 0))
			contents := map[string]vclock.Set{}
			inc := mustNew(t, cfg)
			nkeys := 1 + rng.IntN(300)
			for range rng.IntN(3000) {
				k := fmt.Sprintf("key-%d", rng.IntN(nkeys))
				old := contents[k]
				var next vclock.Set
				switch r := rng.IntN(10); {
				case r < 2: // delete: the key leaves the tree
				case r < 4 && !old.IsEmpty(): // a write that supersedes what it read
					var err error
					next, err = old.Update(old.Context(), testNodes[rng.IntN(len(testNodes))],
						vclock.Value{Data: fmt.Appendf(nil, "w%d", rng.Uint32())})
					if err != nil {
						t.Fatal(err)
					}
				default:
					next = randSet(rng)
				}
				inc.Update([]byte(k), old, next)
				if next.IsEmpty() {
					delete(contents, k)
				} else {
					contents[k] = next
				}
			}
			rebuilt := buildTree(t, cfg, contents, rng)
			if m := treeMismatch(inc, rebuilt); m != "" {
				t.Fatalf("seed %d, config %+v, %d keys: incremental tree differs from rebuild: %s",
					seed, cfg, len(contents), m)
			}
			if len(contents) == 0 && inc.Root() != 0 {
				t.Fatalf("seed %d, config %+v: empty contents, root %#x", seed, cfg, inc.Root())
			}
		}
	}
}
