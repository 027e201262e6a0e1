package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fired reports whether ch holds a value, and which.
func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimerFiresAtDeadline(t *testing.T) {
	f := NewFake(t0)
	_, ch := f.NewTimer(10 * time.Second)
	if f.Waiters() != 1 {
		t.Fatalf("Waiters = %d after NewTimer, want 1", f.Waiters())
	}
	f.Advance(9 * time.Second)
	if _, ok := fired(ch); ok {
		t.Fatal("timer fired 1 s before its deadline")
	}
	f.Advance(time.Second)
	v, ok := fired(ch)
	if !ok || !v.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("timer at its deadline: fired %v with %v, want %v", ok, v, t0.Add(10*time.Second))
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d after the timer fired, want 0", f.Waiters())
	}
	f.Advance(time.Hour)
	if _, ok := fired(ch); ok {
		t.Error("timer fired twice")
	}
}

func TestFakeTimerStopAndReset(t *testing.T) {
	f := NewFake(t0)
	tm, ch := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer = false")
	}
	if tm.Stop() {
		t.Fatal("second Stop = true")
	}
	f.Advance(time.Hour)
	if _, ok := fired(ch); ok {
		t.Fatal("stopped timer fired")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer reported it active")
	}
	f.Advance(time.Second)
	if _, ok := fired(ch); !ok {
		t.Fatal("reset timer did not fire")
	}
	// A fired value not yet received is stale after Reset.
	tm.Reset(time.Second)
	f.Advance(time.Second)
	tm.Reset(time.Second)
	if _, ok := fired(ch); ok {
		t.Fatal("a value sent before Reset was received after it")
	}
	f.Advance(time.Second)
	if v, ok := fired(ch); !ok || !v.Equal(f.Now()) {
		t.Fatalf("timer after Reset: fired %v at %v, want at %v", ok, v, f.Now())
	}
}

func TestFakeTimerNonPositiveFiresAtOnce(t *testing.T) {
	f := NewFake(t0)
	_, ch := f.NewTimer(0)
	if v, ok := fired(ch); !ok || !v.Equal(t0) {
		t.Fatalf("NewTimer(0): fired %v at %v, want at once", ok, v)
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d, want 0", f.Waiters())
	}
}

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(t0)
	_, late := f.NewTimer(3 * time.Second)
	_, early := f.NewTimer(time.Second)
	tick, ticks := f.NewTicker(2 * time.Second)
	defer tick.Stop()
	f.Advance(10 * time.Second)
	for name, c := range map[string]struct {
		ch   <-chan time.Time
		want time.Duration
	}{"early": {early, time.Second}, "late": {late, 3 * time.Second}, "ticker": {ticks, 2 * time.Second}} {
		if v, ok := fired(c.ch); !ok || !v.Equal(t0.Add(c.want)) {
			t.Errorf("%s: fired %v at %v, want at t0+%v", name, ok, v, c.want)
		}
	}
	if !f.Now().Equal(t0.Add(10 * time.Second)) {
		t.Errorf("Now = %v, want t0+10s", f.Now())
	}
	// The ticker kept its period from the last deadline passed (t0+10s).
	f.Advance(time.Second)
	if _, ok := fired(ticks); ok {
		t.Error("ticker fired off its period")
	}
	f.Advance(time.Second)
	if v, ok := fired(ticks); !ok || !v.Equal(t0.Add(12*time.Second)) {
		t.Errorf("ticker: fired %v at %v, want at t0+12s", ok, v)
	}
}

func TestFakeTickerStopAndReset(t *testing.T) {
	f := NewFake(t0)
	tk, ch := f.NewTicker(time.Second)
	f.Advance(time.Second)
	if _, ok := fired(ch); !ok {
		t.Fatal("ticker did not tick")
	}
	tk.Reset(5 * time.Second)
	f.Advance(4 * time.Second)
	if _, ok := fired(ch); ok {
		t.Fatal("ticker ticked on its old period after Reset")
	}
	f.Advance(time.Second)
	if _, ok := fired(ch); !ok {
		t.Fatal("ticker did not tick on its new period")
	}
	tk.Stop()
	if f.Waiters() != 0 {
		t.Fatalf("Waiters = %d after Stop, want 0", f.Waiters())
	}
	f.Advance(time.Hour)
	if _, ok := fired(ch); ok {
		t.Fatal("stopped ticker ticked")
	}
}

func TestFakeSetBackwardsFiresNothing(t *testing.T) {
	f := NewFake(t0)
	_, ch := f.NewTimer(time.Second)
	f.Set(t0.Add(-time.Hour))
	if _, ok := fired(ch); ok || !f.Now().Equal(t0.Add(-time.Hour)) {
		t.Fatalf("Set backwards: fired %v, Now %v", ok, f.Now())
	}
	f.Set(t0.Add(time.Second))
	if _, ok := fired(ch); !ok {
		t.Fatal("timer did not fire at its deadline after the clock came back")
	}
	if got := f.Since(t0); got != time.Second {
		t.Errorf("Since(t0) = %v, want 1s", got)
	}
}

func TestBlockUntil(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Sleep(context.Background(), f, time.Minute) }()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil(1) with a sleeper: %v", err)
	}
	f.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Sleep after the clock passed its end: %v", err)
	}
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := f.BlockUntil(short, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil(1) with nothing waiting and a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestSleepCancelled(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Sleep(ctx, f, time.Minute) }()
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep cancelled = %v, want context.Canceled", err)
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d after a cancelled Sleep, want 0 (its timer stopped)", f.Waiters())
	}
	if err := Sleep(ctx, f, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) on a cancelled context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), f, -time.Second); err != nil {
		t.Errorf("Sleep(-1s) = %v, want nil", err)
	}
}

func TestRealSleeps(t *testing.T) {
	var c Clock = Real{}
	start := c.Now()
	if err := Sleep(context.Background(), c, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c.Since(start) < time.Millisecond {
		t.Errorf("Real Sleep(1ms) returned after %v", c.Since(start))
	}
}

func TestFakeAfterFunc(t *testing.T) {
	f := NewFake(t0)
	ran := make(chan time.Time, 2)
	f.AfterFunc(time.Second, func() { ran <- f.Now() })
	stopped := f.AfterFunc(time.Second, func() { ran <- time.Time{} })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending AfterFunc = false")
	}
	if f.Waiters() != 1 {
		t.Fatalf("Waiters = %d, want 1", f.Waiters())
	}
	f.Advance(time.Second)
	if at := <-ran; !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("AfterFunc ran at %v, want t0+1s", at)
	}
	f.Advance(time.Hour)
	select {
	case <-ran:
		t.Fatal("a stopped AfterFunc ran")
	default:
	}
}
