package pbs

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

// stdErr is the standard error of a Monte Carlo probability estimate.
func stdErr(p float64, trials int) float64 {
	return math.Sqrt(p * (1 - p) / float64(trials))
}

// mustPredict runs Predict and fails the test on error.
func mustPredict(t testing.TB, cfg Config) *Prediction {
	t.Helper()
	p, err := Predict(cfg)
	if err != nil {
		t.Fatalf("Predict(%v, seed %d): %v", cfg.Quorum, cfg.Seed, err)
	}
	return p
}

// allQuorums returns every valid quorum with N in 1..maxN.
func allQuorums(maxN int) []Quorum {
	var qs []Quorum
	for n := 1; n <= maxN; n++ {
		for r := 1; r <= n; r++ {
			for w := 1; w <= n; w++ {
				qs = append(qs, Quorum{N: n, R: r, W: w})
			}
		}
	}
	return qs
}

// TestPredictMatchesClosedForm is the acceptance test: with instant acks,
// read requests and responses, a read at the commit finds the write only
// on the write quorum, and the read quorum is uniformly random (ties
// broken at random), so staleness is C(N-W,R)/C(N,R).
func TestPredictMatchesClosedForm(t *testing.T) {
	const trials, seed = 200000, 42
	zero := Constant(0)
	for _, q := range allQuorums(5) {
		t.Run(q.String(), func(t *testing.T) {
			t.Parallel() // 11M trials in all: use every core
			cfg := Config{
				Quorum: q,
				Legs:   Legs{W: Exponential{Mean: ms}, A: zero, R: zero, S: zero},
				Deltas: []time.Duration{0},
				Trials: trials,
				Seed:   seed,
				MaxK:   1, // only Consistent matters here; more would only cost time
			}
			stale := 1 - mustPredict(t, cfg).Points[0].Consistent
			want := ClosedForm(q)
			if tol := 4*stdErr(stale, trials) + 0.002; math.Abs(stale-want) > tol {
				t.Errorf("seed %d: P(stale) = %.5f, want ClosedForm %.5f ± %.5f", seed, stale, want, tol)
			}
		})
	}
}

// TestPredictHandComputed checks cases small enough to work out by hand.
// W is 0 or 10ms with probability 1/2 each, N=2 R=1 W=1: when both
// replicas draw the same W every replica holds the write at commit; when
// they differ (probability 1/2) the write commits at 0 and only the fast
// replica holds it until 10ms, so a read that reaches a random replica
// before 10ms is consistent with probability 1/2: 3/4 in all.
func TestPredictHandComputed(t *testing.T) {
	twoPoint, err := NewEmpirical([]time.Duration{0, 10 * ms})
	if err != nil {
		t.Fatal(err)
	}
	zero := Constant(0)
	tests := []struct {
		name  string
		q     Quorum
		legs  Legs
		delta time.Duration
		want  float64
	}{
		{"at commit", Quorum{2, 1, 1}, Legs{twoPoint, zero, zero, zero}, 0, 0.75},
		{"before the slow write", Quorum{2, 1, 1}, Legs{twoPoint, zero, zero, zero}, 9 * ms, 0.75},
		{"after the slow write", Quorum{2, 1, 1}, Legs{twoPoint, zero, zero, zero}, 10 * ms, 1},
		{"slow read request", Quorum{2, 1, 1}, Legs{twoPoint, zero, Constant(10 * ms), zero}, 0, 1},
		{"half-slow read request", Quorum{2, 1, 1}, Legs{twoPoint, zero, Constant(5 * ms), zero}, 0, 0.75},
		{"slow ack", Quorum{2, 1, 1}, Legs{twoPoint, Constant(10 * ms), zero, zero}, 0, 1},
		{"read both", Quorum{2, 2, 1}, Legs{twoPoint, zero, zero, zero}, 0, 1},
		{"write both", Quorum{2, 1, 2}, Legs{twoPoint, zero, zero, zero}, 0, 1},
		{"constant", Quorum{5, 1, 1}, Legs{Constant(ms), zero, zero, zero}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Quorum: tt.q, Legs: tt.legs, Deltas: []time.Duration{tt.delta}, Trials: 20000, Seed: 7}
			got := mustPredict(t, cfg).Points[0].Consistent
			if tol := 4*stdErr(tt.want, cfg.Trials) + 1e-12; math.Abs(got-tt.want) > tol {
				t.Errorf("seed %d: Consistent = %.4f, want %.4f ± %.4f", cfg.Seed, got, tt.want, tol)
			}
		})
	}
}

// pareto is a heavy-tailed Distribution that is none of the package's
// types, so that property tests also exercise the generic path.
type pareto struct {
	min   time.Duration
	alpha float64
}

func (p pareto) Sample(r *rand.Rand) time.Duration {
	return time.Duration(float64(p.min) / math.Pow(1-r.Float64(), 1/p.alpha))
}

// randomDistribution returns one of several distributions with random
// parameters, zero delays (ties) included.
func randomDistribution(rng *rand.Rand) Distribution {
	switch rng.IntN(5) {
	case 0:
		return Constant(time.Duration(rng.IntN(3)) * ms)
	case 1:
		return Exponential{Mean: time.Duration(rng.Int64N(int64(5 * ms)))}
	case 2:
		samples := make([]time.Duration, 1+rng.IntN(6))
		for i := range samples {
			samples[i] = time.Duration(rng.IntN(4)) * ms
		}
		e, err := NewEmpirical(samples)
		if err != nil {
			panic(err)
		}
		return e
	case 3:
		return pareto{min: time.Duration(1+rng.IntN(1000)) * time.Microsecond, alpha: 1 + 2*rng.Float64()}
	default:
		return Exponential{Mean: 20 * ms}
	}
}

// randomConfig returns a small random configuration with sorted deltas.
func randomConfig(rng *rand.Rand, trials int) Config {
	n := 1 + rng.IntN(6)
	cfg := Config{
		Quorum: Quorum{N: n, R: 1 + rng.IntN(n), W: 1 + rng.IntN(n)},
		Legs: Legs{
			W: randomDistribution(rng), A: randomDistribution(rng),
			R: randomDistribution(rng), S: randomDistribution(rng),
		},
		Deltas: []time.Duration{0, ms, 3 * ms, 10 * ms, 50 * ms},
		Trials: trials,
		Seed:   rng.Uint64(),
		MaxK:   1 + rng.IntN(4),
	}
	if rng.IntN(2) == 0 {
		cfg.Gap = randomDistribution(rng)
	}
	return cfg
}

// checkPoints checks what every prediction must satisfy: Behind has MaxK+1
// entries summing to 1, and Behind[0] is Consistent.
func checkPoints(t *testing.T, cfg Config, p *Prediction) {
	t.Helper()
	if len(p.Points) != len(cfg.Deltas) {
		t.Fatalf("seed %d: %d points, want %d", cfg.Seed, len(p.Points), len(cfg.Deltas))
	}
	for i, pt := range p.Points {
		if pt.Delta != cfg.Deltas[i] {
			t.Errorf("seed %d: point %d has delta %v, want %v", cfg.Seed, i, pt.Delta, cfg.Deltas[i])
		}
		if len(pt.Behind) != cfg.MaxK+1 {
			t.Fatalf("seed %d: len(Behind) = %d, want MaxK+1 = %d", cfg.Seed, len(pt.Behind), cfg.MaxK+1)
		}
		var sum float64
		for _, b := range pt.Behind {
			sum += b
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("seed %d: delta %v: Behind %v sums to %v, want 1", cfg.Seed, pt.Delta, pt.Behind, sum)
		}
		if pt.Behind[0] != pt.Consistent {
			t.Errorf("seed %d: delta %v: Behind[0] = %v, Consistent = %v", cfg.Seed, pt.Delta, pt.Behind[0], pt.Consistent)
		}
	}
}

// randomRun is one Predict over a random configuration.
type randomRun struct {
	seed uint64 // the seed of the configuration (its Seed field differs)
	cfg  Config
	p    *Prediction
	err  error
}

// randomRuns are the runs the property tests share: 150 random
// configurations of 2000 trials, computed once.
var randomRuns = sync.OnceValue(func() []randomRun {
	runs := make([]randomRun, 150)
	for seed := range runs {
		cfg := randomConfig(rand.New(rand.NewPCG(uint64(seed), 0)), 2000)
		p, err := Predict(cfg)
		runs[seed] = randomRun{seed: uint64(seed), cfg: cfg, p: p, err: err}
	}
	return runs
})

// forRandomRuns calls check for every random run that Predict accepted.
func forRandomRuns(t *testing.T, check func(run randomRun)) {
	t.Helper()
	for _, run := range randomRuns() {
		if run.err != nil {
			t.Fatalf("config seed %d: Predict: %v", run.seed, run.err)
		}
		check(run)
	}
}

func TestStrictQuorumsAlwaysConsistent(t *testing.T) {
	strict := 0
	forRandomRuns(t, func(run randomRun) {
		if !run.cfg.Quorum.Strict() {
			return
		}
		strict++
		for _, pt := range run.p.Points {
			if pt.Consistent != 1 {
				t.Errorf("config seed %d (%v): strict quorum has Consistent = %v at delta %v, want 1",
					run.seed, run.cfg.Quorum, pt.Consistent, pt.Delta)
			}
		}
	})
	if strict < 20 {
		t.Errorf("only %d strict configurations among the random ones", strict)
	}
}

func TestBehindIsDistribution(t *testing.T) {
	forRandomRuns(t, func(run randomRun) { checkPoints(t, run.cfg, run.p) })
}

func TestStalenessBoundedByClosedForm(t *testing.T) {
	forRandomRuns(t, func(run randomRun) {
		for _, pt := range run.p.Points {
			checkClosedFormBound(t, run.seed, run.cfg, pt)
		}
	})
}

// TestConsistencyMonotoneInDelta checks that P(at most k behind), for
// every k and so Consistent too, never decreases with delta. The trials'
// delays serve every delta, so this holds exactly, not up to noise.
func TestConsistencyMonotoneInDelta(t *testing.T) {
	forRandomRuns(t, func(run randomRun) {
		for i := 1; i < len(run.p.Points); i++ {
			checkMonotone(t, run.seed, run.p.Points[i-1], run.p.Points[i])
		}
	})
}

// checkClosedFormBound checks P(k or more behind) <= ClosedFormK(q, k)
// up to Monte Carlo error, for every k (k = 1 is 1 - Consistent).
func checkClosedFormBound(t *testing.T, seed uint64, cfg Config, pt Point) {
	t.Helper()
	for k := 1; k <= cfg.MaxK; k++ {
		var atLeast float64
		for _, b := range pt.Behind[k:] {
			atLeast += b
		}
		bound := ClosedFormK(cfg.Quorum, k)
		if atLeast > bound+4*stdErr(bound, cfg.Trials)+0.002 {
			t.Errorf("config seed %d (%v): delta %v: P(>= %d behind) = %.4f, above ClosedFormK %.4f",
				seed, cfg.Quorum, pt.Delta, k, atLeast, bound)
		}
	}
}

// checkMonotone checks that P(at most k behind) does not decrease from
// point a to point b (a later delta), for every k. With common random
// numbers this holds exactly, so there is no tolerance beyond rounding.
func checkMonotone(t *testing.T, seed uint64, a, b Point) {
	t.Helper()
	var ca, cb float64
	for k := range a.Behind {
		ca += a.Behind[k]
		cb += b.Behind[k]
		if cb < ca-1e-12 {
			t.Errorf("config seed %d: P(<= %d behind) fell from %v at %v to %v at %v",
				seed, k, ca, a.Delta, cb, b.Delta)
		}
	}
}

// TestClosedFormKBoundsWithPropagation compares k-staleness with the
// closed form where it should be nearly tight: writes back to back with
// zero gap and instant acks, read at the commit.
func TestClosedFormKBoundsWithPropagation(t *testing.T) {
	zero := Constant(0)
	q := Quorum{N: 5, R: 1, W: 1}
	cfg := Config{
		Quorum: q,
		Legs:   Legs{W: Exponential{Mean: ms}, A: zero, R: zero, S: zero},
		Deltas: []time.Duration{0},
		Trials: 50000,
		Seed:   3,
		MaxK:   4,
	}
	pt := mustPredict(t, cfg).Points[0]
	checkPoints(t, cfg, &Prediction{Points: []Point{pt}})
	checkClosedFormBound(t, cfg.Seed, cfg, pt)
	// Propagation must show: a write that missed the read's replica at its
	// own commit has had at least one more commit's time to reach it.
	atLeast2 := 1 - pt.Behind[0] - pt.Behind[1]
	if bound := ClosedFormK(q, 2); atLeast2 > bound-0.05 {
		t.Errorf("seed %d: P(>= 2 behind) = %.4f, want well below the no-propagation %.4f", cfg.Seed, atLeast2, bound)
	}
}

func TestPredictDeterministic(t *testing.T) {
	cfg := randomConfig(rand.New(rand.NewPCG(99, 0)), 5000)
	cfg.Quorum = Quorum{N: 3, R: 1, W: 1}
	a, b := mustPredict(t, cfg), mustPredict(t, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("seed %d: two runs differ:\n%+v\n%+v", cfg.Seed, a, b)
	}
	cfg.Legs.W = Exponential{Mean: ms}
	cfg.Seed++
	c := mustPredict(t, cfg)
	cfg.Seed++
	if d := mustPredict(t, cfg); reflect.DeepEqual(c, d) {
		t.Errorf("seeds %d and %d give the same prediction %+v", cfg.Seed-1, cfg.Seed, c)
	}
}

// negative is a Distribution that misbehaves: its samples count as zero.
type negative struct{}

func (negative) Sample(*rand.Rand) time.Duration { return -ms }

func TestNegativeSamplesCountAsZero(t *testing.T) {
	base := Config{
		Quorum: Quorum{N: 4, R: 1, W: 2},
		Legs:   Legs{W: Exponential{Mean: ms}, A: Constant(0), R: Constant(0), S: Constant(0)},
		Gap:    Constant(0),
		Trials: 2000,
	}
	neg := base
	neg.Legs.A, neg.Legs.R, neg.Legs.S, neg.Gap = negative{}, negative{}, negative{}, negative{}
	if a, b := mustPredict(t, base), mustPredict(t, neg); !reflect.DeepEqual(a, b) {
		t.Errorf("negative delays differ from zero delays:\n%+v\n%+v", a, b)
	}
}

func TestPredictDefaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Deltas, cfg.Trials, cfg.MaxK = nil, 0, 0
	// Trials 0 means the default; keep the test fast by checking the
	// defaults on a copy of the config instead of running 100000 trials.
	d := cfg.withDefaults()
	if !slices.Equal(d.Deltas, DefaultDeltas()) || d.Trials != DefaultTrials || d.MaxK != DefaultMaxK {
		t.Errorf("withDefaults = Deltas %v Trials %d MaxK %d, want %v %d %d",
			d.Deltas, d.Trials, d.MaxK, DefaultDeltas(), DefaultTrials, DefaultMaxK)
	}
	cfg.Trials = 100
	p := mustPredict(t, cfg)
	if p.Trials != 100 || p.Quorum != cfg.Quorum || len(p.Points) != len(DefaultDeltas()) {
		t.Errorf("Predict = %d trials, %v, %d points; want 100, %v, %d",
			p.Trials, p.Quorum, len(p.Points), cfg.Quorum, len(DefaultDeltas()))
	}
	checkPoints(t, d, p)
}

func TestPredictDoesNotAliasDeltas(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Trials = 10
	cfg.Deltas = []time.Duration{0, ms}
	p := mustPredict(t, cfg)
	cfg.Deltas[0] = time.Hour
	if p.Points[0].Delta != 0 {
		t.Errorf("Point 0 delta changed to %v with the caller's slice", p.Points[0].Delta)
	}
}

func TestPredictInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Quorum.R = 4
	if p, err := Predict(cfg); !errors.Is(err, ErrInvalid) || p != nil {
		t.Errorf("Predict(%v) = %v, %v; want nil, ErrInvalid", cfg.Quorum, p, err)
	}
}

func TestTVisibility(t *testing.T) {
	pr := &Prediction{Points: []Point{
		{Delta: 10 * ms, Consistent: 0.999},
		{Delta: 0, Consistent: 0.9},
		{Delta: 5 * ms, Consistent: 0.99},
		{Delta: 2 * ms, Consistent: 0.95},
	}}
	tests := []struct {
		p      float64
		want   time.Duration
		wantOK bool
	}{
		{0, 0, true},
		{0.9, 0, true},
		{0.95, 2 * ms, true},
		{0.96, 5 * ms, true},
		{0.999, 10 * ms, true},
		{0.9999, 0, false},
	}
	for _, tt := range tests {
		got, ok := pr.TVisibility(tt.p)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("TVisibility(%v) = %v, %v; want %v, %v", tt.p, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, ok := (&Prediction{}).TVisibility(0); ok {
		t.Errorf("TVisibility on no points = %v, true; want false", got)
	}
}

// TestBreakTiesIsUniform checks that the responders are a uniform choice
// among the replicas tied at the quorum boundary, wherever the selection
// left them (the tail after the first R is not sorted).
func TestBreakTiesIsUniform(t *testing.T) {
	tests := []struct {
		key  []time.Duration
		r    int
		want map[string]float64 // responder set -> probability
	}{
		{[]time.Duration{0, 0, 0, 0}, 2, map[string]float64{
			"[0 1]": 1.0 / 6, "[0 2]": 1.0 / 6, "[0 3]": 1.0 / 6, "[1 2]": 1.0 / 6, "[1 3]": 1.0 / 6, "[2 3]": 1.0 / 6}},
		{[]time.Duration{1, 0, 5, 1}, 2, map[string]float64{"[0 1]": 0.5, "[1 3]": 0.5}},
		{[]time.Duration{2, 1, 2, 0, 2}, 3, map[string]float64{"[0 1 3]": 1.0 / 3, "[1 2 3]": 1.0 / 3, "[1 3 4]": 1.0 / 3}},
		{[]time.Duration{3, 1, 2}, 2, map[string]float64{"[1 2]": 1}},
		{[]time.Duration{1, 1, 1}, 3, map[string]float64{"[0 1 2]": 1}},
	}
	const trials, seed = 30000, 5
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, tt := range tests {
		seen := map[string]int{}
		order := make([]int, len(tt.key))
		for range trials {
			for i := range order {
				order[i] = i
			}
			smallestByKey(order, tt.key, tt.r)
			breakTies(order, tt.key, tt.r, rng)
			seen[fmt.Sprint(slices.Sorted(slices.Values(order[:tt.r])))]++
		}
		for set, c := range seen {
			want, ok := tt.want[set]
			if got := float64(c) / trials; !ok || math.Abs(got-want) > 4*stdErr(want, trials)+1e-9 {
				t.Errorf("seed %d: keys %v, R=%d: responders %s with frequency %.4f, want %.4f",
					seed, tt.key, tt.r, set, got, want)
			}
		}
	}
}

// TestSelectionHelpers checks kthSmallest and smallestByKey against a
// full sort, on small and large inputs with many ties.
func TestSelectionHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	for _, n := range []int{1, 2, 3, 5, smallSort, smallSort + 1, 40} {
		for range 200 {
			key := make([]time.Duration, n)
			for i := range key {
				key[i] = time.Duration(rng.IntN(6))
			}
			sorted := slices.Sorted(slices.Values(key))
			k := 1 + rng.IntN(n)
			if got := kthSmallest(slices.Clone(key), k); got != sorted[k-1] {
				t.Fatalf("kthSmallest(%v, %d) = %v, want %v", key, k, got, sorted[k-1])
			}
			order := make([]int, n)
			for i := range order {
				order[i] = i
			}
			smallestByKey(order, key, k)
			checkSelection(t, order, key, k, sorted)
		}
	}
}

// checkSelection checks that order is a permutation of 0..n-1 whose first
// k entries have the k smallest keys, ascending.
func checkSelection(t *testing.T, order []int, key []time.Duration, k int, sorted []time.Duration) {
	t.Helper()
	for i, o := range slices.Sorted(slices.Values(order)) {
		if o != i {
			t.Fatalf("smallestByKey(keys %v, %d) = %v, not a permutation", key, k, order)
		}
	}
	for i, o := range order[:k] {
		if key[o] != sorted[i] {
			t.Fatalf("smallestByKey(keys %v, %d) = %v: position %d has key %v, want %v",
				key, k, order, i, key[o], sorted[i])
		}
	}
}

func ExamplePredict() {
	cfg := DefaultConfig() // N=3 R=1 W=1, every leg exponential with mean 1ms
	cfg.Deltas = []time.Duration{0, 5 * time.Millisecond}
	cfg.Trials = 10000
	p, err := Predict(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("closed form at commit: %.3f stale\n", ClosedForm(cfg.Quorum))
	for _, pt := range p.Points {
		fmt.Printf("%v after commit: consistent with probability %.1f\n", pt.Delta, pt.Consistent)
	}
	// Output:
	// closed form at commit: 0.667 stale
	// 0s after commit: consistent with probability 0.8
	// 5ms after commit: consistent with probability 1.0
}
