package bench

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Layout of the underlying HdrHistogram: nanoseconds from 1 to
// HistogramMax at two significant digits, which HdrHistogram lays out as
// 128 linear sub-buckets per power of two: a recorded value is reported
// within 1/128 (0.78%) of itself, in about 30 KiB per histogram.
const (
	significantDigits = 2
	// HistogramMax is the largest latency the histogram resolves within
	// its relative error bound, about 68.7 s; larger ones are counted as
	// HistogramMax (Max stays exact).
	HistogramMax = time.Duration(1<<36 - 1)
)

// Histogram records latencies in an HdrHistogram
// (github.com/HdrHistogram/hdrhistogram-go) with a relative error below
// 1% from 1 ns up to HistogramMax. Min, Max, Count and Mean are kept
// exactly beside it, since HdrHistogram reports them only to its bucket
// resolution. The zero value is empty and ready to use; the HdrHistogram
// is allocated on first Record or Merge. A Histogram is not safe for
// concurrent use.
type Histogram struct {
	hdr      *hdrhistogram.Histogram
	sum      float64 // nanoseconds; float so that long runs cannot overflow
	min, max time.Duration
}

func (h *Histogram) init() {
	if h.hdr == nil {
		h.hdr = hdrhistogram.New(1, int64(HistogramMax), significantDigits)
	}
}

// Record adds one latency; a negative d counts as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.init()
	// In range by construction, so RecordValue cannot fail.
	_ = h.hdr.RecordValue(int64(min(d, HistogramMax)))
	if h.Count() == 1 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.sum += float64(d)
}

// Merge adds every latency recorded in o to h, as if h had recorded them.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count() == 0 {
		return
	}
	h.init()
	if h.Count() == 0 || o.min < h.min {
		h.min = o.min
	}
	h.hdr.Merge(o.hdr) // same layout: nothing is dropped
	h.max = max(h.max, o.max)
	h.sum += o.sum
}

// Reset empties h, keeping its memory.
func (h *Histogram) Reset() {
	if h.hdr != nil {
		h.hdr.Reset()
	}
	h.sum, h.min, h.max = 0, 0, 0
}

// Count returns the number of recorded latencies.
func (h *Histogram) Count() int64 {
	if h.hdr == nil {
		return 0
	}
	return h.hdr.TotalCount()
}

// Min returns the smallest recorded latency, 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest recorded latency (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the recorded latencies (exact up to float
// rounding), 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.Count())))
}

// Quantile returns the q-quantile (0 <= q <= 1) of the recorded latencies:
// HdrHistogram's value at rank round(q*Count) in sorted order (the top of
// its bucket, so within the relative error), never outside [Min, Max]. Quantile(1) is Max and
// Quantile(0) is Min exactly. It returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	switch {
	case h.Count() == 0:
		return 0
	case q <= 0:
		return h.min
	case q >= 1:
		return h.max
	}
	v := time.Duration(h.hdr.ValueAtQuantile(q * 100))
	return min(max(v, h.min), h.max)
}
