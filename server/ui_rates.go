package server

import (
	"math"
	"sync"
	"time"
)

// The counters a node's dashboard summary turns into rates; their index in
// counterSample.Counts.
const (
	rateGets = iota
	ratePuts
	rateDeletes
	rateErrors // client requests that failed, any op
	rateSloppy
	rateReadRepairs
	rateHinted
	rateQuorumFailures
	numRates
)

// Latency histograms kept per op for the p99s; their index in
// counterSample.Latency.
const (
	latGet = iota
	latPut
	numLat
)

// counterSample is a snapshot of cumulative counters at one instant.
// Latency holds, per op, the non-cumulative count of each bucket of a
// histogram whose upper bounds are rateSampler.bounds (plus +Inf last).
type counterSample struct {
	At      time.Time
	Counts  [numRates]uint64
	Latency [numLat][]uint64
}

// uiRates are rates and tail latencies over the window between two
// samples. Warming is set, and every figure zero, until a second sample
// exists: a rate needs two points.
type uiRates struct {
	Warming  bool    `json:"warming"`
	WindowMS float64 `json:"window_ms"`
	// Per second over the window.
	Gets           float64 `json:"gets_per_sec"`
	Puts           float64 `json:"puts_per_sec"`
	Deletes        float64 `json:"deletes_per_sec"`
	Errors         float64 `json:"errors_per_sec"`
	Sloppy         float64 `json:"sloppy_per_sec"`
	ReadRepairs    float64 `json:"read_repairs_per_sec"`
	Hinted         float64 `json:"hinted_per_sec"`
	QuorumFailures float64 `json:"quorum_failures_per_sec"`
	// P99 of the requests of the window, in milliseconds, interpolated
	// inside the histogram bucket as Prometheus's histogram_quantile does;
	// 0 when the window had none.
	GetP99MS float64 `json:"get_p99_ms"`
	PutP99MS float64 `json:"put_p99_ms"`
}

// rateSampler turns snapshots of cumulative counters into rates over a
// sliding window. It is pure: the caller passes each sample's time, so
// tests drive it with made-up instants. Samples are taken when someone
// asks (a dashboard polls every 1-2 s), not by a ticker, so an idle node
// with no dashboard open does no work for it.
type rateSampler struct {
	// window is how far back rates reach when samples are that dense; a
	// longer gap between polls gives the average over that gap.
	window time.Duration
	// minGap: a sample closer than this to the last one kept is compared
	// with the history but not kept, so many viewers polling at once do
	// not shrink the window to a few milliseconds.
	minGap time.Duration
	// bounds are the latency buckets' upper bounds, in seconds.
	bounds []float64

	mu      sync.Mutex
	samples []counterSample // oldest first
}

func newRateSampler(window, minGap time.Duration, bounds []float64) *rateSampler {
	return &rateSampler{window: window, minGap: minGap, bounds: bounds}
}

// add records s and returns the rates from the oldest sample within the
// window (or, when none is, the newest before it) to s.
func (r *rateSampler) add(s counterSample) uiRates {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Drop samples that are not the newest and older than the window: the
	// newest older one stays as the base of a poll after a long pause.
	cut := 0
	for cut+1 < len(r.samples) && s.At.Sub(r.samples[cut+1].At) >= r.window {
		cut++
	}
	r.samples = r.samples[cut:]
	var out uiRates
	if len(r.samples) == 0 || !s.At.After(r.samples[0].At) {
		out.Warming = true
	} else {
		out = r.between(r.samples[0], s)
	}
	if n := len(r.samples); n == 0 || s.At.Sub(r.samples[n-1].At) >= r.minGap {
		r.samples = append(r.samples, s)
	}
	return out
}

func (r *rateSampler) between(a, b counterSample) uiRates {
	el := b.At.Sub(a.At).Seconds()
	rate := func(i int) float64 { return float64(delta(b.Counts[i], a.Counts[i])) / el }
	return uiRates{
		WindowMS: el * 1000,
		Gets:     rate(rateGets), Puts: rate(ratePuts), Deletes: rate(rateDeletes),
		Errors: rate(rateErrors), Sloppy: rate(rateSloppy), ReadRepairs: rate(rateReadRepairs),
		Hinted: rate(rateHinted), QuorumFailures: rate(rateQuorumFailures),
		GetP99MS: 1000 * quantile(0.99, r.bounds, bucketDeltas(b.Latency[latGet], a.Latency[latGet])),
		PutP99MS: 1000 * quantile(0.99, r.bounds, bucketDeltas(b.Latency[latPut], a.Latency[latPut])),
	}
}

// delta is cur - prev, or 0 when the counter went back (a restart of its
// source would; within one process none does).
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}

func bucketDeltas(cur, prev []uint64) []uint64 {
	out := make([]uint64, len(cur))
	for i := range cur {
		var p uint64
		if i < len(prev) {
			p = prev[i]
		}
		out[i] = delta(cur[i], p)
	}
	return out
}

// quantile returns the q-quantile, in the bounds' unit, of a histogram
// whose bucket i counts observations in (bounds[i-1], bounds[i]] and whose
// last bucket (index len(bounds)) is +Inf. Inside a bucket it interpolates
// linearly; a quantile in the +Inf bucket is the largest finite bound. An
// empty histogram gives 0.
func quantile(q float64, bounds []float64, counts []uint64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen uint64
	for i, c := range counts {
		if float64(seen+c) < rank || c == 0 {
			seen += c
			continue
		}
		if i >= len(bounds) {
			return bounds[len(bounds)-1]
		}
		lo := 0.0
		if i > 0 {
			lo = bounds[i-1]
		}
		return lo + (bounds[i]-lo)*(rank-float64(seen))/float64(c)
	}
	return bounds[len(bounds)-1]
}

// roundTo rounds f to d decimals, so the JSON a dashboard polls every
// second does not carry 17 digits of noise.
func roundTo(f float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(f*p) / p
}
