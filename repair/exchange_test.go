package repair

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// cluster is a few in-memory replicas and, for each, an Exchanger whose
// peers are the others, all sharing one counting fakeRemote.
type cluster struct {
	dbs    map[string]*storage.DB
	remote *fakeRemote
	ex     map[string]*Exchanger
}

func newCluster(t testing.TB, names ...string) *cluster {
	t.Helper()
	return newClusterOpts(t, storage.Options{}, names...)
}

func newClusterOpts(t testing.TB, opts storage.Options, names ...string) *cluster {
	t.Helper()
	c := &cluster{dbs: make(map[string]*storage.DB), ex: make(map[string]*Exchanger)}
	for _, n := range names {
		c.dbs[n] = openDB(t, opts)
	}
	for _, n := range names {
		waitReady(t, c.dbs[n])
	}
	c.remote = newFakeRemote(c.dbs)
	for _, n := range names {
		c.ex[n] = NewExchanger(dbLocal{c.dbs[n]}, c.remote, nil)
	}
	return c
}

// exchangeAll runs from<->to for partitions [0, parts) and returns the
// results.
func (c *cluster) exchangeAll(t testing.TB, from, to string, parts int) []Result {
	t.Helper()
	out := make([]Result, parts)
	for p := range out {
		res, err := c.ex[from].Exchange(context.Background(), to, uint32(p))
		if err != nil {
			t.Fatalf("Exchange(%s<->%s, partition %d): %v", from, to, p, err)
		}
		out[p] = res
	}
	return out
}

func sumResults(rs []Result) Result {
	var sum Result
	for _, r := range rs {
		sum.add(r)
	}
	return sum
}

func countRootsEqual(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.RootsEqual {
			n++
		}
	}
	return n
}

// TestExchangeCostGrowsWithDifference is the acceptance test: three
// replicas of 100,000 keys of which 100 differ on one replica converge,
// and the exchanges that repair them compare and move on the order of the
// 100 differing keys, not of the 100,000.
func TestExchangeCostGrowsWithDifference(t *testing.T) {
	const (
		nKeys = 100_000
		parts = 8
	)
	c := newCluster(t, "a", "b", "c")
	a, b, cc := c.dbs["a"], c.dbs["b"], c.dbs["c"]
	ctx := context.Background()
	key := func(i int) string { return fmt.Sprintf("key-%06d", i) }
	part := func(k string) uint32 { return ring.PartitionOf([]byte(k), parts) }

	// Write every key on a and merge the result into b and c, with a few
	// writers so that storage group-commits.
	start := time.Now()
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < nKeys; i += workers {
				k := key(i)
				p := part(k)
				s, _, err := a.Update(ctx, p, []byte(k), vclock.Clock{}, "a", val("v-"+k), false)
				if err != nil {
					errs <- fmt.Errorf("Update(%s) on a: %w", k, err)
					return
				}
				for _, db := range []*storage.DB{b, cc} {
					if _, _, err := db.Merge(ctx, p, []byte(k), s, false); err != nil {
						errs <- fmt.Errorf("Merge(%s): %w", k, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("wrote %d keys on 3 replicas in %v", nKeys, time.Since(start).Round(time.Millisecond))
	if ra, rb, rc := rootsOf(t, a, parts), rootsOf(t, b, parts), rootsOf(t, cc, parts); !slices.Equal(ra, rb) || !slices.Equal(ra, rc) {
		t.Fatalf("roots differ after identical writes: a %x, b %x, c %x", ra, rb, rc)
	}

	// 100 differences: 50 keys updated on c only, 30 keys created on c
	// only, 10 keys updated on a only and 10 created on a only.
	for i := range 50 {
		k := key(i * 1999)
		p := part(k)
		mustUpdate(t, cc, p, k, mustGet(t, cc, p, k).Context(), "c", val("c-update"))
	}
	for i := range 30 {
		k := fmt.Sprintf("c-only-%d", i)
		mustUpdate(t, cc, part(k), k, vclock.Clock{}, "c", val("c-new"))
	}
	for i := range 10 {
		k := key(i*1999 + 7)
		p := part(k)
		mustUpdate(t, a, p, k, mustGet(t, a, p, k).Context(), "a", val("a-update"))
	}
	for i := range 10 {
		k := fmt.Sprintf("a-only-%d", i)
		mustUpdate(t, a, part(k), k, vclock.Clock{}, "a", val("a-new"))
	}

	// a<->c: a fetches the 50+30 keys c changed and the 10 it changed
	// itself (whose hashes differ), and pushes its 10+10 changes.
	c.remote.reset()
	ac := c.exchangeAll(t, "a", "c", parts)
	acSum, acCost := sumResults(ac), c.remote.counts()
	t.Logf("a<->c: compared %d keys, %d differing, %d segments and %d branches differing, %d segment hashes; "+
		"remote: %d round trips (root %d, branches %d, segments %d, keys %d, fetch %d, push %d), "+
		"%d key hashes, %d sets fetched, %d pushed; %d bytes sent, %d received",
		acSum.KeysCompared, acSum.KeysDiffering, acSum.SegmentsDiffering, acSum.BranchesDiffering, acSum.SegmentHashes,
		acCost.RoundTrips(), acCost.Root, acCost.Branches, acCost.Segments, acCost.Keys, acCost.Fetch, acCost.Push,
		acCost.KeyHashes, acCost.Fetched, acCost.Pushed, acSum.BytesSent, acSum.BytesReceived)
	if acSum.KeysDiffering != 100 {
		t.Errorf("a<->c KeysDiffering = %d, want 100", acSum.KeysDiffering)
	}
	if acSum.KeysCompared < 100 || acSum.KeysCompared > 1000 {
		t.Errorf("a<->c KeysCompared = %d, want within [100, 1000] for 100 differing keys of %d", acSum.KeysCompared, nKeys)
	}
	if acCost.KeyHashes > 1000 {
		t.Errorf("a<->c peer sent %d key hashes, want at most 1000", acCost.KeyHashes)
	}
	if acCost.Fetched != 90 || acCost.Pushed != 20 {
		t.Errorf("a<->c moved %d fetched + %d pushed sets, want 90 + 20", acCost.Fetched, acCost.Pushed)
	}
	if m := acCost.Moved(); m < 100 || m > 300 {
		t.Errorf("a<->c moved %d sets, want within [100, 300]", m)
	}
	if acSum.RepairedHere != 80 || acSum.RepairedThere != 20 {
		t.Errorf("a<->c repaired %d here, %d there; want 80, 20", acSum.RepairedHere, acSum.RepairedThere)
	}
	if acSum.SegmentHashes != acCost.SegmentHashes {
		t.Errorf("a<->c Result.SegmentHashes = %d, peer served %d", acSum.SegmentHashes, acCost.SegmentHashes)
	}
	if acCost.Root != parts || acCost.Branches != parts {
		t.Errorf("a<->c made %d Root and %d Branches calls, want %d each", acCost.Root, acCost.Branches, parts)
	}
	if acCost.RoundTrips() > 8*parts {
		t.Errorf("a<->c made %d round trips, want at most %d", acCost.RoundTrips(), 8*parts)
	}
	if acSum.SegmentHashes > acSum.BranchesDiffering*64 {
		t.Errorf("a<->c fetched %d segment hashes for %d differing branches", acSum.SegmentHashes, acSum.BranchesDiffering)
	}
	if ra, rc := rootsOf(t, a, parts), rootsOf(t, cc, parts); !slices.Equal(ra, rc) {
		t.Errorf("after a<->c roots differ: a %x, c %x", ra, rc)
	}

	// a<->b: a now holds all 100 changes and b none of them: 60 keys
	// differ (fetched, then pushed joined) and 40 are missing on b.
	c.remote.reset()
	ab := c.exchangeAll(t, "a", "b", parts)
	abSum, abCost := sumResults(ab), c.remote.counts()
	t.Logf("a<->b: compared %d keys, %d differing; remote: %d round trips, %d fetched, %d pushed",
		abSum.KeysCompared, abSum.KeysDiffering, abCost.RoundTrips(), abCost.Fetched, abCost.Pushed)
	if abSum.KeysDiffering != 100 || abCost.Fetched != 60 || abCost.Pushed != 100 || abSum.RepairedHere != 0 {
		t.Errorf("a<->b: %d differing, %d fetched, %d pushed, %d repaired here; want 100, 60, 100, 0",
			abSum.KeysDiffering, abCost.Fetched, abCost.Pushed, abSum.RepairedHere)
	}

	// b<->c: nothing left to do.
	c.remote.reset()
	bc := c.exchangeAll(t, "b", "c", parts)
	if n, cost := countRootsEqual(bc), c.remote.counts(); n != parts || cost.RoundTrips() != parts {
		t.Errorf("b<->c: %d of %d exchanges RootsEqual in %d round trips; want all, in %d", n, parts, cost.RoundTrips(), parts)
	}

	da, db, dc := dump(t, a, parts), dump(t, b, parts), dump(t, cc, parts)
	if len(da) != nKeys+40 {
		t.Errorf("a holds %d keys, want %d", len(da), nKeys+40)
	}
	if d := diffDumps(da, db); d != "" {
		t.Errorf("a and b differ after repair: %s", d)
	}
	if d := diffDumps(da, dc); d != "" {
		t.Errorf("a and c differ after repair: %s", d)
	}
	ra := rootsOf(t, a, parts)
	if rb, rc := rootsOf(t, b, parts), rootsOf(t, cc, parts); !slices.Equal(ra, rb) || !slices.Equal(ra, rc) {
		t.Errorf("roots differ after repair: a %x, b %x, c %x", ra, rb, rc)
	}
	// The changed keys hold the change everywhere.
	for _, name := range []string{"a", "b", "c"} {
		k := key(1999)
		if got := mustGet(t, c.dbs[name], part(k), k).Values(); len(got) != 1 || string(got[0].Data) != "c-update" {
			t.Errorf("%s: %s = %v, want the single value c-update", name, k, got)
		}
	}
}

// TestExchangeConcurrentSiblings checks that a key written concurrently on
// two replicas ends with both siblings on both.
func TestExchangeConcurrentSiblings(t *testing.T) {
	for _, initiator := range []string{"a", "c"} {
		t.Run("from "+initiator, func(t *testing.T) {
			c := newCluster(t, "a", "c")
			const p = 3
			sa := mustUpdate(t, c.dbs["a"], p, "k", vclock.Clock{}, "a", val("from-a"))
			sc := mustUpdate(t, c.dbs["c"], p, "k", vclock.Clock{}, "c", val("from-c"))
			want := vclock.Sync(sa, sc)
			if want.Len() != 2 {
				t.Fatalf("Sync of concurrent writes has %d siblings, want 2", want.Len())
			}
			peer := map[string]string{"a": "c", "c": "a"}[initiator]
			res, err := c.ex[initiator].Exchange(context.Background(), peer, p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if res.KeysDiffering != 1 || res.RepairedHere != 1 || res.RepairedThere != 1 {
				t.Errorf("Result %+v: want 1 differing key repaired on both sides", res)
			}
			for name, db := range c.dbs {
				if got := mustGet(t, db, p, "k"); !got.Equal(want) {
					t.Errorf("%s holds %v siblings %v, want %v", name, got.Len(), got.Values(), want.Values())
				}
			}
			if ra, rc := rootsOf(t, c.dbs["a"], 4), rootsOf(t, c.dbs["c"], 4); !slices.Equal(ra, rc) {
				t.Errorf("roots differ after exchange: a %x, c %x", ra, rc)
			}
		})
	}
}

// TestExchangeDelete checks that a delete on two replicas wins over the
// value still live on the third, whichever side starts each exchange.
func TestExchangeDelete(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]string
	}{
		{"deleters first", [][2]string{{"a", "b"}, {"a", "c"}, {"b", "c"}}},
		{"live side initiates", [][2]string{{"c", "a"}, {"c", "b"}, {"a", "b"}}},
		{"live side last", [][2]string{{"b", "c"}, {"a", "c"}, {"a", "b"}}},
		{"one live exchange then peers", [][2]string{{"c", "a"}, {"b", "a"}, {"c", "b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, "a", "b", "c")
			const p = 1
			live := mustUpdate(t, c.dbs["a"], p, "k", vclock.Clock{}, "a", val("alive"))
			mustMerge(t, c.dbs["b"], p, "k", live)
			mustMerge(t, c.dbs["c"], p, "k", live)
			// Delete with the read's context on a, replicated to b only.
			read := mustGet(t, c.dbs["a"], p, "k")
			del := mustUpdate(t, c.dbs["a"], p, "k", read.Context(), "a", tombstone)
			mustMerge(t, c.dbs["b"], p, "k", del)

			for _, pr := range tc.pairs {
				if _, err := c.ex[pr[0]].Exchange(context.Background(), pr[1], p); err != nil {
					t.Fatalf("Exchange(%s<->%s): %v", pr[0], pr[1], err)
				}
			}
			for _, name := range []string{"a", "b", "c"} {
				got := mustGet(t, c.dbs[name], p, "k")
				if !got.Deleted() || !got.Equal(del) {
					t.Errorf("%s holds %d siblings, live %v, deleted %v; want the tombstone set", name, got.Len(), got.Values(), got.Deleted())
				}
			}
		})
	}
}

// TestExchangeEqualTrees checks that replicas that agree cost one round
// trip and move nothing.
func TestExchangeEqualTrees(t *testing.T) {
	tests := []struct {
		name string
		keys int
	}{
		{"empty", 0},
		{"one key", 1},
		{"2000 keys", 2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, "a", "b")
			const p = 2
			for i := range tc.keys {
				k := fmt.Sprintf("k%d", i)
				mustMerge(t, c.dbs["b"], p, k, mustUpdate(t, c.dbs["a"], p, k, vclock.Clock{}, "a", val(k)))
			}
			res, err := c.ex["a"].Exchange(context.Background(), "b", p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			cost := c.remote.counts()
			if !res.RootsEqual || res.KeysCompared != 0 || res.SegmentHashes != 0 || res.Repaired() != 0 {
				t.Errorf("Result %+v: want RootsEqual and nothing compared", res)
			}
			if cost != (remoteCounts{Root: 1}) {
				t.Errorf("peer served %+v, want exactly one Root call", cost)
			}
		})
	}
}

// notReadyLocal is a Local whose trees are always being rebuilt.
type notReadyLocal struct{ dbLocal }

func (notReadyLocal) TreeSnapshot(uint32) (*antientropy.Tree, error) {
	return nil, fmt.Errorf("%w: rebuilding", ErrNotReady)
}

func (notReadyLocal) TreeRoot(uint32) (uint64, error) {
	return 0, fmt.Errorf("%w: rebuilding", ErrNotReady)
}

// TestExchangeNotReady checks that no exchange runs against a tree that is
// not built, on either side.
func TestExchangeNotReady(t *testing.T) {
	tests := []struct {
		name      string
		local     func(t *testing.T, db *storage.DB) Local
		remoteOff bool // peer's trees turned off: never Ready
		wantRoots int  // Root calls expected
	}{
		{"local rebuilding", func(t *testing.T, db *storage.DB) Local { return notReadyLocal{dbLocal{db}} }, false, 0},
		{"local trees off", func(t *testing.T, _ *storage.DB) Local {
			return dbLocal{openDB(t, storage.Options{NoTrees: true})}
		}, false, 0},
		{"peer trees off", func(t *testing.T, db *storage.DB) Local { return dbLocal{db} }, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			local := openReady(t)
			peer := openDB(t, storage.Options{NoTrees: tc.remoteOff})
			if !tc.remoteOff {
				waitReady(t, peer)
			}
			// The peer holds keys the local side lacks: a tree taken for
			// empty would make the exchange fetch them all.
			for i := range 100 {
				mustUpdate(t, peer, 0, fmt.Sprintf("k%d", i), vclock.Clock{}, "b", val("x"))
			}
			remote := newFakeRemote(map[string]*storage.DB{"b": peer})
			ex := NewExchanger(tc.local(t, local), remote, nil)
			res, err := ex.Exchange(context.Background(), "b", 0)
			if !errors.Is(err, ErrNotReady) {
				t.Fatalf("Exchange error = %v, want one wrapping ErrNotReady", err)
			}
			if res.KeysCompared != 0 || res.RootsEqual || res.Repaired() != 0 {
				t.Errorf("Result %+v: want nothing compared", res)
			}
			if cost := remote.counts(); cost != (remoteCounts{Root: tc.wantRoots}) {
				t.Errorf("peer served %+v, want only %d Root calls", cost, tc.wantRoots)
			}
		})
	}
}

// TestExchangeConvergesProperty diverges three replicas at random and
// checks that one round of exchanges over every pair makes them equal to
// the join of what they held, and that a second round finds nothing.
func TestExchangeConvergesProperty(t *testing.T) {
	const (
		parts  = 4
		nKeys  = 300
		nOps   = 400
		rounds = 6
	)
	names := []string{"a", "b", "c"}
	for seed := uint64(1); seed <= rounds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x7e57))
			// Odd seeds use small trees: many keys per segment, so the
			// exchanges split their calls (keySegmentsPerCall,
			// keysPerSync).
			var opts storage.Options
			if seed%2 == 1 {
				opts.Trees = antientropy.Config{Segments: 16, Branches: 4}
			}
			c := newClusterOpts(t, opts, names...)
			key := func(i int) string { return fmt.Sprintf("k%03d", i) }
			part := func(k string) uint32 { return ring.PartitionOf([]byte(k), parts) }

			// Common history: keys written on one replica and replicated to
			// a random subset of the others.
			for i := range nKeys {
				k := key(i)
				origin := names[rng.IntN(3)]
				s := mustUpdate(t, c.dbs[origin], part(k), k, vclock.Clock{}, origin, val(fmt.Sprintf("v%d", i)))
				for _, n := range names {
					if n != origin && rng.IntN(3) > 0 {
						mustMerge(t, c.dbs[n], part(k), k, s)
					}
				}
			}
			// Divergence: updates with the replica's context, blind
			// (concurrent) writes, deletes, and keys new on one replica.
			for i := range nOps {
				n := names[rng.IntN(3)]
				db := c.dbs[n]
				k := key(rng.IntN(nKeys + nKeys/4)) // some keys are new
				p := part(k)
				read := mustGet(t, db, p, k).Context()
				switch rng.IntN(4) {
				case 0:
					mustUpdate(t, db, p, k, read, n, val(fmt.Sprintf("op%d", i)))
				case 1:
					mustUpdate(t, db, p, k, vclock.Clock{}, n, val(fmt.Sprintf("blind%d", i)))
				case 2:
					mustUpdate(t, db, p, k, read, n, tombstone)
				case 3:
					if rng.IntN(2) == 0 { // stale context: the empty one
						mustUpdate(t, db, p, k, vclock.Clock{}, n, tombstone)
					} else {
						mustUpdate(t, db, p, k, read, n, vclock.Value{Data: []byte("ts"), Timestamp: int64(i)})
					}
				}
			}
			want := joinAll(t, seed, c, parts)

			pairs := [][2]string{{"a", "b"}, {"a", "c"}, {"b", "c"}}
			for round := 1; round <= 2; round++ {
				for _, pr := range pairs {
					if rng.IntN(2) == 0 {
						pr[0], pr[1] = pr[1], pr[0]
					}
					rs := c.exchangeAll(t, pr[0], pr[1], parts)
					if n := countRootsEqual(rs); round == 2 && n != parts {
						t.Errorf("seed %d: round 2 %s<->%s: %d of %d exchanges RootsEqual, want all; %+v",
							seed, pr[0], pr[1], n, parts, sumResults(rs))
					}
				}
				for _, n := range names {
					if d := diffDumps(want, dump(t, c.dbs[n], parts)); d != "" {
						t.Fatalf("seed %d: after round %d, %s differs from the join of all replicas: %s", seed, round, n, d)
					}
				}
			}
		})
	}
}

// joinAll returns the dump every replica should hold after repair: for
// each key the Sync of its sets on all replicas.
func joinAll(t *testing.T, seed uint64, c *cluster, parts int) map[string]string {
	t.Helper()
	sets := make(map[string]vclock.Set)
	for _, db := range c.dbs {
		for k, enc := range dump(t, db, parts) {
			s, err := vclock.Decode([]byte(enc))
			if err != nil {
				t.Fatalf("seed %d: decode %s: %v", seed, k, err)
			}
			sets[k] = vclock.Sync(sets[k], s)
		}
	}
	out := make(map[string]string, len(sets))
	for k, s := range sets {
		out[k] = string(s.Encode())
	}
	return out
}

// TestExchangeSplitsCalls checks that a large difference is moved in
// bounded calls: segment hashes of at most segmentBranchesPerCall
// branches, keys of at most keySegmentsPerCall segments, and at most
// keysPerSync keys per Fetch or Push.
func TestExchangeSplitsCalls(t *testing.T) {
	tests := []struct {
		name         string
		trees        antientropy.Config
		onlyA        int // keys only a holds
		onlyB        int // keys only b holds
		changedB     int // keys both hold, updated on b
		wantSegCalls int
	}{
		{"many branches", antientropy.Config{Segments: 1024, Branches: 64}, 300, 300, 300, 4},
		{"crowded segments", antientropy.Config{Segments: 128, Branches: 8}, 700, 900, 400, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClusterOpts(t, storage.Options{Trees: tc.trees}, "a", "b")
			a, b := c.dbs["a"], c.dbs["b"]
			const p = 5
			for i := range tc.onlyA {
				mustUpdate(t, a, p, fmt.Sprintf("a%d", i), vclock.Clock{}, "a", val("a"))
			}
			for i := range tc.onlyB {
				mustUpdate(t, b, p, fmt.Sprintf("b%d", i), vclock.Clock{}, "b", val("b"))
			}
			for i := range tc.changedB {
				k := fmt.Sprintf("s%d", i)
				s := mustUpdate(t, a, p, k, vclock.Clock{}, "a", val("s"))
				mustMerge(t, b, p, k, s)
				mustUpdate(t, b, p, k, s.Context(), "b", val("s2"))
			}
			res, err := c.ex["a"].Exchange(context.Background(), "b", p)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			cost := c.remote.counts()
			t.Logf("%+v; peer %+v", res, cost)
			if cost.MaxBranches > segmentBranchesPerCall || cost.MaxSegments > keySegmentsPerCall ||
				cost.MaxFetch > keysPerSync || cost.MaxPush > keysPerSync {
				t.Errorf("peer %+v: a call exceeded the limits (%d branches, %d segments, %d keys)",
					cost, segmentBranchesPerCall, keySegmentsPerCall, keysPerSync)
			}
			if cost.Segments != tc.wantSegCalls {
				t.Errorf("%d Segments calls, want %d", cost.Segments, tc.wantSegCalls)
			}
			if cost.Fetched != tc.onlyB+tc.changedB || cost.Pushed != tc.onlyA {
				t.Errorf("fetched %d and pushed %d, want %d and %d", cost.Fetched, cost.Pushed, tc.onlyB+tc.changedB, tc.onlyA)
			}
			if want := tc.onlyA + tc.onlyB + tc.changedB; res.KeysDiffering != want || res.KeysCompared != want {
				t.Errorf("compared %d keys, %d differing; want %d, all of them", res.KeysCompared, res.KeysDiffering, want)
			}
			if d := diffDumps(dump(t, a, p+1), dump(t, b, p+1)); d != "" {
				t.Errorf("a and b differ after exchange: %s", d)
			}
		})
	}
}

// TestExchangeShapeMismatch checks that trees of different shapes are
// refused rather than misread.
func TestExchangeShapeMismatch(t *testing.T) {
	a := openDB(t, storage.Options{Trees: antientropy.Config{Segments: 256, Branches: 16}})
	b := openDB(t, storage.Options{Trees: antientropy.Config{Segments: 256, Branches: 32}})
	waitReady(t, a)
	waitReady(t, b)
	mustUpdate(t, a, 0, "k", vclock.Clock{}, "a", val("x"))
	remote := newFakeRemote(map[string]*storage.DB{"b": b})
	res, err := NewExchanger(dbLocal{a}, remote, nil).Exchange(context.Background(), "b", 0)
	if !errors.Is(err, antientropy.ErrShapeMismatch) {
		t.Fatalf("Exchange = %v, want an error wrapping antientropy.ErrShapeMismatch", err)
	}
	if cost := remote.counts(); res.Repaired() != 0 || cost.Keys+cost.Fetch+cost.Push != 0 {
		t.Errorf("Result %+v, peer %+v: want nothing compared or moved", res, cost)
	}
}
