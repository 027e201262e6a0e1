package bench

import (
	"context"
	"time"
)

// pacer schedules one client's operations in an open-loop run: client i
// of c sends its k-th operation at origin + (i + k*c)/rate, so that the
// clients together send rate operations per second, evenly spaced. The
// schedule never adapts to the target: a client that fell behind sends
// its overdue operations at once, and their latency counts from when they
// were due.
type pacer struct {
	origin   time.Time
	offset   float64 // seconds: i/rate
	interval float64 // seconds: c/rate
	k        int64
	timer    *time.Timer
}

// newPacer returns client i's pacer, or nil for a closed loop (rate 0).
func newPacer(origin time.Time, rate float64, clients, i int) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{origin: origin, offset: float64(i) / rate, interval: float64(clients) / rate}
}

// next returns when the next operation is due.
func (p *pacer) next() time.Time {
	at := p.offset + float64(p.k)*p.interval
	p.k++
	return p.origin.Add(time.Duration(at * float64(time.Second)))
}

// wait sleeps until at; it returns false when ctx ended first.
func (p *pacer) wait(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return false
	case <-p.timer.C:
		return true
	}
}
