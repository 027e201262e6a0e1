package storage

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// gcOptions keeps values of 256 bytes and more in 1 MiB value log files,
// so that a few MiB of overwrites leave reclaimable value log files, on a
// fake clock that only the test moves.
func gcOptions(clk *clock.Fake) Options {
	return Options{Logger: quiet, Clock: clk, ValueThreshold: 256, ValueLogFileSize: 1 << 20,
		MemTableSize: minMemTableSize}
}

// overwrite writes every key rounds times with a value of size bytes that
// names the round, superseding the previous one. Keys are padded to pad
// bytes, so that fewer writes fill a memtable.
func overwrite(t *testing.T, db *DB, keys, rounds, size, pad int) {
	t.Helper()
	for r := range rounds {
		overwriteRound(t, db, keys, r, size, pad)
	}
}

// overwriteRound writes every key once with a value of size bytes that
// names round r.
func overwriteRound(t *testing.T, db *DB, keys, r, size, pad int) {
	t.Helper()
	ctx := context.Background()
	for k := range keys {
		key := gcKey(k, pad)
		s, err := db.Get(ctx, 0, key)
		if err != nil && err != ErrNotFound {
			t.Fatal(err)
		}
		v := bytes.Repeat([]byte{byte('a' + r%26)}, size)
		if _, _, err := db.Update(ctx, 0, key, s.Context(), "n1", vclock.Value{Data: v}, false); err != nil {
			t.Fatal(err)
		}
	}
}

// overwriteUntilSpread writes every key rounds times, then more rounds
// while the LSM is on one level (up to maxRounds in all), and returns the
// number of rounds written. Whether the last flushes are still on level 0
// when the writes end depends on how far badger's compactors got, which
// depends on the machine's load: on an idle-enough box they move every
// table of a small, young tree straight to the bottom level.
func overwriteUntilSpread(t *testing.T, db *DB, keys, rounds, maxRounds, size, pad int) int {
	t.Helper()
	overwrite(t, db, keys, rounds, size, pad)
	for ; !db.lsmSpread() && rounds < maxRounds; rounds++ {
		overwriteRound(t, db, keys, rounds, size, pad)
	}
	if !db.lsmSpread() {
		t.Fatalf("the LSM is on one level after %d rounds of %d MiB; the test needs two: %v",
			rounds, keys*size>>20, db.bdb.Levels())
	}
	return rounds
}

func gcKey(k, pad int) []byte {
	key := fmt.Appendf(nil, "key-%05d-", k)
	return append(key, bytes.Repeat([]byte{'x'}, max(0, pad-len(key)))...)
}

// tickGC advances the clock by one GCInterval and waits for the pass it
// starts to finish, stepping the clock past its pauses between rewrites.
func tickGC(t *testing.T, db *DB, clk *clock.Fake) {
	t.Helper()
	want := db.Stats().GCPasses + 1
	clk.Advance(db.opts.GCInterval)
	chorustest.Eventually(t, fmt.Sprintf("gc pass %d", want), func() bool {
		if db.Stats().GCPasses >= want {
			return true
		}
		// Beside the checkpointer's and the GC's tickers, a third waiter
		// is the pass pausing between two rewrites.
		if clk.Waiters() > 2 {
			clk.Advance(gcStepPause)
		}
		return false
	})
}

// tableBytes is the size of the LSM's tables.
func tableBytes(db *DB) (n int64) {
	for _, l := range db.bdb.Levels() {
		n += l.Size
	}
	return n
}

// TestGCReclaimsValueLog overwrites values kept in the value log until
// memtable flushes and compactions have counted its garbage, then checks
// that GC passes rewrite files and give space back, and that every key
// still reads its last value.
func TestGCReclaimsValueLog(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	db, err := Open(t.TempDir(), gcOptions(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Keys of 800 bytes, so that 24k writes fill the 8 MiB memtable
	// several times over.
	const keys, rounds, size, pad = 2000, 12, 300, 800
	overwrite(t, db, keys, rounds, size, pad)
	before := db.Stats()
	// The first tick sees writes since Open; the second finds the store
	// idle and flattens the LSM, counting more of the value log's
	// garbage; every tick rewrites the files that are half garbage.
	for range 4 {
		tickGC(t, db, clk)
	}
	after := db.Stats()
	t.Logf("before: lsm %d vlog %d; after: lsm %d vlog %d; rewrites %d flattens %d reclaimed %d",
		before.DiskLSMBytes, before.DiskVlogBytes, after.DiskLSMBytes, after.DiskVlogBytes,
		after.GCRewrites, after.GCFlattens, after.GCReclaimedBytes)
	if after.GCRewrites == 0 || after.GCReclaimedBytes <= 0 {
		t.Errorf("GCRewrites = %d, GCReclaimedBytes = %d: nothing reclaimed", after.GCRewrites, after.GCReclaimedBytes)
	}
	if after.DiskVlogBytes >= before.DiskVlogBytes/2 {
		t.Errorf("value log %d bytes after GC, %d before: not halved", after.DiskVlogBytes, before.DiskVlogBytes)
	}
	checkLast(t, db, keys, rounds, size, pad)
}

// TestGCFlattensWhenIdle overwrites values kept in the LSM tree (the
// default threshold), more than the base level holds so that the tree has
// two levels, and checks that the first idle tick flattens the tree to
// about its live size, once.
func TestGCFlattensWhenIdle(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	opts := gcOptions(clk)
	opts.ValueThreshold = 0 // the default: every value in the LSM
	db, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const keys, size, pad = 12000, 1024, 0
	rounds := overwriteUntilSpread(t, db, keys, 3, 8, size, pad)
	tickGC(t, db, clk) // writes since Open: not idle
	if n := db.Stats().GCFlattens; n != 0 {
		t.Fatalf("GCFlattens = %d after a tick that followed writes, want 0", n)
	}
	if !db.lsmSpread() {
		// The compactors finished moving level 0 down after the
		// writes; a flatten would have nothing left to do.
		t.Skipf("the LSM went to one level between the writes and the first tick: %v", db.bdb.Levels())
	}
	before := tableBytes(db)
	tickGC(t, db, clk)
	after := tableBytes(db)
	live := int64(keys * size)
	t.Logf("tables %d bytes before, %d after, live values %d; reclaimed %d", before, after, live, db.Stats().GCReclaimedBytes)
	if n := db.Stats().GCFlattens; n != 1 {
		t.Fatalf("GCFlattens = %d after an idle tick, want 1", n)
	}
	if after >= before || after > live*3/2 {
		t.Errorf("tables %d bytes after the flatten, %d before, live values %d", after, before, live)
	}
	tickGC(t, db, clk)
	if n := db.Stats().GCFlattens; n != 1 {
		t.Errorf("GCFlattens = %d after an idle tick with nothing written since, want 1", n)
	}
	checkLast(t, db, keys, rounds, size, pad)
}

// TestGCDoesNotFlattenUnderReads: a store that takes reads but no writes
// is not idle (a flatten would stall the reads for up to a second); the
// first tick without either flattens it.
func TestGCDoesNotFlattenUnderReads(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	opts := gcOptions(clk)
	opts.ValueThreshold = 0
	db, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const keys, rounds, size, pad = 12000, 3, 1024, 0
	overwrite(t, db, keys, rounds, size, pad)
	tickGC(t, db, clk) // writes since Open: not idle
	for range 2 {
		if _, err := db.Get(context.Background(), 0, gcKey(7, pad)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Digest(context.Background(), 0, gcKey(8, pad)); err != nil {
			t.Fatal(err)
		}
		tickGC(t, db, clk)
		if n := db.Stats().GCFlattens; n != 0 {
			t.Fatalf("GCFlattens = %d after a tick with reads, want 0", n)
		}
	}
	tickGC(t, db, clk)
	if n := db.Stats().GCFlattens; n != 1 {
		t.Fatalf("GCFlattens = %d after a tick with neither reads nor writes, want 1", n)
	}
}

// checkLast checks that every key reads one value, the last round's.
func checkLast(t *testing.T, db *DB, keys, rounds, size, pad int) {
	t.Helper()
	for k := range keys {
		s, err := db.Get(context.Background(), 0, gcKey(k, pad))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Values(); len(got) != 1 || len(got[0].Data) != size || got[0].Data[0] != byte('a'+(rounds-1)%26) {
			t.Fatalf("key %d after GC: %d values, want one of round %d", k, len(got), rounds-1)
		}
	}
}

// TestGCWaitsForThrottle checks that a pass does nothing while GCThrottle
// asks it to wait, goes on once it stops asking, and that Close ends a
// pass that is waiting.
func TestGCWaitsForThrottle(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	var busy atomic.Bool
	busy.Store(true)
	opts := gcOptions(clk)
	opts.GCThrottle = func() time.Duration {
		if busy.Load() {
			return 5 * time.Second
		}
		return 0
	}
	db, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, db, 200, 2, 512, 0)
	clk.Advance(db.opts.GCInterval)
	chorustest.Eventually(t, "a backoff", func() bool { return db.Stats().GCBackoffs >= 1 })
	clk.Advance(5 * time.Second)
	chorustest.Eventually(t, "a second backoff", func() bool { return db.Stats().GCBackoffs >= 2 })
	if st := db.Stats(); st.GCBackoffTime != time.Duration(st.GCBackoffs)*5*time.Second {
		t.Errorf("GCBackoffTime %v for %d backoffs of 5s", st.GCBackoffTime, st.GCBackoffs)
	}
	// Still throttled: Close must end the waiting pass, not wait for it.
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return while a GC pass waited for the throttle")
	}
}

func TestGCOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{GCDiscardRatio: 1},
		{GCDiscardRatio: -0.1},
		{ValueLogFileSize: 1 << 10},
		{ValueLogFileSize: 2 << 30},
		{ValueThreshold: 2 << 20},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	if err := (Options{GCInterval: -1}).Validate(); err != nil {
		t.Errorf("GCInterval -1 (off): %v", err)
	}
}

// TestGCIdleNeedsAWholeInterval: idleness is judged over at least one
// interval; a check right after another (a queued tick after a pass that
// waited) is not idle, however little came in the moment between.
func TestGCIdleNeedsAWholeInterval(t *testing.T) {
	var c collector
	t0 := time.Unix(1e9, 0)
	const iv = 15 * time.Second
	steps := []struct {
		at            time.Duration
		writes, reads uint64
		want          bool
	}{
		{0, 10, 5, false},                     // first check: counts differ from zero
		{iv, 10, 9, false},                    // reads came
		{iv + time.Millisecond, 10, 9, false}, // too soon to tell, nothing recorded
		{2 * iv, 10, 9, true},                 // a whole interval without either
		{3 * iv, 11, 9, false},                // a write came
		{4 * iv, 11, 9, true},
	}
	for i, st := range steps {
		if got := c.idle(t0.Add(st.at), iv, st.writes, st.reads); got != st.want {
			t.Fatalf("step %d (at %v, writes %d, reads %d): idle %v, want %v", i, st.at, st.writes, st.reads, got, st.want)
		}
	}
}
