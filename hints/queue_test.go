package hints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

func TestNotDeliveredWhileDown(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive()
	q := manual(t, memDB(t), s, live, testConfig(clk))
	addN(t, q, "b", 3, clk.Now())

	q.deliverOnce()
	if n := s.callCount("b"); n != 0 {
		t.Fatalf("%d deliveries to a down target, want 0", n)
	}
	if got := q.Pending("b"); got != 3 {
		t.Fatalf("Pending(b) = %d, want 3", got)
	}

	live.set("b", true)
	q.deliverOnce()
	if got, want := s.keys("b"), []string{"key0", "key1", "key2"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	st := q.Stats()
	if q.Pending("b") != 0 || st.Queued != 0 || st.QueuedBytes != 0 || st.Delivered != 3 {
		t.Fatalf("after delivery: Pending=%d Stats=%+v", q.Pending("b"), st)
	}
	q.deliverOnce() // nothing left: no empty deliveries
	if n := s.callCount("b"); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestFailureKeepsHintsAndBacksOff(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	cfg := testConfig(clk)
	warnings := &countWarnings{}
	cfg.Logger = slog.New(warnings)
	q := manual(t, memDB(t), s, live, cfg)
	addN(t, q, "b", 2, clk.Now())
	boom := errors.New("boom")
	s.setFail("b", boom)

	q.deliverOnce()
	st := q.Stats().Targets["b"]
	if q.Pending("b") != 2 || !errors.Is(st.LastError, boom) {
		t.Fatalf("after failure: Pending=%d stats=%+v", q.Pending("b"), st)
	}
	if want := clk.Now().Add(time.Second); !st.RetryAt.Equal(want) {
		t.Fatalf("RetryAt = %v, want %v (first backoff = RetryInterval)", st.RetryAt, want)
	}
	q.deliverOnce() // still backing off
	if n := s.callCount("b"); n != 1 {
		t.Fatalf("%d calls during backoff, want 1", n)
	}
	// Backoff doubles up to MaxBackoff.
	for _, want := range []time.Duration{2, 4, 4, 4} {
		clk.Advance(5 * time.Second)
		q.deliverOnce()
		if got := q.Stats().Targets["b"].RetryAt.Sub(clk.Now()); got != want*time.Second {
			t.Fatalf("backoff = %v, want %v", got, want*time.Second)
		}
	}
	// Five failures within 20 s: one warning; the next, 30 s after it,
	// is the second.
	if n := warnings.count.Load(); n != 1 {
		t.Fatalf("%d warnings for 5 failures within 30 s, want 1", n)
	}
	clk.Advance(10 * time.Second)
	q.deliverOnce()
	if n := warnings.count.Load(); n != 2 {
		t.Fatalf("%d warnings after a failure 30 s after the first, want 2", n)
	}
	s.setFail("b", nil)
	clk.Advance(time.Minute)
	q.deliverOnce()
	st = q.Stats().Targets["b"]
	if q.Pending("b") != 0 || st.LastError != nil || !st.RetryAt.IsZero() {
		t.Fatalf("after success: Pending=%d stats=%+v", q.Pending("b"), st)
	}
	if got := s.keys("b"); !slices.Equal(got, []string{"key0", "key1"}) {
		t.Fatalf("delivered %v", got)
	}
}

// TestCrashBetweenAckAndDelete stops the queue after the owner acknowledged
// but before the hints were deleted: a new queue on the same storage
// delivers them again.
func TestCrashBetweenAckAndDelete(t *testing.T) {
	clk, live := newFakeClock(), newFakeLive("b")
	db := memDB(t)
	s1 := newFakeSender()
	q1 := manual(t, db, s1, live, testConfig(clk))
	addN(t, q1, "b", 3, clk.Now())
	s1.hook = func(context.Context, string) error {
		q1.cancel() // "crash": the deletes that follow the ack fail
		return nil
	}
	q1.deliverOnce()
	if got := s1.keys("b"); len(got) != 3 {
		t.Fatalf("first delivery sent %v", got)
	}
	if st := q1.Stats().Targets["b"]; st.LastError != nil || !st.RetryAt.IsZero() {
		t.Fatalf("a cancelled delivery should not count as a failure: %+v", st)
	}
	q1.Close()

	s2 := newFakeSender()
	q2 := manual(t, db, s2, live, testConfig(clk))
	if got := q2.Pending("b"); got != 3 {
		t.Fatalf("Pending after restart = %d, want 3", got)
	}
	q2.deliverOnce()
	if got, want := s2.keys("b"), []string{"key0", "key1", "key2"}; !slices.Equal(got, want) {
		t.Fatalf("redelivered %v, want %v", got, want)
	}
	if q2.Pending("b") != 0 {
		t.Fatalf("Pending = %d after redelivery", q2.Pending("b"))
	}
}

func TestAgeBound(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	cfg := testConfig(clk)
	cfg.MaxAge = time.Hour
	q := manual(t, memDB(t), s, live, cfg)
	mustAdd(t, q, hint("b", "old", clk.Now().Add(-2*time.Hour)))
	mustAdd(t, q, hint("b", "edge", clk.Now().Add(-time.Hour)))
	mustAdd(t, q, hint("b", "new", clk.Now()))
	if got := q.Stats().OldestAge; got != 2*time.Hour {
		t.Fatalf("OldestAge = %v, want 2h", got)
	}
	q.deliverOnce()
	if got, want := s.keys("b"), []string{"edge", "new"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	st := q.Stats()
	if st.DroppedAge != 1 || st.Delivered != 2 || st.Queued != 0 || st.OldestAge != 0 {
		t.Fatalf("Stats = %+v, want 1 dropped for age, 2 delivered", st)
	}

	// Hints that expire while the owner is down are dropped when it returns.
	mustAdd(t, q, hint("b", "late", clk.Now()))
	clk.Advance(61 * time.Minute)
	q.deliverOnce()
	if st := q.Stats(); st.DroppedAge != 2 || st.Queued != 0 || s.callCount("b") != 1 {
		t.Fatalf("Stats = %+v, calls = %d", st, s.callCount("b"))
	}
}

func TestSizeBound(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	size := int64(len(hint("b", "key0", t0).encode()))
	cfg := testConfig(clk)
	cfg.MaxBytes = 3*size + size/2
	q := manual(t, memDB(t), s, live, cfg)
	addN(t, q, "b", 3, clk.Now())
	err := q.Add(context.Background(), hint("c", "key9", clk.Now()), true)
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Add over MaxBytes = %v, want ErrFull", err)
	}
	st := q.Stats()
	if st.DroppedFull != 1 || st.Queued != 3 || st.QueuedBytes != 3*size || q.Pending("c") != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	q.deliverOnce()
	mustAdd(t, q, hint("c", "key9", clk.Now())) // room again
}

func TestOrderAndBatchSize(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	cfg := testConfig(clk)
	cfg.BatchSize = 3
	q := manual(t, memDB(t), s, live, cfg)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var want []string
	for _, i := range rng.Perm(8) {
		mustAdd(t, q, hint("b", fmt.Sprintf("key%d", i), clk.Now().Add(time.Duration(i)*time.Millisecond)))
	}
	for i := range 8 {
		want = append(want, fmt.Sprintf("key%d", i))
	}
	mustAdd(t, q, hint("b", "same-time", clk.Now().Add(7*time.Millisecond)))
	want = append(want, "same-time")

	q.deliverOnce()
	if got := s.keys("b"); !slices.Equal(got, want) {
		t.Fatalf("delivery order %v, want %v", got, want)
	}
	if got := s.batchSizes("b"); !slices.Equal(got, []int{3, 3, 3}) {
		t.Fatalf("batch sizes %v, want [3 3 3]", got)
	}
}

func TestTargetsIndependent(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("a", "b", "c")
	q := manual(t, memDB(t), s, live, testConfig(clk))
	for _, tgt := range []string{"a", "b", "c"} {
		addN(t, q, tgt, 2, clk.Now())
	}
	s.setFail("b", errors.New("b is sick"))
	q.deliverOnce()
	if q.Pending("a") != 0 || q.Pending("c") != 0 || q.Pending("b") != 2 {
		t.Fatalf("Pending a/b/c = %d/%d/%d, want 0/2/0", q.Pending("a"), q.Pending("b"), q.Pending("c"))
	}
	st := q.Stats()
	if st.Queued != 2 || st.Delivered != 4 || len(st.Targets) != 1 || st.Targets["b"].LastError == nil {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestHungTargetDoesNotBlockOthers runs the real loop: a target whose
// delivery hangs does not hold up another, and Close cancels it.
func TestHungTargetDoesNotBlockOthers(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive()
	entered := make(chan struct{})
	s.hook = func(ctx context.Context, target string) error {
		if target != "slow" {
			return nil
		}
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}
	q, err := New(memDB(t), s, live, testConfig(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	mustAdd(t, q, hint("slow", "k", clk.Now()))
	live.set("slow", true)
	q.Notify("slow")
	<-entered

	mustAdd(t, q, hint("fast", "k", clk.Now()))
	live.set("fast", true)
	q.Notify("fast")
	chorustest.Eventually(t, "delivery to fast", func() bool { return q.Pending("fast") == 0 })
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if q.Pending("slow") != 1 {
		t.Fatalf("Pending(slow) = %d after a cancelled delivery, want 1", q.Pending("slow"))
	}
}

func TestNotifyDeliversAndResetsBackoff(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive()
	q, err := New(memDB(t), s, live, testConfig(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	mustAdd(t, q, hint("b", "k1", clk.Now()))
	live.set("b", true)
	s.setFail("b", errors.New("not yet"))
	q.Notify("b")
	chorustest.Eventually(t, "a failed delivery", func() bool { return q.Stats().Targets["b"].LastError != nil })

	// The fake clock stands still, so only Notify can end the backoff.
	s.setFail("b", nil)
	q.Notify("b")
	chorustest.Eventually(t, "delivery after Notify", func() bool { return q.Pending("b") == 0 })
	if got := s.keys("b"); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("delivered %v", got)
	}
}

func TestRestartOnDisk(t *testing.T) {
	dir := t.TempDir()
	clk, live := newFakeClock(), newFakeLive()
	db := openDB(t, dir)
	q := manual(t, db, newFakeSender(), live, testConfig(clk))
	addN(t, q, "b", 3, clk.Now().Add(-time.Minute))
	if err := q.Add(context.Background(), hint("c", "kc", clk.Now()), true); err != nil {
		t.Fatal(err)
	}
	before := q.Stats()
	q.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	s := newFakeSender()
	q = manual(t, db, s, live, testConfig(clk))
	after := q.Stats()
	if after.Queued != 4 || after.QueuedBytes != before.QueuedBytes || after.OldestAge != time.Minute {
		t.Fatalf("rebuilt Stats = %+v, want %+v", after, before)
	}
	// New IDs must not collide with those stored before the restart.
	mustAdd(t, q, hint("b", "key3", clk.Now()))
	q.Close()

	// The loop delivers at startup, without Notify or a tick.
	live.set("b", true)
	live.set("c", true)
	q, err := New(db, s, live, testConfig(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	chorustest.Eventually(t, "delivery after restart", func() bool { return q.Stats().Queued == 0 })
	if got, want := s.keys("b"), []string{"key0", "key1", "key2", "key3"}; !slices.Equal(got, want) {
		t.Fatalf("delivered to b %v, want %v", got, want)
	}
	if got := s.keys("c"); !slices.Equal(got, []string{"kc"}) {
		t.Fatalf("delivered to c %v", got)
	}
}

func TestCorruptHintDropped(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	db := memDB(t)
	ctx := context.Background()
	if err := db.PutHint(ctx, "b", []byte("garbage"), []byte{9, 9, 9}, false); err != nil {
		t.Fatal(err)
	}
	q := manual(t, db, s, live, testConfig(clk))
	if st := q.Stats(); st.DroppedCorrupt != 1 || st.Queued != 0 {
		t.Fatalf("Stats = %+v, want 1 corrupt drop", st)
	}
	n := 0
	db.ScanHints(ctx, "b", func(_, _ []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d corrupt hints left in storage", n)
	}
}

func TestAddValidatesAndClose(t *testing.T) {
	clk := newFakeClock()
	db := memDB(t)
	if _, err := New(db, nil, newFakeLive(), testConfig(clk)); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("New without sender = %v", err)
	}
	if _, err := New(db, newFakeSender(), newFakeLive(), Config{BatchSize: -1}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("New with bad config = %v", err)
	}
	q, err := New(db, newFakeSender(), newFakeLive(), testConfig(clk))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Add(context.Background(), Hint{Target: "b"}, false); !errors.Is(err, ErrBadHint) {
		t.Fatalf("Add without key = %v, want ErrBadHint", err)
	}
	h := hint("b", "k", time.Time{})
	mustAdd(t, q, h)
	if got := q.Stats().OldestAge; got != 0 {
		t.Fatalf("OldestAge of a hint created now = %v", got)
	}
	for range 2 {
		if err := q.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := q.Add(context.Background(), h, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
	q.Notify("b") // must not block or panic
	q.deliverOnce()
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	db := memDB(t)
	before := runtime.NumGoroutine()
	for range 5 {
		s, live := newFakeSender(), newFakeLive("b")
		q, err := New(db, s, live, Config{Logger: quiet, RetryInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		mustAdd(t, q, hint("b", "k", time.Time{}))
		chorustest.Eventually(t, "delivery", func() bool { return q.Pending("b") == 0 })
		q.Close()
	}
	chorustest.Eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

// TestDeliveryPaced: a target's hints go out at MaxRate per second after
// a burst of one second's worth, waiting on the queue's clock.
func TestDeliveryPaced(t *testing.T) {
	clk, s, live := newFakeClock(), newFakeSender(), newFakeLive("b")
	cfg := testConfig(clk)
	cfg.MaxRate, cfg.BatchSize = 20, 10
	q := manual(t, memDB(t), s, live, cfg)
	addN(t, q, "b", 50, clk.Now())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.deliverOnce()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), chorustest.Timeout)
	defer cancel()
	// 20 hints of burst, then 10 more on credit: 30 out, half a second
	// of debt. Each half second after pays for the next batch of 10.
	for _, want := range []int{30, 40} {
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("delivery does not wait for its pace: %v", err)
		}
		if got := len(s.keys("b")); got != want {
			t.Fatalf("%d hints delivered before the pause at %v, want %d", got, clk.Since(t0), want)
		}
		clk.Advance(500 * time.Millisecond)
	}
	<-done
	if got := len(s.keys("b")); got != 50 {
		t.Fatalf("%d hints delivered in all, want 50", got)
	}
}

// countWarnings is a slog.Handler counting records at Warn and above.
type countWarnings struct{ count atomic.Int64 }

func (h *countWarnings) Enabled(context.Context, slog.Level) bool { return true }
func (h *countWarnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.count.Add(1)
	}
	return nil
}
func (h *countWarnings) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countWarnings) WithGroup(string) slog.Handler      { return h }
