package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

var errFlaky = errors.New("fake: flaky put")

// fakeTarget is an in-memory store whose every 10th put fails, and whose
// gets of keys never put are misses. block, when set, makes every
// operation wait for the context's end, counting it in blocked.
type fakeTarget struct {
	block   bool
	blocked atomic.Int64

	mu    sync.Mutex
	data  map[string][]byte
	puts  int
	gets  int
	calls map[string]int // by "put key" / "get key"
}

func newFake() *fakeTarget {
	return &fakeTarget{data: map[string][]byte{}, calls: map[string]int{}}
}

func (f *fakeTarget) Put(ctx context.Context, key, value []byte) error {
	if f.block {
		f.blocked.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	f.calls["put "+string(key)]++
	if f.puts%10 == 0 {
		return fmt.Errorf("put %s: %w", key, errFlaky)
	}
	f.data[string(key)] = bytes.Clone(value)
	return nil
}

func (f *fakeTarget) Get(ctx context.Context, key []byte) error {
	if f.block {
		f.blocked.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	f.calls["get "+string(key)]++
	if _, ok := f.data[string(key)]; !ok {
		return ErrNotFound
	}
	return nil
}

// ErrorKind strips the key, so that flaky puts count as one kind.
func (f *fakeTarget) ErrorKind(err error) string {
	if errors.Is(err, errFlaky) {
		return "flaky"
	}
	return err.Error()
}

func testConfig(op Op, ops int64) Config {
	cfg := DefaultConfig()
	cfg.Op, cfg.Ops, cfg.Duration = op, ops, 0
	cfg.Clients, cfg.Keys, cfg.ValueSize = 4, 50, 8
	return cfg
}

func mustRun(t *testing.T, target Target, cfg Config) *Result {
	t.Helper()
	t.Logf("seed %d", cfg.Seed)
	res, err := Run(context.Background(), target, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestRunPutCounts(t *testing.T) {
	f := newFake()
	res := mustRun(t, f, testConfig(OpPut, 1000))
	if len(res.Ops) != 1 || res.Ops[0].Op != "put" || res.Preload != nil {
		t.Fatalf("Ops = %+v, preload %v; want one put row and no preload", res.Ops, res.Preload)
	}
	s := res.Ops[0]
	if s.Count != 1000 || f.puts != 1000 {
		t.Errorf("Count = %d, target saw %d puts; want exactly 1000", s.Count, f.puts)
	}
	if s.Errors != 100 || s.ErrorKinds["flaky"] != 100 || len(s.ErrorKinds) != 1 {
		t.Errorf("Errors = %d, kinds %v; want 100 flaky", s.Errors, s.ErrorKinds)
	}
	if got := s.Latency.Count(); got != s.Count-s.Errors {
		t.Errorf("Latency.Count = %d, want Count-Errors = %d", got, s.Count-s.Errors)
	}
	if s.OpsPerSec <= 0 || res.Elapsed <= 0 {
		t.Errorf("OpsPerSec %v Elapsed %v, want positive", s.OpsPerSec, res.Elapsed)
	}
	for k := range f.calls {
		if !regexp.MustCompile(`^put key-000000[0-4][0-9]$`).MatchString(k) {
			t.Errorf("unexpected request %q outside the key space of 50", k)
		}
	}
}

func TestRunGetPreloads(t *testing.T) {
	f := newFake()
	var progress chorustest.Buffer
	cfg := testConfig(OpGet, 500)
	cfg.Progress = &progress
	res := mustRun(t, f, cfg)
	if res.Preload == nil || res.Preload.Count != 50 {
		t.Fatalf("Preload = %+v, want 50 writes", res.Preload)
	}
	for i := range cfg.Keys {
		if f.calls["put "+Key(i)] != 1 {
			t.Errorf("key %s preloaded %d times, want once", Key(i), f.calls["put "+Key(i)])
		}
	}
	// The 10th..50th preload puts fail: 5 keys are missing.
	if res.Preload.Errors != 5 {
		t.Errorf("preload errors = %d, want 5", res.Preload.Errors)
	}
	if len(res.Ops) != 1 || res.Ops[0].Op != "get" {
		t.Fatalf("Ops = %+v, want one get row", res.Ops)
	}
	g := res.Ops[0]
	if g.Count != 500 || f.gets != 500 || g.Errors != 0 {
		t.Errorf("gets: Count %d (target saw %d), errors %d; want 500 and 0", g.Count, f.gets, g.Errors)
	}
	if g.Misses == 0 || g.Misses == g.Count || g.Latency.Count() != g.Count {
		t.Errorf("misses %d of %d, latencies %d; want some misses (5 keys of 50 missing), all latencies recorded",
			g.Misses, g.Count, g.Latency.Count())
	}
}

func TestRunMixedNoPreload(t *testing.T) {
	f := newFake()
	cfg := testConfig(OpMixed, 2000)
	cfg.ReadRatio, cfg.NoPreload = 0.25, true
	res := mustRun(t, f, cfg)
	if res.Preload != nil || len(res.Ops) != 2 {
		t.Fatalf("preload %v, %d op rows; want none and 2", res.Preload, len(res.Ops))
	}
	puts, gets := res.Ops[0], res.Ops[1]
	if puts.Count+gets.Count != 2000 || puts.Count != int64(f.puts) || gets.Count != int64(f.gets) {
		t.Errorf("puts %d + gets %d, target saw %d + %d; want 2000 in all", puts.Count, gets.Count, f.puts, f.gets)
	}
	// 25% reads of 2000: binomial with sd ~19; allow 5 sd.
	if gets.Count < 400 || gets.Count > 600 {
		t.Errorf("gets = %d, want about 500 (ReadRatio 0.25)", gets.Count)
	}
	if puts.Errors != int64(f.puts/10) {
		t.Errorf("put errors %d, want %d", puts.Errors, f.puts/10)
	}
}

// TestRunDeterministic: the same seed issues the same keys, another seed
// different ones.
func TestRunDeterministic(t *testing.T) {
	keys := func(seed int64) map[string]int {
		f := newFake()
		cfg := testConfig(OpGet, 200)
		cfg.Clients, cfg.Seed, cfg.NoPreload, cfg.Keys = 1, seed, true, 1000
		mustRun(t, f, cfg)
		return f.calls
	}
	a, b, c := keys(1), keys(1), keys(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("seed 1 twice issued different keys")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("seeds 1 and 2 issued the same keys")
	}
}

func TestRunCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFake()
	f.block = true
	cfg := testConfig(OpPut, 0)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := Run(ctx, f, cfg)
		done <- out{res, err}
	}()
	chorustest.Eventually(t, "an operation under way", func() bool { return f.blocked.Load() > 0 })
	cancel()
	select {
	case o := <-done:
		if !errors.Is(o.err, context.Canceled) || o.res == nil {
			t.Fatalf("Run = %v, %v; want a result and context.Canceled", o.res, o.err)
		}
		// Operations cut short by the cancel are not the target's errors.
		if s := o.res.Ops[0]; s.Count != 0 || s.Errors != 0 {
			t.Errorf("Count %d Errors %d, want 0 and 0", s.Count, s.Errors)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the cancel")
	}
	// Every goroutine of Run must be gone (the runtime may take a moment
	// to reap the test's own helper goroutine).
	chorustest.Eventually(t, fmt.Sprintf("the goroutine count back to %d after Run", before), func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestRunDurationAndProgress(t *testing.T) {
	f := newFake()
	var progress chorustest.Buffer
	cfg := testConfig(OpPut, 0)
	cfg.Duration, cfg.Warmup, cfg.Progress = 1200*time.Millisecond, 100*time.Millisecond, &progress
	start := time.Now()
	res := mustRun(t, f, cfg)
	if took := time.Since(start); took < 1300*time.Millisecond {
		t.Errorf("run took %v, want at least warmup+duration 1.3s", took)
	}
	s := res.Ops[0]
	if s.Count == 0 || s.Count >= int64(f.puts) {
		t.Errorf("measured %d of %d puts; want some, and fewer than all (warmup not measured)", s.Count, f.puts)
	}
	if res.Elapsed < cfg.Duration {
		t.Errorf("Elapsed = %v, want at least %v", res.Elapsed, cfg.Duration)
	}
	line := regexp.MustCompile(`(?m)^run +1s +\d+ ops/s  p50 +\S+  p99 +\S+  errors \d+$`)
	if out := progress.String(); !line.MatchString(out) {
		t.Errorf("progress = %q, want a line for second 1", out)
	}
}

func TestValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"negative clients":     func(c *Config) { c.Clients = -1 },
		"unknown op":           func(c *Config) { c.Op = "scan" },
		"read ratio":           func(c *Config) { c.ReadRatio = 1.5 },
		"no limit":             func(c *Config) { c.Duration, c.Ops = 0, 0 },
		"negative ops":         func(c *Config) { c.Ops = -5 },
		"unknown distribution": func(c *Config) { c.Distribution = "pareto" },
		"negative theta":       func(c *Config) { c.Theta = -0.5 },
		"NaN theta":            func(c *Config) { c.Theta = math.NaN() },
		"value range inverted": func(c *Config) { c.ValueSize, c.ValueSizeMax = 100, 10 },
		"negative rate":        func(c *Config) { c.Rate = -1 },
		"infinite rate":        func(c *Config) { c.Rate = math.Inf(1) },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		if _, err := Run(context.Background(), newFake(), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Run error %v, want ErrInvalidConfig", name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}

func TestKey(t *testing.T) {
	for _, n := range []int{0, 7, 12345, 99999999, 123456789} {
		if got, want := Key(n), fmt.Sprintf("key-%08d", n); got != want {
			t.Errorf("Key(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestErrorKindsCapped(t *testing.T) {
	var s OpStats
	for i := range MaxErrorKinds + 5 {
		s.addErrors(fmt.Sprintf("kind %d", i), 2)
	}
	if len(s.ErrorKinds) != MaxErrorKinds+1 || s.ErrorKinds[OtherErrors] != 10 || s.Errors != 2*(MaxErrorKinds+5) {
		t.Errorf("kinds %d, other %d, errors %d", len(s.ErrorKinds), s.ErrorKinds[OtherErrors], s.Errors)
	}
}

func TestLongestStall(t *testing.T) {
	for _, tt := range []struct {
		ok       []int64
		want, at time.Duration
	}{
		{nil, 0, 0},
		{[]int64{5, 5, 5}, 0, 0},
		{[]int64{5, 0, 0, 5, 0, 5}, 200 * time.Millisecond, 100 * time.Millisecond},
		{[]int64{0, 3, 0, 0, 0}, 300 * time.Millisecond, 200 * time.Millisecond},
	} {
		res := &Result{}
		for _, n := range tt.ok {
			res.Timeline = append(res.Timeline, Step{OK: n})
		}
		if got, at := res.LongestStall(); got != tt.want || at != tt.at {
			t.Errorf("timeline %v: stall %v at %v, want %v at %v", tt.ok, got, at, tt.want, tt.at)
		}
	}
}

func TestTimelineCountsDurationRuns(t *testing.T) {
	res, err := Run(context.Background(), newFake(), Config{Clients: 2, Duration: 350 * time.Millisecond, Op: OpPut, Keys: 10, ValueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, s := range res.Timeline {
		sum += s.OK + s.Failed
	}
	if len(res.Timeline) != 3 || sum == 0 || sum > res.Ops[0].Count {
		t.Fatalf("timeline %v (sum %d) for %d puts in %v", res.Timeline, sum, res.Ops[0].Count, res.Elapsed)
	}
}
