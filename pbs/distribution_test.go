package pbs

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNewEmpiricalErrors(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		ok      bool
	}{
		{"nil", nil, false},
		{"empty", []time.Duration{}, false},
		{"negative", []time.Duration{ms, -1, ms}, false},
		{"one zero", []time.Duration{0}, true},
		{"several", []time.Duration{3 * ms, ms, 2 * ms, ms}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEmpirical(tt.samples)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("NewEmpirical(%v) = %v", tt.samples, err)
			case !tt.ok && (!errors.Is(err, ErrInvalid) || e != nil):
				t.Fatalf("NewEmpirical(%v) = %v, %v; want nil, ErrInvalid", tt.samples, e, err)
			case tt.ok && e.Len() != len(tt.samples):
				t.Errorf("Len() = %d, want %d", e.Len(), len(tt.samples))
			}
		})
	}
}

func TestEmpiricalCopiesSamples(t *testing.T) {
	samples := []time.Duration{ms, 2 * ms}
	e, err := NewEmpirical(samples)
	if err != nil {
		t.Fatal(err)
	}
	samples[0], samples[1] = time.Hour, time.Hour
	if got := e.Quantile(1); got != 2*ms {
		t.Errorf("after changing the caller's slice, Quantile(1) = %v, want 2ms", got)
	}
}

// TestEmpiricalResamplesObserved checks, over random sample sets, that
// every Sample is an observed value and that every observed value comes
// up about as often as it was observed.
func TestEmpiricalResamplesObserved(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 0))
		samples := make([]time.Duration, 1+rng.IntN(8))
		for i := range samples {
			samples[i] = time.Duration(rng.IntN(5)) * time.Microsecond
		}
		e, err := NewEmpirical(samples)
		if err != nil {
			t.Fatal(err)
		}
		const draws = 4000
		seen := map[time.Duration]int{}
		for range draws {
			s := e.Sample(rng)
			if !slices.Contains(samples, s) {
				t.Fatalf("seed %d: Sample() = %v, not among %v", seed, s, samples)
			}
			seen[s]++
		}
		for v, c := range seen {
			want := float64(count(samples, v)) / float64(len(samples))
			if got := float64(c) / draws; math.Abs(got-want) > 4*stdErr(want, draws)+1e-9 {
				t.Errorf("seed %d: %v drawn with frequency %.3f, want %.3f", seed, v, got, want)
			}
		}
	}
}

func count(xs []time.Duration, v time.Duration) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

func TestEmpiricalQuantile(t *testing.T) {
	e, err := NewEmpirical([]time.Duration{4 * ms, ms, 3 * ms, 2 * ms})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{-1, ms}, {0, ms}, {0.1, ms}, {0.25, ms}, {0.26, 2 * ms},
		{0.5, 2 * ms}, {0.75, 3 * ms}, {0.99, 4 * ms}, {1, 4 * ms}, {2, 4 * ms},
	}
	for _, tt := range tests {
		if got := e.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (&Empirical{}).Quantile(0.5); got != 0 {
		t.Errorf("zero Empirical: Quantile(0.5) = %v, want 0", got)
	}
}

func TestConstantAndExponential(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 0))
	if got := Constant(3 * ms).Sample(rng); got != 3*ms {
		t.Errorf("Constant(3ms).Sample = %v", got)
	}
	if got := (Exponential{}).Sample(rng); got != 0 {
		t.Errorf("Exponential{}.Sample = %v, want 0", got)
	}
	const draws = 20000
	var sum float64
	for range draws {
		d := Exponential{Mean: ms}.Sample(rng)
		if d < 0 {
			t.Fatalf("seed 8: negative exponential sample %v", d)
		}
		sum += float64(d)
	}
	// The standard deviation of an exponential equals its mean.
	if mean := sum / draws; math.Abs(mean-float64(ms)) > 4*float64(ms)/math.Sqrt(draws) {
		t.Errorf("seed 8: mean of %d samples = %v, want 1ms", draws, time.Duration(mean))
	}
}
