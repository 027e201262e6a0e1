package server

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// latencyWindow keeps a coarse histogram of recent request latencies (the
// last 5 to 10 s), cheap enough for every request: one atomic add. Buckets
// are powers of two of microseconds, so a quantile is exact to a factor of
// two, which is all that deciding to back off needs.
type latencyWindow struct {
	// windows[cur] receives observations; the other holds the previous
	// period. Observers racing a rotation may land in either: harmless.
	windows [2][64]atomic.Uint64
	cur     atomic.Int32

	mu      sync.Mutex // serialises rotations
	rotated time.Time
}

const latencyPeriod = 5 * time.Second

// minLatencySamples is the fewest observations for which recentP99 gives an
// answer; below it, a single slow request would decide.
const minLatencySamples = 50

func (w *latencyWindow) observe(d time.Duration) {
	w.windows[w.cur.Load()][bits.Len64(uint64(d/time.Microsecond))].Add(1)
}

// p99 returns the upper bound of the bucket holding the 99th percentile of
// the last one or two periods, or 0 with too few samples.
func (w *latencyWindow) p99(now time.Time) time.Duration {
	w.mu.Lock()
	if now.Sub(w.rotated) >= latencyPeriod {
		next := 1 - w.cur.Load()
		for i := range w.windows[next] {
			w.windows[next][i].Store(0)
		}
		w.cur.Store(next)
		w.rotated = now
	}
	w.mu.Unlock()
	var counts [64]uint64
	var total uint64
	for i := range counts {
		counts[i] = w.windows[0][i].Load() + w.windows[1][i].Load()
		total += counts[i]
	}
	if total < minLatencySamples {
		return 0
	}
	rank := total - total/100 // the 99th percentile's rank, 1-based
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return time.Duration(uint64(1)<<i) * time.Microsecond
		}
	}
	return 0
}
