package bench

import (
	"math"
	"math/bits"
	"time"
)

// The histogram's bucket layout, HdrHistogram-style (log-linear): values
// below subBuckets nanoseconds get a bucket each; above, every power of
// two [2^m, 2^(m+1)) is split into subBuckets linear buckets of width
// 2^(m-subBits). A bucket is thus at most 1/subBuckets (0.78%) of its
// lower bound wide, and reporting its midpoint is off by at most 0.39%.
const (
	subBits    = 7
	subBuckets = 1 << subBits
	// maxBits bounds the tracked range: 2^36 ns is about 68.7 s. Larger
	// values land in the last bucket (Max stays exact).
	maxBits    = 36
	numBuckets = subBuckets + (maxBits-subBits)*subBuckets
	// HistogramMax is the largest latency the histogram resolves within
	// its relative error bound; larger ones are counted in the last bucket.
	HistogramMax = time.Duration(1<<maxBits - 1)
)

// Histogram records latencies with a relative error below 1% (0.4% at
// most) from 1 ns up to HistogramMax (about 68 s), in fixed memory (about
// 30 KiB). Min, Max, Count and Mean are exact. The zero value is empty and
// ready to use. A Histogram is not safe for concurrent use.
type Histogram struct {
	counts   []int64 // allocated on first Record or Merge
	count    int64
	sum      float64 // nanoseconds; float so that long runs cannot overflow
	min, max time.Duration
}

// bucketOf returns the bucket index of v nanoseconds (v >= 0).
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	if v > uint64(HistogramMax) {
		v = uint64(HistogramMax)
	}
	m := bits.Len64(v) - 1 // v in [2^m, 2^(m+1)), m >= subBits
	shift := m - subBits
	sub := int(v>>shift) - subBuckets
	return subBuckets + shift*subBuckets + sub
}

// bucketRange returns the bucket's values [lo, hi).
func bucketRange(i int) (lo, hi uint64) {
	if i < subBuckets {
		return uint64(i), uint64(i) + 1
	}
	shift := (i - subBuckets) / subBuckets
	sub := uint64((i-subBuckets)%subBuckets) + subBuckets
	return sub << shift, (sub + 1) << shift
}

// Record adds one latency; a negative d counts as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	if h.counts == nil {
		h.counts = make([]int64, numBuckets)
	}
	h.counts[bucketOf(uint64(d))]++
	if h.count == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.count++
	h.sum += float64(d)
}

// Merge adds every latency recorded in o to h, as if h had recorded them.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]int64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.count += o.count
	h.sum += o.sum
}

// Reset empties h, keeping its memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.count, h.sum, h.min, h.max = 0, 0, 0, 0
}

// Count returns the number of recorded latencies.
func (h *Histogram) Count() int64 { return h.count }

// Min returns the smallest recorded latency, 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest recorded latency (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the recorded latencies (exact up to float
// rounding), 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.count)))
}

// Quantile returns the q-quantile (0 <= q <= 1) of the recorded latencies:
// the value of rank ceil(q*Count) in sorted order, within the histogram's
// relative error, and never outside [Min, Max]. Quantile(1) is Max and
// Quantile(0) is Min exactly. It returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := max(int64(math.Ceil(q*float64(h.count))), 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := time.Duration(lo + (hi-1-lo)/2)
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max // unreachable: the counts add up to count
}
