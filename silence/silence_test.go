package silence

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
)

func newFake() *clock.Fake { return clock.NewFake(time.Unix(1_000_000, 0)) }

func TestWatchQuickCallNeverPings(t *testing.T) {
	clk := newFake()
	var pings atomic.Int32
	silent := Watch(context.Background(), clk, time.Second,
		func(context.Context) error { pings.Add(1); return nil },
		func(context.Context) {})
	if silent || pings.Load() != 0 || clk.Waiters() != 0 {
		t.Fatalf("silent %v, %d pings, %d timers left; want a quick call unwatched", silent, pings.Load(), clk.Waiters())
	}
}

// run starts Watch on its own goroutine with a call that waits for its
// context or release, and returns where its result and the call's
// context cause arrive.
func run(clk *clock.Fake, ping func(context.Context) error, release chan struct{}) (chan bool, chan error) {
	silent, cause := make(chan bool, 1), make(chan error, 1)
	go func() {
		silent <- Watch(context.Background(), clk, 200*time.Millisecond, ping, func(ctx context.Context) {
			select {
			case <-ctx.Done():
				cause <- context.Cause(ctx)
			case <-release:
				cause <- nil
			}
		})
	}()
	return silent, cause
}

func TestWatchSilentPeer(t *testing.T) {
	clk := newFake()
	silentPing := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	silent, cause := run(clk, silentPing, make(chan struct{}))
	ctx := t.Context()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond) // the ping goes out
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond) // and is not answered
	var se *Error
	if err := <-cause; !errors.As(err, &se) || se.After != 200*time.Millisecond {
		t.Fatalf("the call's context ended with %v, want an *Error after 200ms", err)
	}
	if !<-silent {
		t.Fatal("Watch reported the silent peer as not silent")
	}
	if n := clk.Waiters(); n != 0 {
		t.Fatalf("%d timers left after Watch", n)
	}
}

func TestWatchSlowPeerThatAnswersPings(t *testing.T) {
	clk := newFake()
	var pinged atomic.Bool
	release := make(chan struct{})
	silent, cause := run(clk, func(context.Context) error { pinged.Store(true); return nil }, release)
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)
	chorustest.Eventually(t, "the ping is answered and its bound stopped", func() bool {
		return pinged.Load() && clk.Waiters() == 0
	})
	clk.Advance(time.Hour)
	close(release)
	if err := <-cause; err != nil {
		t.Fatalf("the call's context ended with %v; a peer that answers pings keeps its call", err)
	}
	if <-silent {
		t.Fatal("Watch reported a slow peer as silent")
	}
}

func TestPing(t *testing.T) {
	clk := newFake()
	if !Ping(context.Background(), clk, time.Second, func(context.Context) error { return nil }) {
		t.Fatal("an answered ping reported unanswered")
	}
	if Ping(context.Background(), clk, time.Second, func(context.Context) error { return errors.New("refused") }) {
		t.Fatal("a failed ping reported answered")
	}
}
