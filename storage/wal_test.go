package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/storage/commitlog"
	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/vclock"
)

// memLogOptions is an InMemory store whose commit log is on fsys, with
// small segments so that runs cross several.
func memLogOptions(fsys vfs.FS) Options {
	return Options{InMemory: true, CommitLogFS: fsys, Logger: quiet, logSegmentSize: 64 << 10}
}

func openMemLog(t testing.TB, fsys vfs.FS) *DB {
	t.Helper()
	db, err := Open("", memLogOptions(fsys))
	if err != nil {
		t.Fatalf("Open with a commit log: %v", err)
	}
	return db
}

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range []struct {
		op         mutationOp
		key, value string
	}{{opSet, "dkey", "value"}, {opSet, "m", ""}, {opDelete, "hkey", ""}} {
		op, key, value, err := decodeRecord(appendRecord(nil, c.op, []byte(c.key), []byte(c.value)))
		wantOp := recordSet
		if c.op == opDelete {
			wantOp = recordDelete
		}
		if err != nil || op != wantOp || string(key) != c.key || string(value) != c.value {
			t.Errorf("%+v: decoded %d %q %q %v", c, op, key, value, err)
		}
	}
}

func FuzzRecord(f *testing.F) {
	f.Add(appendRecord(nil, opSet, []byte("dk"), []byte{1, 0, 0}))
	f.Add(appendRecord(nil, opDelete, []byte("hk"), nil))
	f.Add([]byte{2, 0})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'k'})
	f.Fuzz(func(t *testing.T, p []byte) {
		op, key, value, err := decodeRecord(p)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		m := opSet
		if op == recordDelete {
			m = opDelete
		}
		if again := appendRecord(nil, m, key, value); string(again) != string(p) && len(key) > 0 {
			// Only non-minimal uvarints may re-encode differently.
			if _, _, _, err := decodeRecord(again); err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
		}
	})
}

// crashHistory records, per key, what a crash must keep: the last write
// acknowledged as durable before the crash, and whether a delete was
// started after it. Keys are owned by one writer each, so a key's history
// is sequential.
type crashHistory struct {
	mu      sync.RWMutex // write-locked by the crash: no ack is recorded across it
	crashed bool
	keys    map[string]*keyHistory
	acks    atomic.Int64
}

type keyHistory struct {
	durable      *vclock.Set // the set a durable write returned; nil after a durable delete
	durableDone  bool        // a durable outcome was recorded
	deleteLater  bool        // a delete started after it
	writtenLater bool        // any write started after it
}

// record runs f under the history's read lock unless the crash happened.
func (h *crashHistory) record(f func()) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.crashed {
		f()
	}
}

// The unsynced-bytes-dropped test: writers mix durable and non-durable
// Updates, Merges and deletes on an InMemory store whose commit log is on
// a crashable FS; at a random moment the FS is crashed (only synced bytes
// and directory entries survive), a fresh store replays it, and every
// write acknowledged as durable before the crash is there or causally
// superseded.
func TestCrashDropsUnsyncedBytes(t *testing.T) {
	seed := chorustest.Seed(t)
	for round := range 3 {
		crashRound(t, seed+uint64(round))
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	mem := vfs.NewCrashableMem()
	db := openMemLog(t, mem)
	inc0 := db.Incarnation()
	h := &crashHistory{keys: map[string]*keyHistory{}}
	const writers, keysPer = 6, 12
	for g := range writers {
		for k := range keysPer {
			h.keys[fmt.Sprintf("g%d-k%d", g, k)] = &keyHistory{}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range writers {
		wseed := rng.Uint64()
		wg.Go(func() { crashWriter(db, h, g, keysPer, wseed, stop) })
	}
	crashAt := int64(100 + rng.IntN(600))
	chorustest.Eventually(t, fmt.Sprintf("seed %d: %d acks", seed, crashAt), func() bool { return h.acks.Load() >= crashAt })
	h.mu.Lock()
	snap := mem.Crash()
	h.crashed = true
	h.mu.Unlock()
	close(stop)
	wg.Wait()
	_ = db.Close()

	re := openMemLog(t, snap)
	defer re.Close()
	if got := re.Incarnation(); got != inc0+1 {
		t.Errorf("seed %d: incarnation after the crash = %d, want %d", seed, got, inc0+1)
	}
	checked := 0
	for key, kh := range h.keys {
		if !kh.durableDone {
			continue
		}
		checked++
		s, err := re.Get(context.Background(), 1, []byte(key))
		switch {
		case errors.Is(err, ErrNotFound) && (kh.durable == nil || kh.deleteLater):
		case errors.Is(err, ErrNotFound):
			t.Fatalf("seed %d: %s lost: durable set %v", seed, key, kh.durable.Context().Format())
		case err != nil:
			t.Fatalf("seed %d: %s: %v", seed, key, err)
		case kh.durable == nil && !kh.writtenLater:
			t.Fatalf("seed %d: %s deleted durably, back after the crash as %v", seed, key, s.Context().Format())
		case kh.durable != nil && !s.Context().Descends(kh.durable.Context()):
			t.Fatalf("seed %d: %s holds %v, not descending the durable %v", seed, key,
				s.Context().Format(), kh.durable.Context().Format())
		}
	}
	t.Logf("seed %d: %d acks before the crash, %d keys with a durable outcome checked", seed, h.acks.Load(), checked)
}

// crashWriter writes to its own keys until stop: Updates with the context
// of its last result, replica Merges and compare-and-deletes, each durable
// or not at random.
func crashWriter(db *DB, h *crashHistory, g, keys int, seed uint64, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 4))
	ctx := context.Background()
	last := map[string]vclock.Set{}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("g%d-k%d", g, rng.IntN(keys))
		kh := h.keys[key]
		durable := rng.IntN(2) == 0
		kind := rng.IntN(10)
		h.record(func() {
			kh.writtenLater = true
			kh.deleteLater = kh.deleteLater || kind == 0
		})
		var s vclock.Set
		var err error
		deleted := false
		switch {
		case kind == 0:
			if cur, ok := last[key]; ok {
				deleted, err = db.DeleteIfEqual(ctx, 1, []byte(key), cur)
			}
		case kind < 4:
			in, _ := vclock.Set{}.UpdateFrom(vclock.Clock{}, fmt.Sprintf("r%d", g), val(fmt.Sprint(i)), uint64(i))
			s, _, err = db.Merge(ctx, 1, []byte(key), in, durable)
		default:
			s, _, err = db.Update(ctx, 1, []byte(key), last[key].Context(), "n1", val(fmt.Sprint(i)), durable)
		}
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			panic(fmt.Sprintf("%s: %v", key, err)) // the test's FS never fails
		}
		switch {
		case deleted:
			delete(last, key)
			h.record(func() { // a delete is synced before it is applied
				kh.durable, kh.durableDone, kh.deleteLater, kh.writtenLater = nil, true, false, false
			})
		case kind != 0:
			last[key] = s
			if durable {
				h.record(func() { kh.durable, kh.durableDone, kh.deleteLater, kh.writtenLater = &s, true, false, false })
			}
		}
		h.record(func() { h.acks.Add(1) })
	}
}

// injectOptions opens an InMemory store with a log on an injectable FS.
func openInjected(t *testing.T) (*DB, *vfs.MemFS, *vfs.InjectFS) {
	t.Helper()
	mem := vfs.NewCrashableMem()
	inj := vfs.Inject(mem, nil)
	return openMemLog(t, inj), mem, inj
}

// A failed fdatasync fails the durable requests it covered, saying that
// their durability is unknown; the log is then failed and later writes
// fail too, until the store is reopened. Nothing panics.
func TestSyncFailureFailsDurableRequests(t *testing.T) {
	db, mem, inj := openInjected(t)
	ctx := context.Background()
	mustUpdate(t, db, 1, "before", vclock.Clock{}, val("v"))
	if _, _, err := db.Update(ctx, 1, []byte("synced"), vclock.Clock{}, "n1", val("v"), true); err != nil {
		t.Fatal(err)
	}
	inj.SetInjector(vfs.InjectorFunc(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			return syscall.EIO
		}
		return nil
	}))
	_, wait, err := db.UpdateAsync(ctx, 1, []byte("k"), vclock.Clock{}, "n1", val("v"), true)
	if err != nil {
		t.Fatalf("UpdateAsync: %v (the commit itself must succeed)", err)
	}
	if err := wait(); !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "durability unknown") {
		t.Fatalf("wait = %v, want EIO saying durability is unknown", err)
	}
	if _, _, err := db.Update(ctx, 1, []byte("later"), vclock.Clock{}, "n1", val("v"), false); !errors.Is(err, syscall.EIO) {
		t.Fatalf("a write after the failed sync: %v, want the sync's error", err)
	}
	if err := db.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close = %v, want the sync's error", err)
	}
	re := openMemLog(t, mem.Crash())
	defer re.Close()
	if _, err := re.Get(ctx, 1, []byte("synced")); err != nil {
		t.Fatalf("a write synced before the failure: %v", err)
	}
}

// ENOSPC on append fails the batch cleanly: nothing of it is applied, and
// the store goes on once there is room.
func TestAppendFailureFailsBatchCleanly(t *testing.T) {
	db, mem, inj := openInjected(t)
	ctx := context.Background()
	inj.SetInjector(vfs.InjectorFunc(func(op vfs.Op, _ string) error {
		if op == vfs.OpWrite {
			return syscall.ENOSPC
		}
		return nil
	}))
	_, _, err := db.Update(ctx, 1, []byte("full"), vclock.Clock{}, "n1", val("v"), true)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Update on a full disk = %v, want ENOSPC", err)
	}
	if _, err := db.Get(ctx, 1, []byte("full")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed write was applied: Get = %v", err)
	}
	if _, _, err := db.Merge(ctx, 1, []byte("full2"), vclock.NewSet("n2", val("v")), false); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Merge on a full disk = %v, want ENOSPC", err)
	}
	inj.SetInjector(nil)
	if _, _, err := db.Update(ctx, 1, []byte("room"), vclock.Clock{}, "n1", val("v"), true); err != nil {
		t.Fatalf("Update once there is room: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	re := openMemLog(t, mem.Crash())
	defer re.Close()
	if _, err := re.Get(ctx, 1, []byte("room")); err != nil {
		t.Fatalf("room after a crash: %v", err)
	}
	if _, err := re.Get(ctx, 1, []byte("full")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("full after a crash: %v, want ErrNotFound", err)
	}
}

// A bad record in a segment that is not the last fails Open with an error
// naming the segment; a torn last record is dropped.
func TestOpenReplayErrors(t *testing.T) {
	mem := vfs.NewCrashableMem()
	db := openMemLog(t, mem)
	ctx := context.Background()
	for i := range 20 {
		if _, _, err := db.Update(ctx, 1, fmt.Appendf(nil, "k%d", i), vclock.Clock{}, "n1", val("v"), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen once, so that the segment with the records is not the last.
	if db, err := Open("", memLogOptions(mem)); err != nil {
		t.Fatal(err)
	} else if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := mem.List("commitlog")
	f, err := mem.Open("commitlog/" + names[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff}, commitlog.HeaderLen+20); err != nil {
		t.Fatal(err)
	}
	_, err = Open("", memLogOptions(mem))
	if !errors.Is(err, commitlog.ErrCorrupt) || !strings.Contains(err.Error(), names[0]) {
		t.Fatalf("Open over a corrupt segment = %v, want commitlog.ErrCorrupt naming %s", err, names[0])
	}
}
