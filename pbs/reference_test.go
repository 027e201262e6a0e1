package pbs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// referencePredict is the dumb alternative to Predict: the model exactly
// as described, forwards in time, with no shortcut. It simulates all MaxK+1
// writes of the history from the first write's start, shuffles the
// replicas and stable-sorts them by response time, and asks each responder
// for the newest version it holds. It returns counts[delta][behind].
func referencePredict(cfg Config) [][]int64 {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	counts := make([][]int64, len(cfg.Deltas))
	for i := range counts {
		counts[i] = make([]int64, cfg.MaxK+1)
	}
	for range cfg.Trials {
		arrive, commit := referenceHistory(cfg, rng)
		rq, responders := referenceRead(cfg, rng)
		for di, d := range cfg.Deltas {
			newest := -1 // -1: holds none of the writes
			for _, i := range responders {
				for v := cfg.MaxK; v >= 0; v-- {
					if arrive[v][i] <= commit+d+rq[i] {
						newest = max(newest, v)
						break
					}
				}
			}
			counts[di][min(cfg.MaxK-newest, cfg.MaxK)]++
		}
	}
	return counts
}

// referenceHistory simulates MaxK+1 writes back to back and returns when
// each reached each replica, and when the last one committed.
func referenceHistory(cfg Config, rng *rand.Rand) (arrive [][]time.Duration, commit time.Duration) {
	n := cfg.Quorum.N
	arrive = make([][]time.Duration, cfg.MaxK+1)
	for v := range arrive {
		start := time.Duration(0)
		if v > 0 {
			start = commit + draw(cfg.Gap, rng)
		}
		arrive[v] = make([]time.Duration, n)
		acks := make([]time.Duration, n)
		for i := range n {
			w := draw(cfg.Legs.W, rng)
			arrive[v][i] = start + w
			acks[i] = start + w + draw(cfg.Legs.A, rng)
		}
		slices.Sort(acks)
		commit = acks[cfg.Quorum.W-1]
	}
	return arrive, commit
}

// referenceRead returns every replica's R_i and the R first responders.
func referenceRead(cfg Config, rng *rand.Rand) (rq []time.Duration, responders []int) {
	n := cfg.Quorum.N
	rq = make([]time.Duration, n)
	rs := make([]time.Duration, n)
	for i := range n {
		rq[i] = draw(cfg.Legs.R, rng)
		rs[i] = rq[i] + draw(cfg.Legs.S, rng)
	}
	order := rng.Perm(n)
	slices.SortStableFunc(order, func(a, b int) int { return int(rs[a] - rs[b]) })
	return rq, order[:cfg.Quorum.R]
}

// TestPredictMatchesReference compares Predict, which samples backwards
// and lazily, with the forward reference on random configurations: every
// Behind[k] at every delta must agree within Monte Carlo error.
func TestPredictMatchesReference(t *testing.T) {
	const configs, trials = 12, 10000
	var cfgs []Config
	for seed := range uint64(configs) {
		cfgs = append(cfgs, randomConfig(rand.New(rand.NewPCG(seed, 100)), trials))
	}
	// Configurations where old versions are often what a read returns, so
	// that the backwards sampling of the history is tested too.
	exp := func(d time.Duration) Exponential { return Exponential{Mean: d} }
	cfgs = append(cfgs,
		Config{Quorum: Quorum{5, 1, 1}, Legs: Legs{exp(2 * ms), Constant(0), Constant(0), Constant(0)},
			Deltas: []time.Duration{0, ms}, MaxK: 3},
		Config{Quorum: Quorum{3, 1, 2}, Legs: Legs{exp(5 * ms), exp(ms), Constant(0), exp(ms)},
			Gap: exp(ms), Deltas: []time.Duration{0, 2 * ms, 10 * ms}, MaxK: 4},
		Config{Quorum: Quorum{4, 2, 1}, Legs: Legs{exp(10 * ms), Constant(0), exp(ms), exp(ms)},
			Gap: Constant(ms), Deltas: []time.Duration{0, 5 * ms}, MaxK: 2},
	)
	for i, cfg := range cfgs {
		cfg.Trials, cfg.Seed = trials, uint64(i)
		p := mustPredict(t, cfg)
		ref := referencePredict(cfg)
		for di, pt := range p.Points {
			for k, got := range pt.Behind {
				want := float64(ref[di][k]) / trials
				tol := 5*math.Sqrt((got*(1-got)+want*(1-want))/trials) + 0.002
				if math.Abs(got-want) > tol {
					t.Errorf("config %d, seed %d (%v, MaxK %d): delta %v: Behind[%d] = %.4f, reference %.4f ± %.4f",
						i, cfg.Seed, cfg.Quorum, cfg.MaxK, pt.Delta, k, got, want, tol)
				}
			}
		}
	}
}
