package bench

import (
	"sync/atomic"
	"time"
)

// TimelineStep is the width of one step of a run's timeline.
const TimelineStep = 100 * time.Millisecond

// Step counts the operations that completed within one TimelineStep of a
// run: OK succeeded (a get of a missing key included), Failed did not.
type Step struct {
	OK, Failed int64
}

// timeline counts completions per step of the measured part of a
// duration-bounded run; it is safe for concurrent use.
type timeline struct {
	start      time.Time
	ok, failed []atomic.Int64
}

func newTimeline(start time.Time, d time.Duration) *timeline {
	n := int(d/TimelineStep) + 1
	return &timeline{start: start, ok: make([]atomic.Int64, n), failed: make([]atomic.Int64, n)}
}

func (t *timeline) add(at time.Time, ok bool) {
	if t == nil {
		return
	}
	i := int(at.Sub(t.start) / TimelineStep)
	if i < 0 || i >= len(t.ok) {
		return
	}
	if ok {
		t.ok[i].Add(1)
	} else {
		t.failed[i].Add(1)
	}
}

func (t *timeline) steps(elapsed time.Duration) []Step {
	if t == nil {
		return nil
	}
	n := min(len(t.ok), int(elapsed/TimelineStep))
	out := make([]Step, n)
	for i := range out {
		out[i] = Step{OK: t.ok[i].Load(), Failed: t.failed[i].Load()}
	}
	return out
}

// LongestStall returns the longest stretch of whole timeline steps in
// which no operation succeeded, and when it began (from the start of the
// measured run): the availability figure of a failover run. A run without
// a timeline (bounded by Ops, not Duration) reports zero.
func (r *Result) LongestStall() (length, at time.Duration) {
	run, best, bestAt := 0, 0, 0
	for i, s := range r.Timeline {
		if s.OK > 0 {
			run = 0
			continue
		}
		run++
		if run > best {
			best, bestAt = run, i-run+1
		}
	}
	return time.Duration(best) * TimelineStep, time.Duration(bestAt) * TimelineStep
}
