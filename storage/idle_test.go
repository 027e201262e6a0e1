package storage

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

// TestOnTreeChange checks that the hook runs after a write that changed a
// stored set, not after a merge that changed nothing, and not once removed.
func TestOnTreeChange(t *testing.T) {
	db := openMem(t, Options{})
	waitReady(t, db)
	var calls atomic.Int64
	db.OnTreeChange(func() { calls.Add(1) })

	s := mustUpdate(t, db, 3, "k", vclock.Clock{}, val("v"))
	if got := calls.Load(); got != 1 {
		t.Fatalf("after an update: %d calls, want 1", got)
	}
	// Merging what is stored changes nothing: no tree changes, no call.
	if _, changed, err := db.Merge(context.Background(), 3, []byte("k"), s, false); err != nil || changed {
		t.Fatalf("Merge of the stored set = changed %v, %v; want unchanged", changed, err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("after a merge that changed nothing: %d calls, want still 1", got)
	}
	// Meta writes are not data: no tree changes.
	if err := db.SetMeta(context.Background(), "m", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("after a meta write: %d calls, want still 1", got)
	}
	db.OnTreeChange(nil)
	mustUpdate(t, db, 3, "k2", vclock.Clock{}, val("v"))
	if got := calls.Load(); got != 1 {
		t.Errorf("after the hook was removed: %d calls, want still 1", got)
	}
}

// TestTombstoneWrites checks that writes leaving a key deleted are counted,
// by update and by merge, and that others are not.
func TestTombstoneWrites(t *testing.T) {
	db, other := openMem(t, Options{}), openMem(t, Options{})
	live := mustUpdate(t, db, 0, "k", vclock.Clock{}, val("v"))
	if got := db.TombstoneWrites(); got != 0 {
		t.Fatalf("after a live write: %d tombstone writes, want 0", got)
	}
	del := mustUpdate(t, db, 0, "k", live.Context(), vclock.Value{Tombstone: true})
	if !del.Deleted() {
		t.Fatalf("delete with the read's context left %v, want a deleted set", del)
	}
	if got := db.TombstoneWrites(); got != 1 {
		t.Errorf("after a delete: %d tombstone writes, want 1", got)
	}
	if _, _, err := other.Merge(context.Background(), 0, []byte("k"), del, false); err != nil {
		t.Fatal(err)
	}
	if got, st := other.TombstoneWrites(), other.Stats(); got != 1 || st.TombstoneWrites != 1 {
		t.Errorf("after merging a deleted set: %d tombstone writes (Stats %d), want 1", got, st.TombstoneWrites)
	}
}
