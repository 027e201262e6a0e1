package antientropy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b []uint64
		want []int
		err  bool
	}{
		{"both nil", nil, nil, nil, false},
		{"both empty", []uint64{}, []uint64{}, nil, false},
		{"equal", []uint64{1, 2, 3}, []uint64{1, 2, 3}, nil, false},
		{"first", []uint64{9, 2, 3}, []uint64{1, 2, 3}, []int{0}, false},
		{"last", []uint64{1, 2, 3}, []uint64{1, 2, 0}, []int{2}, false},
		{"several", []uint64{1, 2, 3, 4}, []uint64{0, 2, 0, 0}, []int{0, 2, 3}, false},
		{"all", []uint64{1, 2}, []uint64{3, 4}, []int{0, 1}, false},
		{"shorter remote", []uint64{1, 2, 3}, []uint64{1, 2}, nil, true},
		{"longer remote", []uint64{1}, []uint64{1, 2}, nil, true},
		{"nil against values", nil, []uint64{0}, nil, true},
	}
	for _, tt := range tests {
		for name, f := range map[string]func(a, b []uint64) ([]int, error){
			"DiffBranches": DiffBranches, "DiffSegments": DiffSegments,
		} {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := f(tt.a, tt.b)
				if tt.err {
					if !errors.Is(err, ErrShapeMismatch) {
						t.Fatalf("%s(%v, %v) error = %v, want ErrShapeMismatch", name, tt.a, tt.b, err)
					}
					return
				}
				if err != nil || !slices.Equal(got, tt.want) {
					t.Fatalf("%s(%v, %v) = %v, %v; want %v, nil", name, tt.a, tt.b, got, err, tt.want)
				}
			})
		}
	}
}

func TestCompareIdentical(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		contents := map[string]vclock.Set{}
		for i := range rng.IntN(5000) {
			contents[fmt.Sprintf("k%d", i)] = randSet(rng)
		}
		a := buildTree(t, Config{}, contents, rng)
		b := buildTree(t, Config{}, contents, rng)
		if m := treeMismatch(a, b); m != "" {
			t.Fatalf("seed %d: trees of identical contents differ: %s", seed, m)
		}
		d, err := DiffBranches(a.Branches(), b.Branches())
		if err != nil || d != nil {
			t.Fatalf("seed %d: DiffBranches = %v, %v; want nil, nil", seed, d, err)
		}
		fetched := false
		segs, st, err := Compare(a, b.Root(),
			func() ([]uint64, error) { fetched = true; return b.Branches(), nil },
			func(int) ([]uint64, error) { fetched = true; return nil, nil })
		if err != nil || segs != nil || st != (Stats{}) || fetched {
			t.Fatalf("seed %d: Compare = %v, %+v, %v (fetched %v); want nothing fetched",
				seed, segs, st, err, fetched)
		}
	}
}

// TestCompareCostAndRepair diverges k of 100,000 keys on the remote side
// (overwrites, deletes and new keys), checks that Compare reports at most
// k segments after fetching at most k branches' segments and that every
// diverged key is in a reported segment, then repairs the local side from
// the keys of the reported segments only and checks the roots agree.
func TestCompareCostAndRepair(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const seed = 7
	rng := rand.New(rand.NewPCG(seed, 0))
	cfg := DefaultConfig()
	base := make(map[string]vclock.Set, n)
	for i := range n {
		base[fmt.Sprintf("key-%d", i)] = randSet(rng)
	}
	baseTree := buildTree(t, cfg, base, rng)
	width := cfg.Segments / cfg.Branches

	for _, k := range []int{0, 1, 2, 10, 100, 1000} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			local, remote := baseTree, baseTree.Clone()
			overlay := map[string]vclock.Set{} // remote's keys that differ from base
			for i := 0; len(overlay) < k; i++ {
				var key string
				switch i % 3 {
				case 0: // new key
					key = fmt.Sprintf("new-%d", i)
				default: // overwrite or delete an existing key
					key = fmt.Sprintf("key-%d", rng.IntN(n))
				}
				if _, done := overlay[key]; done {
					continue
				}
				var next vclock.Set
				if i%3 != 2 {
					next = randSet(rng)
				}
				remote.Update([]byte(key), base[key], next)
				overlay[key] = next
			}

			fb, fs := fetchers(remote)
			segs, st, err := Compare(local, remote.Root(), fb, fs)
			if err != nil {
				t.Fatalf("seed %d: Compare: %v", seed, err)
			}
			if len(segs) > k || st.SegmentFetches > k || st.SegmentHashes != st.SegmentFetches*width {
				t.Fatalf("seed %d: %d diverged keys gave %d segments, stats %+v", seed, k, len(segs), st)
			}
			if k == 0 && st != (Stats{}) {
				t.Fatalf("seed %d: no divergence but stats %+v", seed, st)
			}
			if k > 0 && st.BranchHashes != cfg.Branches {
				t.Fatalf("seed %d: BranchHashes = %d, want %d", seed, st.BranchHashes, cfg.Branches)
			}
			t.Logf("k=%d: %d segments, stats %+v", k, len(segs), st)
			differing := map[int]bool{}
			for _, s := range segs {
				differing[s] = true
			}
			for key := range overlay {
				if !differing[local.Segment([]byte(key))] {
					t.Fatalf("seed %d: diverged key %q is in no reported segment", seed, key)
				}
			}

			// Repair: scan only the reported segments on both sides and
			// take the remote set wherever it differs.
			repaired := local.Clone()
			synced := 0
			remoteSet := func(key string) vclock.Set {
				if s, ok := overlay[key]; ok {
					return s
				}
				return base[key]
			}
			scan := func(key string) {
				if !differing[repaired.Segment([]byte(key))] {
					return
				}
				if l, r := base[key], remoteSet(key); !l.Equal(r) {
					repaired.Update([]byte(key), l, r)
					synced++
				}
			}
			for key := range base {
				scan(key)
			}
			for key := range overlay {
				if _, ok := base[key]; !ok {
					scan(key)
				}
			}
			if synced != k {
				t.Fatalf("seed %d: repair synced %d keys, want %d", seed, synced, k)
			}
			if m := treeMismatch(repaired, remote); m != "" {
				t.Fatalf("seed %d: after repair: %s", seed, m)
			}
			fb, fs = fetchers(remote)
			if segs, st, err := Compare(repaired, remote.Root(), fb, fs); segs != nil || st != (Stats{}) || err != nil {
				t.Fatalf("seed %d: Compare after repair = %v, %+v, %v", seed, segs, st, err)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	local := mustNew(t, Config{Segments: 64, Branches: 8})
	local.Add([]byte("k"), vclock.NewSet("a", vclock.Value{Data: []byte("v")}))
	other := mustNew(t, Config{Segments: 64, Branches: 4})
	boom := errors.New("boom")
	okSegs := func(int) ([]uint64, error) { return make([]uint64, 8), nil }
	zeroBranches := func() ([]uint64, error) { return make([]uint64, 8), nil }

	tests := []struct {
		name     string
		branches func() ([]uint64, error)
		segments func(int) ([]uint64, error)
		want     error
	}{
		{"branch fetch fails", func() ([]uint64, error) { return nil, boom }, okSegs, boom},
		{"segment fetch fails", zeroBranches, func(int) ([]uint64, error) { return nil, boom }, boom},
		{"other branch count", func() ([]uint64, error) { return other.Branches(), nil }, okSegs, ErrShapeMismatch},
		{"other segment count", zeroBranches, func(b int) ([]uint64, error) { return other.Segments(b), nil }, ErrShapeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Compare(local, 0, tt.branches, tt.segments)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Compare error = %v, want %v", err, tt.want)
			}
		})
	}
}
