package pbs

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Distribution is the delay distribution of one leg of the WARS model.
//
// Sample must return a non-negative delay drawn with r only (so that a
// seeded Predict is repeatable); a negative sample counts as zero. Predict
// calls Sample from a single goroutine.
type Distribution interface {
	Sample(r *rand.Rand) time.Duration
}

// Constant is a delay that is always the same value.
type Constant time.Duration

// Sample returns c.
func (c Constant) Sample(*rand.Rand) time.Duration { return time.Duration(c) }

// Exponential is an exponentially distributed delay with the given mean.
// A zero Mean is always zero.
type Exponential struct {
	Mean time.Duration
}

// Sample returns an exponential delay with mean e.Mean, rounded down to
// the nanosecond.
func (e Exponential) Sample(r *rand.Rand) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(e.Mean))
}

// Empirical resamples observed delays: each Sample is one of the
// observations, chosen uniformly (with replacement). It is immutable, so
// one Empirical may serve several legs and several goroutines. Build it
// with NewEmpirical: the zero Empirical has no observations, and Config
// rejects it.
type Empirical struct {
	sorted []time.Duration
}

// NewEmpirical returns the empirical distribution of samples, which it
// copies. It fails, wrapping ErrInvalid, when samples is empty or holds a
// negative delay.
func NewEmpirical(samples []time.Duration) (*Empirical, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("%w: empirical distribution needs at least one sample", ErrInvalid)
	}
	for i, s := range samples {
		if s < 0 {
			return nil, fmt.Errorf("%w: empirical sample %d is negative (%v)", ErrInvalid, i, s)
		}
	}
	return &Empirical{sorted: slices.Sorted(slices.Values(samples))}, nil
}

// Sample returns one of the observed delays, uniformly at random.
func (e *Empirical) Sample(r *rand.Rand) time.Duration {
	return e.sorted[r.IntN(len(e.sorted))]
}

// Len returns the number of observed delays.
func (e *Empirical) Len() int { return len(e.sorted) }

// Quantile returns the q-quantile (0 <= q <= 1) of the observed delays:
// the observation of rank ceil(q*Len) in sorted order, the smallest one for
// q <= 0 and the largest for q >= 1. It is always an observed value.
func (e *Empirical) Quantile(q float64) time.Duration {
	n := len(e.sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(n)))
	return e.sorted[min(max(rank, 1), n)-1]
}

// checkDistribution reports a distribution that cannot be sampled or that
// would yield negative delays, for the types this package knows. Other
// implementations are trusted (their negative samples count as zero).
func checkDistribution(d Distribution) error {
	switch d := d.(type) {
	case nil:
		return errors.New("is required")
	case Constant:
		if d < 0 {
			return fmt.Errorf("Constant(%v) is negative", time.Duration(d))
		}
	case Exponential:
		if d.Mean < 0 {
			return fmt.Errorf("Exponential mean %v is negative", d.Mean)
		}
	case *Empirical:
		if d == nil || d.Len() == 0 {
			return errors.New("Empirical has no samples (use NewEmpirical)")
		}
	}
	return nil
}
