package hints

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

// countingLive is a fakeLive that counts Alive calls: one per target with
// hints, per delivery round.
type countingLive struct {
	*fakeLive
	calls atomic.Int64
}

func (l *countingLive) Alive(node string) bool {
	l.calls.Add(1)
	return l.fakeLive.Alive(node)
}

// TestLoopIdleWithoutHints checks that the delivery loop arms no timer
// while nothing is queued (an idle node does not wake every
// RetryInterval), that Add wakes it so rounds are timed again, and that
// it goes back to waiting once the queue is empty.
func TestLoopIdleWithoutHints(t *testing.T) {
	clk := newFakeClock()
	s, live := newFakeSender(), &countingLive{fakeLive: newFakeLive()}
	q, err := New(memDB(t), s, live, testConfig(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), chorustest.Timeout)
	defer cancel()

	// The target is down: rounds every RetryInterval, one Alive each.
	mustAdd(t, q, hint("b", "k", clk.Now()))
	for i := range 3 {
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("round %d: no timer armed with a hint queued: %v", i, err)
		}
		before := live.calls.Load()
		clk.Advance(DefaultRetryInterval)
		chorustest.Eventually(t, "a delivery round", func() bool { return live.calls.Load() > before })
	}
	// Up: delivered, and the queue is empty.
	live.set("b", true)
	clk.Advance(DefaultRetryInterval)
	chorustest.Eventually(t, "the hint delivered", func() bool { return s.callCount("b") == 1 && q.Stats().Queued == 0 })
	// The round that delivered it armed its timer if the queue still held
	// the hint when it looked (then the round after finds it empty), and
	// did not if the delivery was quicker: either way the loop ends up
	// waiting without a timer. Once the queue is empty no round arms one,
	// so no waiter at all means the loop waits on Add and Notify alone.
	chorustest.Eventually(t, "the loop waiting without a timer", func() bool {
		if clk.Waiters() == 0 {
			return true
		}
		clk.Advance(DefaultRetryInterval)
		return false
	})
	calls := live.calls.Load()
	for range 10 {
		clk.Advance(time.Hour)
	}
	if got := live.calls.Load(); got != calls {
		t.Errorf("empty queue: %d Alive calls over 10 h of fake time, want none", got-calls)
	}

	// A new hint: the loop times its rounds again and delivers it.
	mustAdd(t, q, hint("b", "k2", clk.Now()))
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("no timer armed after Add on an empty queue: %v", err)
	}
	clk.Advance(DefaultRetryInterval)
	chorustest.Eventually(t, "the second hint delivered", func() bool { return s.callCount("b") == 2 })
}
