package repair

import (
	"context"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/pace"
)

// limiter paces exchanges by keys and bytes per second, each a pace.Pacer
// that may go into debt (a single large set is never refused, only
// followed by a proportionally longer pause); it implements Pacer and is
// safe for concurrent use.
type limiter struct {
	clk   clock.Clock
	keys  *pace.Pacer
	bytes *pace.Pacer

	mu     sync.Mutex
	waited time.Duration
}

func newLimiter(keysPerSec, bytesPerSec int, clk clock.Clock) *limiter {
	return &limiter{
		clk:   clk,
		keys:  pace.New(float64(keysPerSec), clk),
		bytes: pace.New(float64(bytesPerSec), clk),
	}
}

// Wait charges keys and bytes and sleeps off the longer of the two debts,
// or returns ctx's error.
func (l *limiter) Wait(ctx context.Context, keys, bytes int) error {
	d := max(l.keys.Reserve(keys), l.bytes.Reserve(bytes))
	l.mu.Lock()
	l.waited += d
	l.mu.Unlock()
	return clock.Sleep(ctx, l.clk, d)
}

// Waited returns the total time Wait has asked callers to sleep.
func (l *limiter) Waited() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waited
}
