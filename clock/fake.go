package clock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only by Advance and Set, for tests
// that step time instead of sleeping. It is safe for concurrent use.
//
// A fake timer or ticker fires from inside Advance or Set, by a send that
// never blocks on a channel that holds one value, as real ones do: like a
// real ticker whose receiver is slow, a ticker whose period passes several
// times in one Advance sends one tick, then keeps its period from the
// latest deadline passed.
type Fake struct {
	mu    sync.Mutex
	now   time.Time
	armed map[*fakeTimer]struct{}
	// changed is closed, and replaced, whenever a timer is armed or
	// disarmed, to wake BlockUntil.
	changed chan struct{}
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, armed: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns the fake time elapsed since t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// NewTimer returns a timer that fires once the fake time reaches Now()+d;
// with d <= 0 it has fired already.
func (f *Fake) NewTimer(d time.Duration) (Timer, <-chan time.Time) {
	t := &fakeTimer{f: f, ch: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t, t.ch
}

// AfterFunc returns a timer that, once the fake time reaches Now()+d,
// starts f on its own goroutine.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// NewTicker returns a ticker that fires every d of fake time. It panics
// if d <= 0, as time.NewTicker does.
func (f *Fake) NewTicker(d time.Duration) (Ticker, <-chan time.Time) {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{f: f, ch: make(chan time.Time, 1), period: d}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return (*fakeTicker)(t), t.ch
}

// Advance moves the fake time forward by d, firing what falls due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moveTo(f.now.Add(d))
}

// Set moves the fake time to t, firing what falls due on the way. Set to
// an earlier time moves the clock back and fires nothing; armed timers
// keep their deadlines.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moveTo(t)
}

// Waiters returns how many timers and tickers are armed: made and neither
// fired (timers) nor stopped.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.armed)
}

// BlockUntil waits until at least n timers and tickers are armed, so that
// a test steps time only once the code under test waits on it. It returns
// an error wrapping ctx's when ctx ends first.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		armed, changed := len(f.armed), f.changed
		f.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("clock: %d timers waiting, want %d: %w", armed, n, ctx.Err())
		}
	}
}

// moveTo fires, in deadline order, every armed timer due by t, then sets
// the time to t. f.mu is held.
func (f *Fake) moveTo(t time.Time) {
	for {
		next := f.earliest()
		if next == nil || next.when.After(t) {
			break
		}
		f.now = next.when
		next.fire(next.when)
		if next.period == 0 {
			f.disarm(next)
			continue
		}
		next.when = next.when.Add(next.period)
		if !next.when.After(t) {
			// Skip the ticks a slow receiver would miss anyway.
			skip := t.Sub(next.when)/next.period + 1
			next.when = next.when.Add(skip * next.period)
		}
	}
	f.now = t
}

func (f *Fake) earliest() *fakeTimer {
	var first *fakeTimer
	for t := range f.armed {
		if first == nil || t.when.Before(first.when) {
			first = t
		}
	}
	return first
}

// arm sets t to fire after d, or fires it now if d <= 0 and it is a
// timer. f.mu is held.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	if d <= 0 && t.period == 0 {
		t.fire(f.now)
		f.disarm(t)
		return
	}
	t.when = f.now.Add(d)
	if _, ok := f.armed[t]; !ok {
		f.armed[t] = struct{}{}
		f.notify()
	}
}

// disarm reports whether t was armed. f.mu is held.
func (f *Fake) disarm(t *fakeTimer) bool {
	if _, ok := f.armed[t]; !ok {
		return false
	}
	delete(f.armed, t)
	f.notify()
	return true
}

func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// send delivers v unless the channel already holds a value.
func send(ch chan time.Time, v time.Time) {
	select {
	case ch <- v:
	default:
	}
}

// drain removes a value not yet received, so none is stale after Stop or
// Reset. A nil channel (AfterFunc) holds none.
func drain(ch chan time.Time) {
	if ch == nil {
		return
	}
	select {
	case <-ch:
	default:
	}
}

// fakeTimer is a timer of a Fake, a ticker when period > 0, or an
// AfterFunc timer when fn is set (and ch nil).
type fakeTimer struct {
	f      *Fake
	ch     chan time.Time
	fn     func()
	when   time.Time
	period time.Duration
}

// fire sends v, or starts fn.
func (t *fakeTimer) fire(v time.Time) {
	if t.fn != nil {
		go t.fn()
		return
	}
	send(t.ch, v)
}

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	drain(t.ch)
	return t.f.disarm(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	drain(t.ch)
	_, active := t.f.armed[t]
	t.f.arm(t, d)
	return active
}

// fakeTicker is a fakeTimer seen as a Ticker.
type fakeTicker fakeTimer

func (t *fakeTicker) Stop() { (*fakeTimer)(t).Stop() }

func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	drain(t.ch)
	t.period = d
	t.f.arm((*fakeTimer)(t), d)
}
