package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/vclock"
)

const indexPartitions = 4

// randomOps runs n random writes on db from several goroutines, over a few
// keys per partition: coordinator updates and deletes (with and without a
// read context, so siblings mix live values and tombstones), merges of
// sets from another replica, tombstone removals and compare-and-deletes.
func randomOps(t *testing.T, db, other *DB, seed uint64, n int) {
	t.Helper()
	ctx := context.Background()
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for range n / workers {
				p := uint32(rng.IntN(indexPartitions))
				key := []byte(fmt.Sprintf("k%d", rng.IntN(12)))
				if err := randomOp(ctx, db, other, rng, p, key); err != nil {
					errs <- fmt.Errorf("seed %d: %w", seed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func randomOp(ctx context.Context, db, other *DB, rng *rand.Rand, p uint32, key []byte) error {
	v := vclock.Value{Data: []byte("v"), Timestamp: 1}
	if rng.IntN(2) == 0 {
		v = vclock.Value{Tombstone: true, Timestamp: 1}
	}
	switch rng.IntN(5) {
	case 0, 1: // a coordinator write, superseding what it read half the time
		var cc vclock.Clock
		if rng.IntN(2) == 0 {
			s, err := db.Get(ctx, p, key)
			if err != nil && err != ErrNotFound {
				return err
			}
			cc = s.Context()
		}
		_, _, err := db.Update(ctx, p, key, cc, "n1", v, false)
		return err
	case 2: // a replica's set arrives
		s, _, err := other.Update(ctx, p, key, vclock.Clock{}, "n2", v, false)
		if err != nil {
			return err
		}
		_, _, err = db.Merge(ctx, p, key, s, false)
		return err
	case 3: // tombstone collection
		s, err := db.Get(ctx, p, key)
		if err == ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = db.DeleteTombstone(ctx, p, key, s)
		return err
	default: // a handed-off copy dropped
		s, err := db.Get(ctx, p, key)
		if err == ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = db.DeleteIfEqual(ctx, p, key, s)
		return err
	}
}

// checkIndex compares ScanTombstones with a full scan of every partition,
// and the key counts with what the scan saw.
func checkIndex(t *testing.T, db *DB, seed uint64) {
	t.Helper()
	ctx := context.Background()
	var keys, deleted int64
	for p := range uint32(indexPartitions) {
		var want, got []string
		err := db.ScanPartition(ctx, p, func(k []byte, s vclock.Set) error {
			keys++
			if s.Deleted() {
				want = append(want, string(k))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d: ScanPartition(%d): %v", seed, p, err)
		}
		err = db.ScanTombstones(ctx, p, func(k []byte, s vclock.Set) error {
			if !s.Deleted() {
				t.Errorf("seed %d: ScanTombstones(%d) gave %q, not deleted", seed, p, k)
			}
			got = append(got, string(k))
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d: ScanTombstones(%d): %v", seed, p, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("seed %d: partition %d: index has %q, a full scan finds %q deleted", seed, p, got, want)
		}
		deleted += int64(len(want))
	}
	st := db.Stats()
	if st.Keys != keys || st.TombstoneKeys != deleted {
		t.Errorf("seed %d: Stats keys %d, tombstone keys %d; a full scan finds %d and %d",
			seed, st.Keys, st.TombstoneKeys, keys, deleted)
	}
	if st.TombstoneIndexStray != 0 {
		t.Errorf("seed %d: %d stray index entries", seed, st.TombstoneIndexStray)
	}
}

func TestTombIndexMatchesFullScan(t *testing.T) {
	seed := chorustest.Seed(t)
	db := openMem(t, Options{})
	other := openMem(t, Options{})
	for round := range 5 {
		randomOps(t, db, other, seed+uint64(round), 800)
		checkIndex(t, db, seed)
	}
}

// TestTombIndexAfterCrash replays the commit log into an empty engine (an
// InMemory store keeps nothing across a crash) and checks that the index
// follows the replayed data.
func TestTombIndexAfterCrash(t *testing.T) {
	seed := chorustest.Seed(t)
	mem := vfs.NewCrashableMem()
	db := openMemLog(t, mem)
	other := openMem(t, Options{})
	randomOps(t, db, other, seed, 1500)
	checkIndex(t, db, seed)
	snap := mem.Crash()
	_ = db.Close()
	re := openMemLog(t, snap)
	defer re.Close()
	// What survived the crash is a prefix of the history; whatever it is,
	// the index must match it.
	checkIndex(t, re, seed)
	randomOps(t, re, other, seed+1, 400)
	checkIndex(t, re, seed)
}

// TestTombIndexSurvivesReopen writes on disk, closes, reopens and checks
// the index and counts, and that more writes keep them right.
func TestTombIndexSurvivesReopen(t *testing.T) {
	seed := chorustest.Seed(t)
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	other := openMem(t, Options{})
	randomOps(t, db, other, seed, 800)
	checkIndex(t, db, seed)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkIndex(t, db, seed)
	randomOps(t, db, other, seed+1, 400)
	checkIndex(t, db, seed)
}

// TestTombIndexBuiltForOldStore opens a store that has deleted keys but no
// index (as one written before the index existed) and checks that Open
// builds it.
func TestTombIndexBuiltForOldStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tomb := vclock.Value{Tombstone: true, Timestamp: 1}
	for i := range 20 {
		v := val("x")
		if i%3 == 0 {
			v = tomb
		}
		if _, _, err := db.Update(ctx, uint32(i%indexPartitions), []byte(fmt.Sprint("k", i)), vclock.Clock{}, "n1", v, false); err != nil {
			t.Fatal(err)
		}
	}
	// Drop the index and its mark behind the store's back.
	err = db.bdb.DropPrefix([]byte{spaceTomb}, metaKey(metaTombIndex))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkIndex(t, db, 0)
	if got := db.Stats().TombstoneKeys; got != 7 {
		t.Errorf("TombstoneKeys = %d, want 7", got)
	}
}

// TestScanTombstonesSkipsStray plants an index entry for a live key and one
// for an absent key: both are passed over and counted.
func TestScanTombstonesSkipsStray(t *testing.T) {
	ctx := context.Background()
	db := openMem(t, Options{})
	mustUpdate(t, db, 1, "live", vclock.Clock{}, val("x"))
	if _, _, err := db.Update(ctx, 1, []byte("gone"), vclock.Clock{}, "n1", vclock.Value{Tombstone: true, Timestamp: 1}, false); err != nil {
		t.Fatal(err)
	}
	err := db.bdb.Update(func(txn *badger.Txn) error {
		if err := txn.Set(tombKey(dataKey(1, []byte("live"))), nil); err != nil {
			return err
		}
		return txn.Set(tombKey(dataKey(1, []byte("absent"))), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.ScanTombstones(ctx, 1, func(k []byte, _ vclock.Set) error {
		got = append(got, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"gone"}) {
		t.Errorf("ScanTombstones = %q, want [gone]", got)
	}
	if n := db.Stats().TombstoneIndexStray; n != 2 {
		t.Errorf("TombstoneIndexStray = %d, want 2", n)
	}
	if err := db.ScanTombstones(ctx, MaxPartitions, func([]byte, vclock.Set) error { return nil }); err == nil {
		t.Error("ScanTombstones of an out-of-range partition succeeded")
	}
}
