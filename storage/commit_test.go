package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

// setReq builds a request that stores value at key, as the write methods
// do, for tests that drive commitBatch directly.
func setReq(ctx context.Context, key string, value []byte) *request {
	return &request{ctx: ctx, key: []byte(key), done: make(chan error, 1),
		mutate: func([]byte, bool) (mutation, error) { return mutation{op: opSet, value: value}, nil }}
}

// A batch larger than one engine transaction is split and fully committed;
// a request too big even alone, or failing its own check, fails alone.
func TestBatchSplitsWhenTxnTooBig(t *testing.T) {
	// An 8 MiB memtable caps a transaction at ~1.2 MiB.
	db := openMem(t, Options{MemTableSize: 8 << 20})
	ctx := context.Background()
	var batch []*request
	for i := range 20 {
		batch = append(batch, setReq(ctx, fmt.Sprintf("k%02d", i), bytes.Repeat([]byte{byte(i)}, 200<<10)))
	}
	huge := setReq(ctx, "huge", make([]byte, 2<<20))
	bad := setReq(ctx, "bad", nil)
	bad.mutate = func([]byte, bool) (mutation, error) { return mutation{}, ErrTooManySiblings }
	batch = append(batch[:10], append([]*request{huge, bad}, batch[10:]...)...)

	// The committer goroutine is idle, so calling commitBatch here keeps
	// the single-writer rule.
	db.commitBatch(batch)

	for _, r := range batch {
		err := <-r.done
		switch r {
		case huge:
			if !errors.Is(err, ErrValueTooLarge) {
				t.Errorf("huge: err = %v, want ErrValueTooLarge", err)
			}
		case bad:
			if !errors.Is(err, ErrTooManySiblings) {
				t.Errorf("bad: err = %v, want its own error", err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", r.key, err)
			}
		}
	}
	if st := db.Stats(); st.Commits < 4 || st.Writes != 20 {
		t.Errorf("Stats = %+v, want >= 4 commits and 20 writes", st)
	}
}

// Requests whose context ended, or whose caller gave up, before the
// committer took them are not applied.
func TestCancelledRequestNotApplied(t *testing.T) {
	db := openMem(t, Options{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	if _, _, err := db.Update(cancelled, 0, []byte("k"), vclock.Clock{}, "n1", val("v"), true); !errors.Is(err, context.Canceled) {
		t.Fatalf("Update(cancelled ctx) err = %v, want context.Canceled", err)
	}
	late := setReq(cancelled, "late", []byte("v"))
	gone := setReq(context.Background(), "gone", []byte("v"))
	gone.state.Store(stateAbandoned)
	db.commitBatch([]*request{late, gone})
	if err := <-late.done; !errors.Is(err, context.Canceled) {
		t.Errorf("late: err = %v, want context.Canceled", err)
	}
	for _, k := range []string{"late", "gone"} {
		if got := db.Stats().Writes; got != 0 {
			t.Errorf("%s: Writes = %d, want 0", k, got)
		}
	}
}

// Under random cancellation, a write that returned its context's error was
// not applied, and one that returned nil was.
func TestCancellationOutcomeIsExact(t *testing.T) {
	db := openMem(t, Options{})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	const n = 400
	delays := make([]time.Duration, n)
	for i := range delays {
		delays[i] = time.Duration(rng.IntN(300)) * time.Microsecond
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), delays[i])
			defer cancel()
			_, _, errs[i] = db.Update(ctx, 0, fmt.Appendf(nil, "k%d", i), vclock.Clock{}, "n1", val("v"), false)
		})
	}
	wg.Wait()
	var applied, refused int
	for i, err := range errs {
		_, gerr := db.Get(context.Background(), 0, fmt.Appendf(nil, "k%d", i))
		switch {
		case err == nil && gerr == nil:
			applied++
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(gerr, ErrNotFound):
			refused++
		default:
			t.Errorf("k%d: Update err = %v but Get err = %v", i, err, gerr)
		}
	}
	t.Logf("applied %d, refused %d", applied, refused)
}

func TestClose(t *testing.T) {
	db, err := Open("", Options{InMemory: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, 0, "k", vclock.Clock{}, val("v"))
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"Get": func() error { _, err := db.Get(ctx, 0, []byte("k")); return err },
		"Update": func() error {
			_, _, err := db.Update(ctx, 0, []byte("k"), vclock.Clock{}, "n", val("v"), true)
			return err
		},
		"Merge":   func() error { _, _, err := db.Merge(ctx, 0, []byte("k"), vclock.Set{}, true); return err },
		"Scan":    func() error { return db.ScanPartition(ctx, 0, func([]byte, vclock.Set) error { return nil }) },
		"Hint":    func() error { return db.PutHint(ctx, "t", []byte("i"), nil, true) },
		"Hints":   func() error { return db.ScanHints(ctx, "t", func(_, _ []byte) error { return nil }) },
		"Meta":    func() error { _, err := db.GetMeta("m"); return err },
		"SetMeta": func() error { return db.SetMeta(ctx, "m", nil) },
		"DeleteTombstone": func() error {
			_, err := db.DeleteTombstone(ctx, 0, []byte("k"), vclock.NewSet("n", vclock.Value{Tombstone: true}))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
	if db.Stats().Writes != 1 {
		t.Errorf("Stats after Close = %+v", db.Stats())
	}
}

// Close racing with writers: every write acknowledged before Close
// finished is on disk after reopening, and later writes get ErrClosed.
// Close comes once the writers have had writes acknowledged, so the test
// checks some, whatever the machine's speed.
func TestCloseDrainsWriters(t *testing.T) {
	const ackedBeforeClose = 200
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%d-%d", g, i)
				_, _, err := db.Update(context.Background(), 1, []byte(key), vclock.Clock{}, "n1", val(key), i%2 == 0)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("%s: %v", key, err)
					return
				}
				mu.Lock()
				acked = append(acked, key)
				mu.Unlock()
			}
		})
	}
	ackedSoFar := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	chorustest.Eventually(t, fmt.Sprintf("%d writes acknowledged", ackedBeforeClose), func() bool {
		return ackedSoFar() >= ackedBeforeClose
	})
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if n := len(acked); n < ackedBeforeClose {
		t.Fatalf("%d writes acknowledged, want at least %d", n, ackedBeforeClose)
	}

	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, key := range acked {
		if _, err := db.Get(context.Background(), 1, []byte(key)); err != nil {
			t.Fatalf("acked %s after reopen: %v", key, err)
		}
	}
}

// Concurrent durable writers share syncs: that is the point of the
// committer.
func TestGroupCommitSharesSyncs(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := db.Stats() // Open's own meta writes
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				key := fmt.Appendf(nil, "g%d-%d", g, i)
				if _, _, err := db.Update(context.Background(), 0, key, vclock.Clock{}, "n1", val("v"), true); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := db.Stats()
	st.Writes -= base.Writes
	st.Syncs -= base.Syncs
	t.Logf("stats %+v: %.1f writes per sync", st, float64(st.Writes)/float64(st.Syncs))
	if st.Writes != 640 || st.Syncs == 0 || st.Syncs >= st.Writes {
		t.Fatalf("Stats = %+v, want 640 writes covered by fewer syncs", st)
	}
}

// Open and Close leave no goroutine behind, ours or the engine's, in
// memory and on disk (committer, syncer, checkpointer).
func TestNoGoroutineLeak(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			buf := make([]byte, 1<<16)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
	for _, disk := range []bool{false, true} {
		before := runtime.NumGoroutine()
		dir, opts := "", Options{InMemory: true, Logger: quiet}
		if disk {
			dir, opts = t.TempDir(), Options{Logger: quiet}
		}
		db, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, db, 0, "k", vclock.Clock{}, val("v"))
		if _, _, err := db.Update(context.Background(), 0, []byte("d"), vclock.Clock{}, "n1", val("v"), true); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		chorustest.Eventually(t, fmt.Sprintf("disk=%v: the goroutine count back to %d after Close", disk, before), func() bool {
			return runtime.NumGoroutine() <= before
		})
	}
}
