package repair

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// countingStore is a TombstoneStore over a storage.DB that counts the
// partitions scanned.
type countingStore struct {
	db    *storage.DB
	scans atomic.Int64
}

func (s *countingStore) ScanPartition(ctx context.Context, p uint32, fn func([]byte, vclock.Set) error) error {
	s.scans.Add(1)
	return s.db.ScanPartition(ctx, p, fn)
}

func (s *countingStore) DeleteTombstone(ctx context.Context, p uint32, key []byte, expect vclock.Set) (bool, error) {
	return s.db.DeleteTombstone(ctx, p, key, expect)
}

// noPeers is a TombstoneRemote for targets without peers: never called.
type noPeers struct{}

func (noPeers) Fetch(context.Context, string, uint32, [][]byte) ([]vclock.Set, error) {
	panic("noPeers: Fetch called")
}

func (noPeers) Collect(context.Context, string, uint32, [][]byte, []vclock.Set) ([]bool, error) {
	panic("noPeers: Collect called")
}

// collectorRig is a Collector over two peerless targets of one DB, with a
// settable clock (Now) and target list.
type collectorRig struct {
	store *countingStore
	c     *Collector
	now   atomic.Int64 // Unix nanoseconds

	mu      sync.Mutex
	targets []Target
}

func newCollectorRig(t *testing.T, manual bool, interval time.Duration) *collectorRig {
	r := &collectorRig{store: &countingStore{db: openDB(t, storage.Options{})},
		targets: []Target{{Partition: 0}, {Partition: 1}}}
	r.now.Store(t0.UnixNano())
	c, err := NewCollector(CollectorConfig{
		Targets: func() []Target {
			r.mu.Lock()
			defer r.mu.Unlock()
			return append([]Target(nil), r.targets...)
		},
		Grace:           time.Hour,
		Interval:        interval,
		TombstoneWrites: r.store.db.TombstoneWrites,
		Manual:          manual,
		Now:             func() time.Time { return time.Unix(0, r.now.Load()) },
		Logger:          quiet,
	}, r.store, noPeers{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	r.c = c
	return r
}

// del writes key then deletes it in partition p, stamped at the rig's now.
func (r *collectorRig) del(t *testing.T, p uint32, key string) {
	t.Helper()
	now := r.now.Load()
	live := mustUpdate(t, r.store.db, p, key, vclock.Clock{}, "a", vclock.Value{Data: []byte("v"), Timestamp: now})
	mustUpdate(t, r.store.db, p, key, live.Context(), "a", vclock.Value{Tombstone: true, Timestamp: now})
}

func mustPass(t *testing.T, c *Collector) int {
	t.Helper()
	n, err := c.Pass(context.Background())
	if err != nil {
		t.Fatalf("Pass: %v", err)
	}
	return n
}

// TestCollectorIdle checks when a background pass may be skipped: only
// after a pass that left no deleted key, while no tombstone was written
// and the targets are the same.
func TestCollectorIdle(t *testing.T) {
	r := newCollectorRig(t, true, 0)
	ctx := context.Background()
	if r.c.idle() {
		t.Fatal("idle before any pass, want a first pass")
	}
	mustUpdate(t, r.store.db, 0, "live", vclock.Clock{}, "a", val("v"))
	mustPass(t, r.c)
	if !r.c.idle() {
		t.Fatal("not idle after a pass over a store without tombstones")
	}

	// A delete: the next pass runs, and finds it too young.
	r.del(t, 1, "gone")
	if r.c.idle() {
		t.Fatal("idle after a delete, want a pass")
	}
	if n := mustPass(t, r.c); n != 0 {
		t.Fatalf("Pass collected %d keys of a fresh tombstone, want 0", n)
	}
	if r.c.idle() {
		t.Fatal("idle after a pass that left a tombstone (too young), want another pass")
	}
	// Past the grace period it is collected, and nothing is left.
	r.now.Add(int64(2 * time.Hour))
	if n := mustPass(t, r.c); n != 1 {
		t.Fatalf("Pass after the grace period collected %d keys, want 1", n)
	}
	if !r.c.idle() {
		t.Fatal("not idle after the only tombstone was collected")
	}

	// A target that appears may hold old tombstones.
	r.mu.Lock()
	r.targets = append(r.targets, Target{Partition: 2})
	r.mu.Unlock()
	if r.c.idle() {
		t.Fatal("idle after the targets changed, want a pass")
	}
	if _, err := r.c.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.c.idle() {
		t.Fatal("not idle after a pass over the new targets")
	}
}

// TestCollectorIdleWithoutCount checks that a Collector without
// TombstoneWrites never skips a pass.
func TestCollectorIdleWithoutCount(t *testing.T) {
	c, err := NewCollector(CollectorConfig{Targets: func() []Target { return nil }, Manual: true, Logger: quiet},
		&countingStore{db: openDB(t, storage.Options{})}, noPeers{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustPass(t, c)
	if c.idle() {
		t.Error("idle without TombstoneWrites, want every pass to run")
	}
}

// TestCollectorBackgroundSkipsScans checks the background loop: after its
// first pass over a store without tombstones it scans nothing, however
// many intervals pass, until a delete is written.
func TestCollectorBackgroundSkipsScans(t *testing.T) {
	// The collector sleeps in real time; a short interval lets many
	// passes come due. Nothing below depends on how many do.
	r := newCollectorRig(t, false, time.Millisecond)
	chorustest.Eventually(t, "three passes skipped", func() bool { return r.c.Stats().Skipped >= 3 })
	if st, scans := r.c.Stats(), r.store.scans.Load(); st.Passes != 1 || scans != 2 {
		t.Fatalf("Stats %+v, %d partition scans: want the first pass alone (2 scans)", st, scans)
	}
	r.del(t, 0, "gone")
	chorustest.Eventually(t, "a pass after the delete", func() bool { return r.c.Stats().Passes >= 2 })
	if scans := r.store.scans.Load(); scans < 4 {
		t.Errorf("%d partition scans after the delete, want the targets scanned again", scans)
	}
}
