package bench

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// zeta returns the generalized harmonic number sum_{i=1..n} 1/i^theta.
func zeta(n int, theta float64) float64 {
	var sum float64
	for i := 1; i <= n; i++ {
		sum += 1 / math.Pow(float64(i), theta)
	}
	return sum
}

// TestZipfianMatchesTheory: the frequencies of the most popular ranks,
// and of the top ten together, are those of the zipfian law,
// P(i) = 1/(i+1)^theta / zeta(n, theta), within 5 standard deviations.
func TestZipfianMatchesTheory(t *testing.T) {
	for _, theta := range []float64{0.2, 0.5, 0.8, 0.99, 1.2} {
		const n, draws, seed = 1000, 400000, 7
		z := newZipfian(n, theta)
		rng := rand.New(rand.NewPCG(seed, 0))
		counts := make([]int, n)
		for range draws {
			counts[z.rank(rng)]++
		}
		zetan := zeta(n, theta)
		var top, topWant float64
		for i := range 10 {
			p := 1 / math.Pow(float64(i+1), theta) / zetan
			got := float64(counts[i]) / draws
			top, topWant = top+got, topWant+p
			if sd := math.Sqrt(p * (1 - p) / draws); math.Abs(got-p) > 5*sd {
				t.Errorf("theta %v seed %d: P(rank %d) = %.4f, want %.4f ± %.4f", theta, seed, i, got, p, 5*sd)
			}
		}
		if sd := math.Sqrt(topWant * (1 - topWant) / draws); math.Abs(top-topWant) > 5*sd {
			t.Errorf("theta %v seed %d: P(top 10 ranks) = %.4f, want %.4f ± %.4f", theta, seed, top, topWant, 5*sd)
		}
	}
}

// TestScatterSpreadsHotKeys: the hottest ranks are not the first keys,
// and scatter stays inside the key space.
func TestScatterSpreadsHotKeys(t *testing.T) {
	const n = 100000
	low := 0
	for r := range 100 {
		k := scatter(r, n)
		if k < 0 || k >= n {
			t.Fatalf("scatter(%d, %d) = %d, outside the key space", r, n, k)
		}
		if k < n/10 {
			low++
		}
	}
	if low > 30 {
		t.Errorf("%d of the 100 hottest ranks land in the first tenth of the keys; want them spread", low)
	}
}

// TestLatestReadsNewKeys: under Latest, reads go mostly to the newest
// keys, and follow inserts as they happen.
func TestLatestReadsNewKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys, cfg.Clients, cfg.Distribution, cfg.Theta = 1000, 1, Latest, 0.99
	c := newKeyChooser(cfg.withDefaults())
	rng := rand.New(rand.NewPCG(3, 0))
	newest := func() int {
		hits := 0
		for range 10000 {
			if k := c.next(rng); k >= c.n+int(c.inserted.Load())-100 {
				hits++
			}
		}
		return hits
	}
	if h := newest(); h < 5000 {
		t.Errorf("%d of 10000 reads among the newest 100 of 1000 keys; want most", h)
	}
	for range 500 {
		c.insert()
	}
	for range 1000 {
		if k := c.next(rng); k < 0 || k >= 1500 {
			t.Fatalf("read key %d, outside the 1500 keys written", k)
		}
	}
	if h := newest(); h < 5000 {
		t.Errorf("after 500 inserts, %d of 10000 reads among the newest 100; want most", h)
	}
}

// mixTarget is an in-memory store with deletes that records every call
// in order, per client-visible key.
type mixTarget struct {
	mu    sync.Mutex
	data  map[string]bool
	calls []string // "get key", "put key", "delete key"
	sizes map[int]int
}

func newMixTarget() *mixTarget { return &mixTarget{data: map[string]bool{}, sizes: map[int]int{}} }

func (m *mixTarget) Put(_ context.Context, key, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[string(key)] = true
	m.calls = append(m.calls, "put "+string(key))
	m.sizes[len(value)]++
	return nil
}

func (m *mixTarget) Get(_ context.Context, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "get "+string(key))
	if !m.data[string(key)] {
		return ErrNotFound
	}
	return nil
}

func (m *mixTarget) Delete(_ context.Context, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, string(key))
	m.calls = append(m.calls, "delete "+string(key))
	return nil
}

// TestMixShares: every predefined mix issues its kinds in its shares
// (within 5 standard deviations), with one row per kind.
func TestMixShares(t *testing.T) {
	const ops = 4000
	for op, m := range mixes {
		t.Run(string(op), func(t *testing.T) {
			cfg := testConfig(op, ops)
			cfg.Keys, cfg.Seed = 200, 11
			res := mustRun(t, newMixTarget(), cfg)
			rows := map[string]int64{}
			var total int64
			for _, s := range res.Ops {
				rows[s.Op] = s.Count
				total += s.Count
				if s.Errors != 0 {
					t.Errorf("%s: %d errors: %v", s.Op, s.Errors, s.ErrorKinds)
				}
			}
			if total != ops {
				t.Errorf("seed %d: %d operations in all, want %d", cfg.Seed, total, ops)
			}
			for k, share := range m.shares {
				n, ok := rows[kindNames[k]]
				if ok != (share > 0) {
					t.Errorf("row %q present %v, want %v (share %v)", kindNames[k], ok, share > 0, share)
				}
				sd := math.Sqrt(share * (1 - share) * ops)
				if math.Abs(float64(n)-share*ops) > 5*sd+1 {
					t.Errorf("seed %d: %d %s of %d, want %.0f ± %.0f", cfg.Seed, n, kindNames[k], ops, share*ops, 5*sd)
				}
			}
		})
	}
}

// TestReadModifyWrite: every rmw of F reads a key and then writes the
// same key.
func TestReadModifyWrite(t *testing.T) {
	m := newMixTarget()
	cfg := testConfig(OpF, 500)
	cfg.Clients = 1
	res := mustRun(t, m, cfg)
	var rmw int64
	for _, s := range res.Ops {
		if s.Op == "rmw" {
			rmw = s.Count
		}
	}
	puts := 0
	calls := m.calls[cfg.Keys:] // after the preload
	for i, c := range calls {
		if key, ok := strings.CutPrefix(c, "put "); ok {
			puts++
			if i == 0 || calls[i-1] != "get "+key {
				t.Fatalf("call %d %q does not follow a get of the same key (%q before)", i, c, calls[max(i-1, 0)])
			}
		}
	}
	if int64(puts) != rmw || rmw == 0 {
		t.Errorf("%d puts after the preload for %d rmw operations; want as many, and some", puts, rmw)
	}
}

// TestInsertsAddKeys: D inserts keys numbered from Keys up, each once.
func TestInsertsAddKeys(t *testing.T) {
	m := newMixTarget()
	cfg := testConfig(OpD, 2000)
	cfg.Keys = 100
	res := mustRun(t, m, cfg)
	seen := map[string]bool{}
	for _, c := range m.calls[cfg.Keys:] {
		key, ok := strings.CutPrefix(c, "put ")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(key, "key-"))
		if n < cfg.Keys || seen[key] {
			t.Errorf("insert of %s: below the preloaded keys or repeated", key)
		}
		seen[key] = true
	}
	var inserts int64
	for _, s := range res.Ops {
		if s.Op == "insert" {
			inserts = s.Count
		}
	}
	if int64(len(seen)) != inserts || inserts == 0 {
		t.Errorf("%d distinct new keys for %d inserts; want as many, and some", len(seen), inserts)
	}
}

// noDelete is a target without Delete.
type noDelete struct{ *fakeTarget }

func TestDeleteNeedsDeleter(t *testing.T) {
	_, err := Run(context.Background(), noDelete{newFake()}, testConfig(OpDelete, 10))
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Delete") {
		t.Errorf("Run = %v, want ErrInvalidConfig naming Delete", err)
	}
}

func TestValueSizeRange(t *testing.T) {
	m := newMixTarget()
	cfg := testConfig(OpPut, 3000)
	cfg.ValueSize, cfg.ValueSizeMax = 10, 20
	mustRun(t, m, cfg)
	for size, n := range m.sizes {
		if size < 10 || size > 20 {
			t.Errorf("%d values of %d bytes, outside [10, 20]", n, size)
		}
	}
	if len(m.sizes) != 11 {
		t.Errorf("sizes written: %v; want each of 10..20", m.sizes)
	}
}

// TestOpenLoopHonoursRate: an open-loop run against a fast target sends
// no more than its schedule allows, and close to it.
func TestOpenLoopHonoursRate(t *testing.T) {
	f := newMixTarget()
	cfg := testConfig(OpPut, 0)
	cfg.Duration, cfg.Rate, cfg.Clients = time.Second, 400, 4
	res := mustRun(t, f, cfg)
	n := res.Ops[0].Count
	// Client i's k-th operation is due at (i + 4k)/400 s: 400 fall
	// inside the second.
	if n > 400 || n < 200 {
		t.Errorf("%d operations in 1s at 400/s; want at most 400 (the schedule) and at least half", n)
	}
	if s := &res.Ops[0].Service; s.Count() != res.Ops[0].Latency.Count() {
		t.Errorf("service times %d, latencies %d; want one of each per operation", s.Count(), res.Ops[0].Latency.Count())
	}

	// Bounded by Ops, the run cannot end before the last operation is due.
	cfg.Duration, cfg.Ops, cfg.Rate = 0, 100, 1000
	start := time.Now()
	mustRun(t, f, cfg)
	if took := time.Since(start); took < 96*time.Millisecond {
		t.Errorf("100 operations at 1000/s took %v; the 100th is due at 99ms", took)
	}
}

// stallTarget answers at once, except that a call arriving in [from, to)
// waits until to: a stall of the whole system under test.
type stallTarget struct{ from, to time.Time }

func (s stallTarget) wait() {
	if now := time.Now(); !now.Before(s.from) && now.Before(s.to) {
		time.Sleep(s.to.Sub(now))
	}
}
func (s stallTarget) Put(context.Context, []byte, []byte) error { s.wait(); return nil }
func (s stallTarget) Get(context.Context, []byte) error         { s.wait(); return nil }

// TestOpenLoopCountsStalls is the coordinated-omission test: a 600 ms
// stall within a 1 s run delays the operations scheduled during it, and
// the open loop's latencies show it (half of them 100 ms or more), while
// a closed loop's hide it (only each client's one stalled call).
func TestOpenLoopCountsStalls(t *testing.T) {
	run := func(rate float64) *OpStats {
		cfg := testConfig(OpPut, 0)
		cfg.Duration, cfg.Rate, cfg.Clients = time.Second, rate, 50
		now := time.Now()
		return mustRun(t, stallTarget{now.Add(100 * time.Millisecond), now.Add(700 * time.Millisecond)}, cfg).Ops[0]
	}
	open := run(1000)
	if p70 := open.Latency.Quantile(0.7); p70 < 100*time.Millisecond {
		t.Errorf("open loop: p70 %v over %d operations; want at least 100ms (half were scheduled in the stall)", p70, open.Count)
	}
	if p70 := open.Service.Quantile(0.7); p70 >= 100*time.Millisecond {
		t.Errorf("open loop: service time p70 %v; want below 100ms (only the calls sent in the stall waited)", p70)
	}
	closed := run(0)
	if p70 := closed.Latency.Quantile(0.7); p70 >= 100*time.Millisecond {
		t.Errorf("closed loop: p70 %v over %d operations; the closed loop should see only 50 slow calls", p70, closed.Count)
	}
}

// TestZipfianEdges: one or two keys, theta 1 and a steep theta all draw
// ranks inside the key space, the most popular most often.
func TestZipfianEdges(t *testing.T) {
	for _, tc := range []struct {
		n     int
		theta float64
	}{{1, 0.99}, {2, 0.5}, {2, 1}, {10, 1}, {1000, 20}} {
		z := newZipfian(tc.n, tc.theta)
		rng := rand.New(rand.NewPCG(1, 2))
		counts := make([]int, tc.n)
		for range 10000 {
			r := z.rank(rng)
			if r < 0 || r >= tc.n {
				t.Fatalf("n %d theta %v: rank %d outside [0, %d)", tc.n, tc.theta, r, tc.n)
			}
			counts[r]++
		}
		if tc.n > 1 && counts[0] <= counts[1] {
			t.Errorf("n %d theta %v: rank 0 drawn %d times, rank 1 %d; want rank 0 the most popular", tc.n, tc.theta, counts[0], counts[1])
		}
	}
}
