package pbs

import (
	"math/rand/v2"
	"time"
)

// Point is the prediction for reads that start Delta after a write
// commits.
type Point struct {
	// Delta is the time from the write's commit to the read's start.
	Delta time.Duration
	// Consistent is the probability that the read returns the latest
	// committed write.
	Consistent float64
	// Behind[k] is the probability that the read returns the version
	// exactly k versions older than the latest committed one, for
	// k < MaxK; Behind[MaxK] lumps "MaxK or more", including reads that
	// find none of the tracked versions. Behind[0] == Consistent, and the
	// entries sum to 1 up to float rounding.
	Behind []float64
}

// Prediction is the result of Predict.
type Prediction struct {
	// Quorum is the predicted configuration.
	Quorum Quorum
	// Trials is the number of Monte Carlo trials behind every Point.
	Trials int
	// Points has one entry per Config.Deltas, in that order.
	Points []Point
}

// pcgStream is the second word of the PCG seed; the first is Config.Seed.
const pcgStream = 0x9e3779b97f4a7c15

// Predict runs the WARS Monte Carlo simulation that cfg describes (see the
// package comment) and returns one Point per delta. Zero fields of cfg take
// their defaults; an invalid cfg yields an error wrapping ErrInvalid.
//
// Predict is deterministic: the same cfg yields the same Prediction. It
// runs Trials trials on the calling goroutine and reuses every trial's
// delays for every delta.
func Predict(cfg Config) (*Prediction, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := newSim(cfg, rand.New(rand.NewPCG(cfg.Seed, pcgStream)))
	for range cfg.Trials {
		s.trial()
	}
	return s.prediction(cfg), nil
}

// TVisibility returns the smallest delta among the predicted points at
// which a read is consistent with probability at least p, and false if no
// point reaches p.
func (pr *Prediction) TVisibility(p float64) (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, pt := range pr.Points {
		if pt.Consistent >= p && (!found || pt.Delta < best) {
			best, found = pt.Delta, true
		}
	}
	return best, found
}
