package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

// waitReady waits until the trees are ready, failing the test at once if
// they are not enabled.
func waitReady(t testing.TB, db *DB) TreeProgress {
	t.Helper()
	if p := db.TreeProgress(); !p.Enabled {
		t.Fatalf("waitReady: trees are not enabled: %+v", p)
	}
	chorustest.Eventually(t, "trees ready", func() bool { return db.TreeProgress().Ready })
	return db.TreeProgress()
}

// waitRebuildExit waits for the rebuild goroutine to end; once the trees
// are ready it has nothing left to do.
func waitRebuildExit(t testing.TB, db *DB) {
	t.Helper()
	select {
	case <-db.trees.done:
	case <-time.After(chorustest.Timeout):
		t.Fatalf("rebuild goroutine still running %v after Ready: %+v", chorustest.Timeout, db.TreeProgress())
	}
}

// scanTree builds partition p's tree from scratch from a scan of its data:
// the reference the DB's incrementally maintained tree must equal.
func scanTree(t testing.TB, db *DB, p uint32) (*antientropy.Tree, int) {
	t.Helper()
	tr, err := antientropy.New(db.TreeConfig())
	if err != nil {
		t.Fatalf("antientropy.New(%+v): %v", db.TreeConfig(), err)
	}
	n := 0
	err = db.ScanPartition(context.Background(), p, func(k []byte, s vclock.Set) error {
		tr.Add(k, s)
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("ScanPartition(%d): %v", p, err)
	}
	return tr, n
}

// treeDiff describes the first difference between got and want, or returns
// "" if their roots, branches and segments are all equal.
func treeDiff(got, want *antientropy.Tree) string {
	if got.Config() != want.Config() {
		return fmt.Sprintf("config %+v, want %+v", got.Config(), want.Config())
	}
	if got.Root() != want.Root() {
		return fmt.Sprintf("root %#x, want %#x", got.Root(), want.Root())
	}
	if g, w := got.Branches(), want.Branches(); !slices.Equal(g, w) {
		for b := range w {
			if g[b] != w[b] {
				return fmt.Sprintf("branch %d = %#x, want %#x", b, g[b], w[b])
			}
		}
	}
	for b := range want.Config().Branches {
		if g, w := got.Segments(b), want.Segments(b); !slices.Equal(g, w) {
			for i := range w {
				if g[i] != w[i] {
					return fmt.Sprintf("branch %d segment %d = %#x, want %#x", b, i, g[i], w[i])
				}
			}
		}
	}
	return ""
}

// checkTrees compares the DB's tree of each partition, as TreeSnapshot,
// TreeRoot, TreeBranches and TreeSegments serve it, with one rebuilt from
// a scan. The trees must be ready. what says where the check ran, and
// should carry the seed.
func checkTrees(t testing.TB, db *DB, parts []uint32, what string) {
	t.Helper()
	for _, p := range parts {
		want, n := scanTree(t, db, p)
		snap, err := db.TreeSnapshot(p)
		if err != nil {
			t.Fatalf("%s: TreeSnapshot(%d): %v", what, p, err)
		}
		if d := treeDiff(snap, want); d != "" {
			t.Fatalf("%s: partition %d (%d keys): snapshot differs from a rebuild from the data: %s", what, p, n, d)
		}
		root, err := db.TreeRoot(p)
		if err != nil || root != want.Root() {
			t.Fatalf("%s: TreeRoot(%d) = %#x, %v; want %#x", what, p, root, err, want.Root())
		}
		branches, err := db.TreeBranches(p)
		if err != nil || !slices.Equal(branches, want.Branches()) {
			t.Fatalf("%s: TreeBranches(%d) differs from a rebuild (err %v)", what, p, err)
		}
		all := make([]int, want.Config().Branches)
		var wantSegs []uint64
		for b := range all {
			all[b] = b
			wantSegs = append(wantSegs, want.Segments(b)...)
		}
		segs, err := db.TreeSegments(p, all)
		if err != nil || !slices.Equal(segs, wantSegs) {
			t.Fatalf("%s: TreeSegments(%d, all branches) differs from a rebuild (err %v)", what, p, err)
		}
	}
}

// TestTreesMatchDataProperty runs random histories of updates, merges of
// sets coordinated on another DB (so concurrent siblings arise), deletes
// and tombstone collection, and checks that every partition's tree stays
// equal to one rebuilt from the data.
func TestTreesMatchDataProperty(t *testing.T) {
	const (
		ops      = 300
		keyNames = 50
		every    = 50 // check the trees every this many ops too
	)
	parts := []uint32{0, 7, 300}
	shapes := []struct {
		name string
		cfg  antientropy.Config
	}{
		{"default", antientropy.Config{}},
		// Few segments: many keys share one, so their hashes must cancel
		// exactly on every change.
		{"small", antientropy.Config{Segments: 16, Branches: 4}},
	}
	for _, shape := range shapes {
		for _, seed := range []uint64{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("%s/seed=%d", shape.name, seed), func(t *testing.T) {
				runTreeHistory(t, seed, shape.cfg, parts, keyNames, ops, every)
			})
		}
	}
}

func runTreeHistory(t *testing.T, seed uint64, cfg antientropy.Config, parts []uint32, keyNames, ops, every int) {
	opts := Options{Trees: cfg, SiblingWarn: 1000, SiblingLimit: 1000}
	db := openMem(t, opts)
	remote := openMem(t, opts)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s", seed, fmt.Sprintf(format, args...))
	}
	get := func(d *DB, p uint32, key []byte) vclock.Set {
		s, err := d.Get(ctx, p, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			fail("Get(%d, %s): %v", p, key, err)
		}
		return s
	}
	var counts [4]int
	collected := 0
	for i := range ops {
		p := parts[rng.IntN(len(parts))]
		key := fmt.Appendf(nil, "k%02d", rng.IntN(keyNames))
		value := vclock.Value{Data: fmt.Appendf(nil, "v%d", i), Timestamp: int64(i)}
		op := rng.IntN(len(counts))
		counts[op]++
		switch op {
		case 0: // a client write, blind or with a fresh read's context
			var c vclock.Clock
			if rng.IntN(2) == 0 {
				c = get(db, p, key).Context()
			}
			if _, _, err := db.Update(ctx, p, key, c, "n1", value, false); err != nil {
				fail("op %d: Update(%d, %s): %v", i, p, key, err)
			}
		case 1: // a write coordinated elsewhere, replicated here
			if rng.IntN(2) == 0 {
				// The remote saw our state first: its write supersedes it
				// or, with a blind write, adds a sibling to it.
				if _, _, err := remote.Merge(ctx, p, key, get(db, p, key), false); err != nil {
					fail("op %d: remote Merge: %v", i, err)
				}
			}
			var c vclock.Clock
			if rng.IntN(2) == 0 {
				c = get(remote, p, key).Context()
			}
			rs, _, err := remote.Update(ctx, p, key, c, "n2", value, false)
			if err != nil {
				fail("op %d: remote Update: %v", i, err)
			}
			if _, _, err := db.Merge(ctx, p, key, rs, false); err != nil {
				fail("op %d: Merge(%d, %s): %v", i, p, key, err)
			}
		case 2: // a delete with the read's context: every sibling goes
			c := get(db, p, key).Context()
			if _, _, err := db.Update(ctx, p, key, c, "n1", vclock.Value{Tombstone: true, Timestamp: int64(i)}, false); err != nil {
				fail("op %d: delete (%d, %s): %v", i, p, key, err)
			}
		case 3: // tombstone collection
			s := get(db, p, key)
			removed, err := db.DeleteTombstone(ctx, p, key, s)
			if err != nil {
				fail("op %d: DeleteTombstone(%d, %s): %v", i, p, key, err)
			}
			if removed {
				collected++
			}
			if removed != s.Deleted() {
				fail("op %d: DeleteTombstone(%d, %s) of a set with Deleted()=%v removed=%v", i, p, key, s.Deleted(), removed)
			}
		}
		if (i+1)%every == 0 && db.TreeProgress().Ready {
			checkTrees(t, db, parts, fmt.Sprintf("seed %d after op %d", seed, i))
		}
	}
	waitReady(t, db)
	// A partition never written has an empty tree; the others must match
	// their data.
	checkTrees(t, db, append([]uint32{1}, parts...), fmt.Sprintf("seed %d at the end (ops by kind %v)", seed, counts))
	if collected == 0 {
		fail("no tombstone was collected in %d ops; the history does not exercise removal", ops)
	}
	t.Logf("seed %d: ops by kind %v, %d tombstones collected", seed, counts, collected)
	if root, err := db.TreeRoot(1); err != nil || root != 0 {
		fail("TreeRoot of an unwritten partition = %#x, %v; want 0", root, err)
	}
}

// writeKeys writes n keys, spread over parts, from several goroutines. Every
// seventh key gets a second, concurrent sibling and every eleventh is
// deleted, so trees cover multi-sibling and tombstone sets too.
func writeKeys(t testing.TB, db *DB, parts []uint32, n int) {
	t.Helper()
	const writers = 8
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				p := parts[i%len(parts)]
				key := fmt.Appendf(nil, "key-%06d", i)
				s, _, err := db.Update(ctx, p, key, vclock.Clock{}, "n1", val(fmt.Sprint("v", i)), false)
				if err == nil && i%7 == 0 {
					s, _, err = db.Merge(ctx, p, key, vclock.NewSet("n2", val("other")), false)
				}
				if err == nil && i%11 == 0 {
					s, _, err = db.Update(ctx, p, key, s.Context(), "n1", vclock.Value{Tombstone: true}, false)
				}
				if err != nil {
					t.Errorf("writing key %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// TestTreesRebuiltAfterReopen writes a few thousand keys, closes the DB and
// checks that the trees rebuilt from disk at the next Open are the ones
// the writes had maintained.
func TestTreesRebuiltAfterReopen(t *testing.T) {
	const n = 3000
	parts := []uint32{2, 9, 40, 1000}
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, db) // an empty store is ready at once
	writeKeys(t, db, parts, n)
	checkTrees(t, db, parts, "before close")
	roots := make(map[uint32]uint64)
	for _, p := range parts {
		snap, err := db.TreeSnapshot(p)
		if err != nil {
			t.Fatalf("TreeSnapshot(%d): %v", p, err)
		}
		if snap.Root() == 0 {
			t.Fatalf("partition %d has keys but a zero root", p)
		}
		roots[p] = snap.Root()
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close() // Close is idempotent; this one covers a failure below
	prog := waitReady(t, db)
	for _, p := range parts {
		if got, err := db.TreeRoot(p); err != nil || got != roots[p] {
			t.Errorf("partition %d: root after reopen = %#x, %v; want %#x", p, got, err, roots[p])
		}
	}
	if prog.Keys != n {
		t.Errorf("TreeProgress().Keys = %d after the rebuild, want %d (the keys written)", prog.Keys, n)
	}
	if last := parts[len(parts)-1]; prog.Partition != last {
		t.Errorf("TreeProgress().Partition = %d when ready, want the last partition %d", prog.Partition, last)
	}
	checkTrees(t, db, parts, "after reopen")
	waitRebuildExit(t, db)
	if p := db.TreeProgress(); p.Elapsed != prog.Elapsed || p.Keys != prog.Keys {
		t.Errorf("progress changed after Ready: %+v, then %+v", prog, p)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Closing in the middle of a rebuild stops it cleanly, and the next
	// Open rebuilds from scratch.
	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	t.Logf("closing with rebuild progress %+v", db.TreeProgress())
	if err := db.Close(); err != nil {
		t.Fatalf("Close during the rebuild: %v", err)
	}
	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("reopen after closing during the rebuild: %v", err)
	}
	defer db.Close()
	if p := waitReady(t, db); p.Keys != n {
		t.Errorf("TreeProgress().Keys = %d after the second rebuild, want %d", p.Keys, n)
	}
	for _, p := range parts {
		if got, err := db.TreeRoot(p); err != nil || got != roots[p] {
			t.Errorf("partition %d: root after the second reopen = %#x, %v; want %#x", p, got, err, roots[p])
		}
	}
}

// TestTreesWritesDuringRebuild reopens a store of 20,000 keys and writes to
// old and new keys from two goroutines while the trees are being rebuilt,
// so that writes land both behind and ahead of the rebuild's cursor. The
// trees must end equal to ones rebuilt from the data.
func TestTreesWritesDuringRebuild(t *testing.T) {
	const n, writers = 20000, 2
	const seed = 20240601
	parts := []uint32{3, 4, 11, 500}
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet, NoTrees: true}) // trees are not under test here
	if err != nil {
		t.Fatal(err)
	}
	writeKeys(t, db, parts, n)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err = Open(dir, Options{Logger: quiet, SiblingWarn: 1000, SiblingLimit: 1000})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	// Everything written through NoTrees is on disk; a new partition
	// exercises a tree created only by writes.
	allParts := append(slices.Clone(parts), 600)
	var before, after, notReady atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			if err := writeUntilReady(db, rng, allParts, n, w, &before, &after, &notReady); err != nil {
				t.Errorf("seed %d writer %d: %v", seed, w, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	prog := waitReady(t, db)
	t.Logf("seed %d: %d writes completed before Ready, %d after; %d tree reads refused as not ready; rebuild took %v",
		seed, before.Load(), after.Load(), notReady.Load(), prog.Elapsed)
	if before.Load() == 0 {
		t.Fatalf("seed %d: no write completed during the rebuild, so the test checked nothing", seed)
	}
	if prog.Keys < n {
		t.Errorf("seed %d: rebuild added %d keys, fewer than the %d present at Open", seed, prog.Keys, n)
	}
	checkTrees(t, db, allParts, fmt.Sprintf("seed %d after writes during the rebuild", seed))
}

// writeUntilReady writes random updates, merges, deletes and tombstone
// collections to the DB until its trees are ready, plus a few more after.
// A quarter of the writes go to keys present at Open (0..n-1), a quarter
// to new ones, and half to the keys at and just after the rebuild's
// cursor, where a write stops being the scan's to add and becomes the
// tree's.
func writeUntilReady(db *DB, rng *rand.Rand, parts []uint32, n, w int, before, after, notReady *atomic.Int64) error {
	ctx := context.Background()
	extra := 0
	for i := 0; ; i++ {
		var err error
		switch rng.IntN(4) {
		case 0:
			k := rng.IntN(n)
			// writeKeys put key k in parts[k%4]: the last partition
			// is the new one.
			err = writeRandom(db, rng, parts[k%(len(parts)-1)], fmt.Appendf(nil, "key-%06d", k), w, i)
		case 1:
			err = writeRandom(db, rng, parts[rng.IntN(len(parts))], fmt.Appendf(nil, "new-%d-%d", w, rng.IntN(2000)), w, i)
		default:
			p, key, nerr := nearCursor(db, rng.IntN(2) == 0)
			if nerr != nil {
				return nerr
			}
			if key == nil {
				continue // no cursor yet, or nothing after it
			}
			// No read first: the less time between reading the cursor
			// and writing, the likelier the rebuild has not moved on.
			if rng.IntN(2) == 0 {
				_, _, err = db.Merge(ctx, p, key, remoteSet(w, i), false)
			} else {
				_, _, err = db.Update(ctx, p, key, vclock.Clock{}, "n1", val(fmt.Sprint("c", w, "-", i)), false)
			}
		}
		if err != nil {
			return fmt.Errorf("writer %d, write %d: %v", w, i, err)
		}
		// Ready only ever turns true, so a write acknowledged while it
		// still reads false was committed during the rebuild.
		if db.TreeProgress().Ready {
			after.Add(1)
			extra++
		} else {
			before.Add(1)
		}
		if _, err := db.TreeRoot(parts[0]); errors.Is(err, ErrTreesNotReady) {
			notReady.Add(1)
		} else if err != nil {
			return fmt.Errorf("TreeRoot during the rebuild: %v", err)
		}
		if extra >= 50 {
			return nil
		}
	}
}

// TestTreesRebuildCursorBoundary drives the rebuild one step at a time and
// writes, between steps, to the key the rebuild added last and to the one
// after it: the two sides of the boundary between writes the tree must
// record and writes the scan will pick up. Concurrent writers (as in
// TestTreesWritesDuringRebuild) rarely land exactly there.
func TestTreesRebuildCursorBoundary(t *testing.T) {
	const n, seed = 3 * rebuildChunk / 2 * 4, 7 // six steps over four partitions
	parts := []uint32{1, 2, 3, 4}
	db := openMem(t, Options{Logger: quiet})
	waitReady(t, db)
	writeKeys(t, db, parts, n)
	// Stop the rebuild goroutine (done already: the store was empty) and
	// forget the trees, as if the store had just been opened with this data.
	db.trees.stop()
	<-db.trees.done
	db.trees.mu.Lock()
	db.trees.byPart = make(map[uint32]*antientropy.Tree)
	db.trees.cursor, db.trees.ready, db.trees.scanned = nil, false, 0
	db.trees.mu.Unlock()

	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	for step := 0; ; step++ {
		done, err := db.rebuildStep(ctx)
		if err != nil {
			t.Fatalf("seed %d: rebuild step %d: %v", seed, step, err)
		}
		if done {
			// Keys collected behind the cursor were counted, those
			// collected ahead of it not, so Keys is not n here.
			if p := db.TreeProgress(); !p.Ready {
				t.Fatalf("seed %d: rebuild done after step %d but progress is %+v", seed, step, p)
			}
			break
		}
		if p := db.TreeProgress(); p.Ready || p.Keys != uint64((step+1)*rebuildChunk) {
			t.Fatalf("seed %d: after step %d progress is %+v, want not ready with %d keys", seed, step, p, (step+1)*rebuildChunk)
		}
		if _, err := db.TreeRoot(parts[0]); !errors.Is(err, ErrTreesNotReady) {
			t.Fatalf("seed %d: TreeRoot during the rebuild err = %v, want ErrTreesNotReady", seed, err)
		}
		for _, next := range []bool{false, true} {
			p, key, err := nearCursor(db, next)
			if err != nil || key == nil {
				t.Fatalf("seed %d: step %d: no key near the cursor (next=%v): %v", seed, step, next, err)
			}
			// Several writes, so the key is also written again after a
			// write the tree recorded; then, sometimes, deleted and
			// collected.
			for i := range 3 {
				if err := writeRandom(db, rng, p, key, 0, step*10+i); err != nil {
					t.Fatalf("seed %d: step %d: %v", seed, step, err)
				}
			}
			if rng.IntN(2) == 0 {
				s, _, err := db.Update(ctx, p, key, vclock.Clock{}, "n1", vclock.Value{Tombstone: true}, false)
				if err == nil {
					s, err = db.Get(ctx, p, key)
				}
				if err == nil && s.Deleted() {
					_, err = db.DeleteTombstone(ctx, p, key, s)
				}
				if err != nil {
					t.Fatalf("seed %d: step %d: deleting %q: %v", seed, step, key, err)
				}
			}
		}
	}
	checkTrees(t, db, parts, fmt.Sprintf("seed %d after a rebuild with writes at its cursor", seed))
}

// remoteSet is a write coordinated elsewhere, with a dot of its own: node
// "r<w>" never mints the same counter twice.
func remoteSet(w, i int) vclock.Set {
	s, err := vclock.Set{}.UpdateFrom(vclock.Clock{}, fmt.Sprint("r", w), val(fmt.Sprint("m", i)), uint64(i))
	if err != nil {
		panic(err) // a small floor: far from every limit
	}
	return s
}

// writeRandom reads key and applies a random update, merge, delete or
// tombstone collection to it.
func writeRandom(db *DB, rng *rand.Rand, p uint32, key []byte, w, i int) error {
	ctx := context.Background()
	cur, err := db.Get(ctx, p, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("Get(%d, %s): %v", p, key, err)
	}
	switch rng.IntN(4) {
	case 0:
		_, _, err = db.Update(ctx, p, key, cur.Context(), "n1", val(fmt.Sprint("w", w, "-", i)), false)
	case 1:
		_, _, err = db.Merge(ctx, p, key, remoteSet(w, i), false)
	case 2:
		_, _, err = db.Update(ctx, p, key, cur.Context(), "n1", vclock.Value{Tombstone: true}, false)
	case 3:
		_, err = db.DeleteTombstone(ctx, p, key, cur)
	}
	if err != nil {
		return fmt.Errorf("write to (%d, %s): %v", p, key, err)
	}
	return nil
}

// nearCursor returns the key the rebuild added last (its cursor) or, if
// next is set, the key after it in its partition; a nil key if there is
// none. It reads the cursor under the trees' lock; the rebuild may move
// on before the caller writes, which then writes behind the cursor.
func nearCursor(db *DB, next bool) (uint32, []byte, error) {
	db.trees.mu.RLock()
	c := bytes.Clone(db.trees.cursor)
	db.trees.mu.RUnlock()
	if c == nil {
		return 0, nil, nil
	}
	p, key, err := decodeDataKey(c)
	if err != nil || !next {
		return p, key, err
	}
	errStop := errors.New("stop")
	var after []byte
	err = db.ScanPartitionAfter(context.Background(), p, key, func(k []byte, _ vclock.Set) error {
		after = k
		return errStop
	})
	if err != nil && err != errStop {
		return 0, nil, fmt.Errorf("ScanPartitionAfter(%d, %q): %v", p, key, err)
	}
	return p, after, nil
}

// TestScanSegments checks that ScanSegments returns exactly the keys of
// the segments asked for, with their sets, and none of the neighbouring
// partitions'.
func TestScanSegments(t *testing.T) {
	shapes := []struct {
		name string
		cfg  antientropy.Config
	}{
		{"default", antientropy.Config{}},
		{"small", antientropy.Config{Segments: 64, Branches: 8}},
		{"one-segment", antientropy.Config{Segments: 1, Branches: 1}},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) { testScanSegments(t, shape.cfg) })
	}
}

func testScanSegments(t *testing.T, cfg antientropy.Config) {
	const p, n = 5, 2000
	db := openMem(t, Options{Trees: cfg})
	db.scanChunk = 7 // segments span several chunks
	tr, err := antientropy.New(db.TreeConfig())
	if err != nil {
		t.Fatal(err)
	}
	last := tr.Config().Segments - 1
	keys := make([]string, 0, n+2)
	for i := range n {
		keys = append(keys, fmt.Sprintf("key-%05d", i))
	}
	// Make sure the first and last segments hold keys, however the hash
	// falls.
	for j, seg := range []int{0, last} {
		for i := 0; ; i++ {
			k := fmt.Sprintf("edge%d-%d", j, i)
			if tr.Segment([]byte(k)) == seg {
				keys = append(keys, k)
				break
			}
		}
	}
	want := make(map[string]vclock.Set)
	for i, k := range keys {
		s := mustUpdate(t, db, p, k, vclock.Clock{}, val("v-"+k))
		if i%5 == 0 {
			s = mustUpdate(t, db, p, k, vclock.Clock{}, val("w-"+k)) // two siblings
		}
		want[k] = s
		// The neighbouring partitions hold keys in every segment too; a
		// scan of the first or last segment must not run into them.
		mustUpdate(t, db, p-1, k, vclock.Clock{}, val("x"))
		mustUpdate(t, db, p+1, k, vclock.Clock{}, val("x"))
	}

	segsOf := func(ks []string) []int {
		var out []int
		for _, k := range ks {
			out = append(out, tr.Segment([]byte(k)))
		}
		return out
	}
	all := make([]int, tr.Config().Segments)
	for i := range all {
		all[i] = i
	}
	tests := []struct {
		name string
		segs []int
	}{
		{"first", []int{0}},
		{"last", []int{last}},
		{"first and last", []int{last, 0}},
		{"of some keys", segsOf(keys[100:104])},
		{"none", nil},
		{"all", all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.segs = uniq(tt.segs) // with one segment, first is last
			in := make(map[int]bool)
			for _, s := range tt.segs {
				in[s] = true
			}
			var wantKeys []string
			for _, k := range keys {
				if in[tr.Segment([]byte(k))] {
					wantKeys = append(wantKeys, k)
				}
			}
			var got []string
			err := db.ScanSegments(context.Background(), p, tt.segs, func(k []byte, s vclock.Set) error {
				got = append(got, string(k))
				if w, ok := want[string(k)]; !ok || !s.Equal(w) {
					t.Errorf("key %q: set %v, want %v (written: %v)", k, s, w, ok)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("ScanSegments(%v): %v", tt.segs, err)
			}
			slices.Sort(got)
			slices.Sort(wantKeys)
			if !slices.Equal(got, wantKeys) {
				t.Fatalf("ScanSegments(%s: %d segments) returned %d keys, want %d; extra %v, missing %v",
					tt.name, len(tt.segs), len(got), len(wantKeys), firstN(minus(got, wantKeys), 10), firstN(minus(wantKeys, got), 10))
			}
			if len(tt.segs) > 0 && len(wantKeys) == 0 {
				t.Fatalf("segments of case %s hold no keys; the case checks nothing", tt.name)
			}
		})
	}

	for _, seg := range []int{-1, last + 1, 1 << 20} {
		err := db.ScanSegments(context.Background(), p, []int{0, seg}, func([]byte, vclock.Set) error { return nil })
		if !errors.Is(err, ErrBadSegment) {
			t.Errorf("ScanSegments(segment %d) err = %v, want ErrBadSegment", seg, err)
		}
	}
	err = db.ScanSegments(context.Background(), MaxPartitions, []int{0}, func([]byte, vclock.Set) error { return nil })
	if !errors.Is(err, ErrBadPartition) {
		t.Errorf("ScanSegments(bad partition) err = %v, want ErrBadPartition", err)
	}
}

// minus returns the elements of a, a sorted slice, that b lacks, with
// repeats in a beyond b's count kept.
func minus(a, b []string) []string {
	count := make(map[string]int)
	for _, x := range b {
		count[x]++
	}
	var out []string
	for _, x := range a {
		if count[x] > 0 {
			count[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

// firstN returns at most n elements of s, to keep failure messages short.
func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// uniq returns segs without repeats, in first-seen order.
func uniq(segs []int) []int {
	var out []int
	for _, s := range segs {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestNoTrees checks that with Options.NoTrees the Tree methods refuse
// with ErrTreesNotReady while reads and writes work as usual.
func TestNoTrees(t *testing.T) {
	db := openMem(t, Options{NoTrees: true})
	ctx := context.Background()
	s := mustUpdate(t, db, 1, "k", vclock.Clock{}, val("a"))
	if got, err := db.Get(ctx, 1, []byte("k")); err != nil || !got.Equal(s) {
		t.Fatalf("Get = %v, %v; want %v", got, err, s)
	}
	if _, _, err := db.Merge(ctx, 1, []byte("k"), vclock.NewSet("n2", val("b")), false); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if p := db.TreeProgress(); p.Enabled || p.Ready {
		t.Errorf("TreeProgress = %+v, want neither Enabled nor Ready", p)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"TreeRoot", func() error { _, err := db.TreeRoot(1); return err }},
		{"TreeBranches", func() error { _, err := db.TreeBranches(1); return err }},
		{"TreeSegments", func() error { _, err := db.TreeSegments(1, []int{0}); return err }},
		{"TreeSnapshot", func() error { _, err := db.TreeSnapshot(1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrTreesNotReady) {
				t.Fatalf("err = %v, want one wrapping ErrTreesNotReady", err)
			}
		})
	}
}

// TestTreeSegmentsBadBranch checks the branch and partition validation of
// the Tree methods.
func TestTreeSegmentsBadBranch(t *testing.T) {
	db := openMem(t, Options{Trees: antientropy.Config{Segments: 64, Branches: 8}})
	waitReady(t, db)
	mustUpdate(t, db, 1, "k", vclock.Clock{}, val("a"))
	tests := []struct {
		name     string
		branches []int
		want     error
		wantLen  int
	}{
		{"negative", []int{-1}, ErrBadSegment, 0},
		{"one past the end", []int{8}, ErrBadSegment, 0},
		{"far past the end", []int{1 << 30}, ErrBadSegment, 0},
		{"valid then bad", []int{0, 8}, ErrBadSegment, 0},
		{"bad then valid", []int{8, 0}, ErrBadSegment, 0},
		{"first and last", []int{0, 7}, nil, 16},
		{"repeated", []int{3, 3, 3}, nil, 24},
		{"none", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.TreeSegments(1, tt.branches)
			if !errors.Is(err, tt.want) {
				t.Fatalf("TreeSegments(%v) err = %v, want %v", tt.branches, err, tt.want)
			}
			if len(got) != tt.wantLen {
				t.Fatalf("TreeSegments(%v) returned %d hashes, want %d", tt.branches, len(got), tt.wantLen)
			}
		})
	}
	if _, err := db.TreeRoot(MaxPartitions); !errors.Is(err, ErrBadPartition) {
		t.Errorf("TreeRoot(MaxPartitions) err = %v, want ErrBadPartition", err)
	}
}

// BenchmarkUpdateTrees measures what tree maintenance costs the write
// path: non-durable updates of existing keys on an in-memory DB, with
// trees on and off.
//
//	go test -run xxx -bench UpdateTrees ./storage/
func BenchmarkUpdateTrees(b *testing.B) {
	const keys = 10000
	for _, noTrees := range []bool{false, true} {
		name := "trees=on"
		if noTrees {
			name = "trees=off"
		}
		b.Run(name, func(b *testing.B) {
			db := openMem(b, Options{NoTrees: noTrees})
			if !noTrees {
				waitReady(b, db)
			}
			ctx := context.Background()
			names := make([][]byte, keys)
			ctxs := make([]vclock.Clock, keys)
			for i := range names {
				names[i] = fmt.Appendf(nil, "key-%06d", i)
			}
			value := vclock.Value{Data: make([]byte, 100)}
			i := 0
			for b.Loop() {
				k := i % keys
				s, _, err := db.Update(ctx, uint32(k%16), names[k], ctxs[k], "n1", value, false)
				if err != nil {
					b.Fatal(err)
				}
				ctxs[k] = s.Context() // keep one sibling per key
				i++
			}
		})
	}
}
