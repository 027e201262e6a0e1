package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// writeDurable writes n durable keys of 1 KiB values.
func writeDurable(t *testing.T, db *DB, prefix string, n int) {
	t.Helper()
	v := vclock.Value{Data: make([]byte, 1<<10)}
	for i := range n {
		if _, _, err := db.Update(context.Background(), 2, fmt.Appendf(nil, "%s%d", prefix, i), vclock.Clock{}, "n1", v, true); err != nil {
			t.Fatal(err)
		}
	}
}

func checkDurable(t *testing.T, db *DB, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := db.Get(context.Background(), 2, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			t.Fatalf("%s%d: %v", prefix, i, err)
		}
	}
}

// A checkpoint on the injected clock retires the log on an on-disk store,
// and the data survives reopening (badger ignores the log's directory).
func TestCheckpointRetiresSegments(t *testing.T) {
	dir := t.TempDir()
	fake := clock.NewFake(time.Unix(1e9, 0))
	opts := Options{Logger: quiet, Clock: fake, logSegmentSize: 64 << 10}
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeDurable(t, db, "a", 300) // ~300 KiB of records: several segments
	if st := db.Stats(); st.LogSegments < 3 {
		t.Fatalf("Stats = %+v, want several segments before the checkpoint", st)
	}
	if err := fake.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	fake.Advance(defaultCheckpointInterval)
	chorustest.Eventually(t, "a checkpoint", func() bool { return db.Stats().Checkpoints >= 1 })
	if st := db.Stats(); st.LogSegments != 1 {
		t.Fatalf("Stats after a checkpoint = %+v, want the current segment only", st)
	}
	writeDurable(t, db, "b", 10)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(filepath.Join(dir, "commitlog")); len(names) > 2 {
		t.Errorf("%d segments after Close's checkpoint, want at most 2", len(names))
	}
	db, err = Open(dir, opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	checkDurable(t, db, "a", 300)
	checkDurable(t, db, "b", 10)
}

// A checkpoint that finds a memtable WAL besides the active one keeps the
// log, and the next one retires it.
func TestCheckpointSkippedWhileMemtableUnflushed(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet, CheckpointInterval: time.Hour, logSegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeDurable(t, db, "a", 100)
	// A rotated memtable not yet flushed, as badger would leave it.
	extra := filepath.Join(dir, "99999.mem")
	if err := os.WriteFile(extra, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := db.runCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.CheckpointsSkipped != 1 || st.Checkpoints != 0 || st.LogSegments < 2 {
		t.Fatalf("Stats = %+v, want one skipped checkpoint and the log kept", st)
	}
	if err := os.Remove(extra); err != nil {
		t.Fatal(err)
	}
	if err := db.runCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Checkpoints != 1 || st.LogSegments != 1 {
		t.Fatalf("Stats = %+v, want the log retired", st)
	}
}

// Logging CheckpointBytes starts a checkpoint without waiting for the
// interval.
func TestCheckpointOnLogSize(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet, CheckpointInterval: time.Hour, CheckpointBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeDurable(t, db, "a", 100)
	chorustest.Eventually(t, "a checkpoint", func() bool { return db.Stats().Checkpoints >= 1 })
}

// Non-durable writes do not leave the log unsynced without bound: past
// bytesPerSync the syncer syncs it, so a checkpoint's rotation never has
// a whole segment to sync on the committer.
func TestNonDurableWritesSyncEveryBytesPerSync(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v := vclock.Value{Data: make([]byte, 16<<10)}
	const n = 3 * bytesPerSync / (16 << 10)
	before := db.Stats().Syncs // Open's own durable records
	for i := range n {
		if _, _, err := db.Update(context.Background(), 2, fmt.Appendf(nil, "k%d", i), vclock.Clock{}, "n1", v, false); err != nil {
			t.Fatal(err)
		}
	}
	chorustest.Eventually(t, "syncs of the non-durable writes", func() bool { return db.Stats().Syncs-before >= 2 })
	if s := db.Stats().Syncs - before; s > n/4 {
		t.Fatalf("Syncs = %d for %d non-durable writes of 16 KiB, want about one per MiB", s, n)
	}
}
