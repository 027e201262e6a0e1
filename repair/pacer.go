package repair

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket refilled at rate tokens per second, holding at
// most one second's worth. A charge larger than what the bucket holds is
// allowed and leaves it in debt, so a single large item is never refused,
// only followed by a proportionally longer pause.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

// reserve takes n tokens and returns how long to wait before the work
// they pay for may start.
func (b *bucket) reserve(now time.Time, n int) time.Duration {
	if b.rate <= 0 || n <= 0 {
		return 0
	}
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// limiter paces exchanges by keys and bytes per second; it implements
// Pacer and is safe for concurrent use.
type limiter struct {
	mu     sync.Mutex
	keys   bucket
	bytes  bucket
	waited time.Duration
}

func newLimiter(keysPerSec, bytesPerSec int, now time.Time) *limiter {
	return &limiter{
		keys:  bucket{rate: float64(keysPerSec), tokens: float64(keysPerSec), last: now},
		bytes: bucket{rate: float64(bytesPerSec), tokens: float64(bytesPerSec), last: now},
	}
}

// Wait charges keys and bytes and sleeps off any debt, or returns ctx's
// error.
func (l *limiter) Wait(ctx context.Context, keys, bytes int) error {
	l.mu.Lock()
	now := time.Now()
	d := max(l.keys.reserve(now, keys), l.bytes.reserve(now, bytes))
	l.waited += d
	l.mu.Unlock()
	return sleep(ctx, d)
}

// Waited returns the total time Wait has asked callers to sleep.
func (l *limiter) Waited() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waited
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
