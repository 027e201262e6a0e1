package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// maxRelErr is the documented error bound of Histogram quantiles.
const maxRelErr = 0.01

var quantiles = []float64{0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999}

// exactQuantile is the reference: the value of rank ceil(q*n) of sorted.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

// checkQuantiles compares h against the exact quantiles of samples.
func checkQuantiles(t *testing.T, h *Histogram, samples []time.Duration) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(samples))
	for _, q := range quantiles {
		want, got := exactQuantile(sorted, q), h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > maxRelErr {
			t.Errorf("Quantile(%v) = %v, want %v ±1%% (off by %.3f%%)", q, got, want, rel*100)
		}
	}
	if h.Max() != sorted[len(sorted)-1] || h.Quantile(1) != h.Max() {
		t.Errorf("Max = %v, Quantile(1) = %v, want exactly %v", h.Max(), h.Quantile(1), sorted[len(sorted)-1])
	}
	if h.Min() != sorted[0] || h.Quantile(0) != sorted[0] {
		t.Errorf("Min = %v, Quantile(0) = %v, want exactly %v", h.Min(), h.Quantile(0), sorted[0])
	}
	if h.Count() != int64(len(samples)) {
		t.Errorf("Count = %d, want %d", h.Count(), len(samples))
	}
}

func TestHistogramUniform(t *testing.T) {
	var h Histogram
	var samples []time.Duration
	for us := 1; us <= 10000; us++ {
		d := time.Duration(us) * time.Microsecond
		h.Record(d)
		samples = append(samples, d)
	}
	checkQuantiles(t, &h, samples)
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Errorf("Mean = %v, want %v", got, want)
	}
}

// TestHistogramRandom checks distributions spanning many magnitudes: an
// exponential and a log-uniform one from 1 µs to 60 s.
func TestHistogramRandom(t *testing.T) {
	const seed = 42
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dists := map[string]func() time.Duration{
		"exponential": func() time.Duration { return time.Duration(rng.ExpFloat64()*float64(time.Millisecond)) + 1 },
		"log-uniform": func() time.Duration {
			return time.Duration(math.Exp(rng.Float64()*math.Log(60e6)) * float64(time.Microsecond))
		},
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 50000)
			for i := range samples {
				samples[i] = draw()
				h.Record(samples[i])
			}
			checkQuantiles(t, &h, samples)
		})
	}
}

// TestHistogramEveryBucket records single values across the whole range
// and checks that each is reported within the bound.
func TestHistogramEveryBucket(t *testing.T) {
	for v := time.Duration(1); v <= HistogramMax; v = v*17/16 + 1 {
		var h Histogram
		h.Record(v)
		h.Record(HistogramMax) // so that Quantile(0.5) cannot be clamped to Max
		got := h.Quantile(0.5)
		if rel := math.Abs(float64(got-v)) / float64(v); rel > maxRelErr {
			t.Fatalf("Quantile(0.5) of {%v, max} = %v, off by %.3f%%", v, got, rel*100)
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0))
	var all, a, b Histogram
	for i := range 20000 {
		d := time.Duration(rng.Int64N(int64(time.Second)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var empty Histogram
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Errorf("merged count/min/max/mean = %d/%v/%v/%v, want %d/%v/%v/%v", a.Count(), a.Min(), a.Max(), a.Mean(),
			all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range quantiles {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	empty.Merge(&all)
	if empty.Quantile(0.5) != all.Quantile(0.5) || empty.Min() != all.Min() {
		t.Errorf("merge into empty: p50 %v min %v, want %v %v", empty.Quantile(0.5), empty.Min(), all.Quantile(0.5), all.Min())
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 || h.Count() != 0 {
		t.Errorf("empty histogram: p50 %v mean %v max %v count %d, want zeros", h.Quantile(0.5), h.Mean(), h.Max(), h.Count())
	}
	h.Record(-time.Second)
	h.Record(2 * time.Minute) // beyond the tracked range: clamped bucket, exact max
	if h.Min() != 0 || h.Max() != 2*time.Minute {
		t.Errorf("min %v max %v, want 0 and 2m", h.Min(), h.Max())
	}
	if got := h.Quantile(0.9); got > 2*time.Minute || got < HistogramMax*99/100 {
		t.Errorf("Quantile(0.9) = %v, want the top bucket", got)
	}
	h.Reset()
	if h.Count() != 0 || h.Quantile(0.5) != 0 {
		t.Errorf("after Reset: count %d p50 %v", h.Count(), h.Quantile(0.5))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i))
	}
}
