package server

import (
	"math"
	"testing"
	"time"
)

func sampleAt(t0 time.Time, sec float64, gets, puts uint64, putLat []uint64) counterSample {
	s := counterSample{At: t0.Add(time.Duration(sec * float64(time.Second)))}
	s.Counts[rateGets], s.Counts[ratePuts] = gets, puts
	s.Counts[rateReadRepairs] = gets / 10
	s.Latency[latPut] = putLat
	return s
}

func TestRateSamplerRates(t *testing.T) {
	bounds := []float64{0.001, 0.01, 0.1}
	t0 := time.Unix(1000, 0)
	r := newRateSampler(10*time.Second, 500*time.Millisecond, bounds)
	if got := r.add(sampleAt(t0, 0, 100, 50, []uint64{0, 0, 0, 0})); !got.Warming || got.Gets != 0 {
		t.Fatalf("first sample: %+v, want warming and no rates", got)
	}
	// 2 s later: 200 more gets, 40 more puts, all puts in (1 ms, 10 ms].
	got := r.add(sampleAt(t0, 2, 300, 90, []uint64{0, 40, 0, 0}))
	if got.Warming || got.WindowMS != 2000 || got.Gets != 100 || got.Puts != 20 || got.ReadRepairs != 10 {
		t.Fatalf("after 2 s: %+v, want 100 gets/s, 20 puts/s, 10 read repairs/s over 2000 ms", got)
	}
	// The 99th of 40 in one bucket (1, 10] ms: 1 + 9 × 39.6/40.
	if want := 1 + 9*39.6/40; math.Abs(got.PutP99MS-want) > 1e-9 {
		t.Fatalf("put p99 %v ms, want %v", got.PutP99MS, want)
	}
	if got.GetP99MS != 0 {
		t.Fatalf("get p99 %v with no get latencies, want 0", got.GetP99MS)
	}
	// A poll 100 ms later is compared with the first sample but not kept.
	got = r.add(sampleAt(t0, 2.1, 300, 90, []uint64{0, 40, 0, 0}))
	if got.WindowMS != 2100 || len(r.samples) != 2 {
		t.Fatalf("close poll: window %v ms, %d samples kept; want 2100 ms, 2", got.WindowMS, len(r.samples))
	}
	// At 13 s the window (10 s) drops the sample at 0 and starts at 2 s.
	got = r.add(sampleAt(t0, 13, 1400, 90, []uint64{0, 40, 0, 0}))
	if got.WindowMS != 11000 || got.Gets != 100 || got.Puts != 0 {
		t.Fatalf("at 13 s: %+v, want the rates since 2 s (100 gets/s, no puts) over 11000 ms", got)
	}
	// After a long pause the newest old sample is the base.
	got = r.add(sampleAt(t0, 73, 7400, 90, []uint64{0, 40, 0, 0}))
	if got.WindowMS != 60000 || got.Gets != 100 {
		t.Fatalf("after a 60 s pause: %+v, want 100 gets/s over 60000 ms", got)
	}
}

func TestRateSamplerCounterBackwards(t *testing.T) {
	t0 := time.Unix(0, 0)
	r := newRateSampler(10*time.Second, 0, []float64{1})
	r.add(sampleAt(t0, 0, 100, 0, []uint64{5, 0}))
	got := r.add(sampleAt(t0, 1, 50, 0, []uint64{1, 0}))
	if got.Gets != 0 || got.PutP99MS != 0 {
		t.Fatalf("counters that went back: %+v, want zero rates", got)
	}
	// The same instant twice: no division by zero.
	got = r.add(sampleAt(t0, 1, 60, 0, nil))
	if math.IsNaN(got.Gets) || math.IsInf(got.Gets, 0) {
		t.Fatalf("same instant: gets %v", got.Gets)
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	tests := []struct {
		counts []uint64
		q      float64
		want   float64
	}{
		{[]uint64{0, 0, 0, 0}, 0.99, 0},
		{[]uint64{100, 0, 0, 0}, 0.99, 0.99},
		{[]uint64{99, 1, 0, 0}, 0.99, 1},     // rank 99 ends the first bucket
		{[]uint64{98, 2, 0, 0}, 0.99, 1.5},   // halfway into (1, 2]
		{[]uint64{0, 0, 0, 10}, 0.99, 4},     // +Inf: the largest bound
		{[]uint64{50, 0, 50, 0}, 0.5, 1},     // the median ends the first bucket
		{[]uint64{50, 0, 50, 0}, 0.99, 3.96}, // skips the empty bucket
	}
	for _, tt := range tests {
		if got := quantile(tt.q, bounds, tt.counts); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v, %v) = %v, want %v", tt.q, tt.counts, got, tt.want)
		}
	}
}
