package hints

import "time"

// Stats is a snapshot of a Queue's metrics.
type Stats struct {
	// Queued and QueuedBytes are the hints and payload bytes waiting now.
	Queued      int
	QueuedBytes int64
	// Delivered counts hints acknowledged by their owner since New.
	Delivered uint64
	// DroppedAge, DroppedFull and DroppedCorrupt count hints given up
	// since New: expired (MaxAge), refused by Add (MaxBytes), and stored
	// payloads that did not decode.
	DroppedAge     uint64
	DroppedFull    uint64
	DroppedCorrupt uint64
	// OldestAge is the age of the oldest queued hint, or 0. It is an upper
	// bound, refreshed whenever a delivery removes the oldest hints.
	OldestAge time.Duration
	// Targets holds per-target figures for each target with hints queued
	// or a failed last delivery.
	Targets map[string]TargetStats
}

// TargetStats are the metrics of one target.
type TargetStats struct {
	Queued      int
	QueuedBytes int64
	Delivered   uint64
	OldestAge   time.Duration
	// LastError is the error of the last delivery attempt, nil if it
	// succeeded. RetryAt is when the target's backoff ends.
	LastError error
	RetryAt   time.Time
}

// Stats returns the Queue's current metrics.
func (q *Queue) Stats() Stats {
	now := q.cfg.Clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Stats{
		Queued: q.count, QueuedBytes: q.bytes, Delivered: q.delivered,
		DroppedAge:     q.dropped[dropAge],
		DroppedFull:    q.dropped[dropFull],
		DroppedCorrupt: q.dropped[dropCorrupt],
		Targets:        make(map[string]TargetStats),
	}
	for name, t := range q.targets {
		if t.count == 0 && t.lastErr == nil {
			continue
		}
		ts := TargetStats{Queued: t.count, QueuedBytes: t.bytes, Delivered: t.delivered,
			LastError: t.lastErr, RetryAt: t.retryAt}
		if t.count > 0 {
			ts.OldestAge = max(now.Sub(t.oldest), 0)
			s.OldestAge = max(s.OldestAge, ts.OldestAge)
		}
		s.Targets[name] = ts
	}
	return s
}
