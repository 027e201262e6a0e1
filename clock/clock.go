package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers. Real is the production Clock;
// Fake moves only when a test says.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t.
	Since(t time.Time) time.Duration
	// NewTimer returns a timer that sends the time on its channel once,
	// after d, and the channel.
	NewTimer(d time.Duration) (Timer, <-chan time.Time)
	// NewTicker returns a ticker that sends the time on its channel every
	// d, and the channel. It panics if d <= 0, as time.NewTicker does.
	NewTicker(d time.Duration) (Ticker, <-chan time.Time)
	// AfterFunc runs f on its own goroutine once d has passed, unless the
	// returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer controls a timer made by Clock.NewTimer. As with time.Timer since
// Go 1.23, no stale value is received from its channel after Stop or
// Reset returns.
type Timer interface {
	// Stop prevents the timer from firing. It reports whether it stopped
	// the timer, false if the timer had already fired or been stopped.
	Stop() bool
	// Reset changes the timer to fire after d. It reports whether the
	// timer had been active.
	Reset(d time.Duration) bool
}

// Ticker controls a ticker made by Clock.NewTicker.
type Ticker interface {
	// Stop turns the ticker off; no more ticks are sent.
	Stop()
	// Reset stops the ticker and resets its period to d.
	Reset(d time.Duration)
}

// Real is the Clock of the standard library's time. Its zero value is
// ready to use; a nil Clock in a Config means Real.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Since returns time.Since(t).
func (Real) Since(t time.Time) time.Duration { return time.Since(t) }

// NewTimer returns a time.Timer and its channel.
func (Real) NewTimer(d time.Duration) (Timer, <-chan time.Time) {
	t := time.NewTimer(d)
	return t, t.C
}

// NewTicker returns a time.Ticker and its channel.
func (Real) NewTicker(d time.Duration) (Ticker, <-chan time.Time) {
	t := time.NewTicker(d)
	return t, t.C
}

// AfterFunc returns time.AfterFunc(d, f).
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Sleep waits d on c, or until ctx ends. It returns nil after a full
// wait and ctx's error otherwise; with d <= 0 it returns ctx.Err() at
// once, so a cancelled caller never proceeds as if it had waited.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t, ch := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
