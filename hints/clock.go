package hints

import "time"

// Clock is the Queue's source of time, in the style of tailscale's
// tstime.Clock: real time in production, a fake in tests.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTicker returns a ticker that sends on the channel every d, and
	// the means to stop it.
	NewTicker(d time.Duration) (Ticker, <-chan time.Time)
}

// Ticker stops a ticker made by Clock.NewTicker.
type Ticker interface {
	Stop()
}

// realClock is the Clock used when Config.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) (Ticker, <-chan time.Time) {
	t := time.NewTicker(d)
	return t, t.C
}
