package repair

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

func TestConfigValidate(t *testing.T) {
	pairs := func() []Pair { return nil }
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantErr bool
	}{
		{"defaults with pairs", func(c *Config) {}, false},
		{"zero config with pairs", func(c *Config) { *c = Config{Pairs: pairs} }, false},
		{"manual", func(c *Config) { c.Manual = true }, false},
		{"missing pairs", func(c *Config) { c.Pairs = nil }, true},
		{"negative keys per second", func(c *Config) { c.KeysPerSecond = -1 }, true},
		{"negative bytes per second", func(c *Config) { c.BytesPerSecond = -1 }, true},
		{"negative interval", func(c *Config) { c.Interval = -time.Millisecond }, true},
		{"negative backoff threshold", func(c *Config) { c.BackoffAbove = -time.Millisecond }, true},
		{"negative max backoff", func(c *Config) { c.MaxBackoff = -time.Second }, true},
		{"negative recheck", func(c *Config) { c.Recheck = -time.Second }, true},
		{"negative max idle", func(c *Config) { c.MaxIdle = -time.Second }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Pairs = pairs
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr != (err != nil) {
				t.Fatalf("Validate() = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadConfig) {
				t.Errorf("Validate() = %v, does not wrap ErrBadConfig", err)
			}
			// NewScheduler validates too. The valid configs walk no pairs,
			// so the nil Local and Remote are never called.
			c.Logger = quiet
			s, nerr := NewScheduler(c, nil, nil)
			switch {
			case tc.wantErr && !errors.Is(nerr, ErrBadConfig):
				t.Errorf("NewScheduler = %v, want an error wrapping ErrBadConfig", nerr)
			case !tc.wantErr && nerr != nil:
				t.Errorf("NewScheduler: %v", nerr)
			case !tc.wantErr:
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		})
	}
}

func TestInitiates(t *testing.T) {
	const seed = 42
	rng := rand.New(rand.NewPCG(seed, 0))
	name := func() string { return fmt.Sprintf("node-%d", rng.IntN(1000)) }
	for i := range 2000 {
		a, b := name(), name()
		if a == b {
			continue
		}
		p := rng.Uint32()
		if x, y := Initiates(a, b, p), Initiates(b, a, p); x == y {
			t.Fatalf("seed %d case %d: Initiates(%q, %q, %d) = %v and Initiates(%q, %q, %d) = %v; want exactly one true",
				seed, i, a, b, p, x, b, a, p, y)
		}
	}
	for i := range 20 {
		a, b := name(), name()+"x"
		n := 0
		for p := range uint32(1000) {
			if Initiates(a, b, p) {
				n++
			}
		}
		if n < 400 || n > 600 {
			t.Errorf("seed %d pair %d: %q initiates %d of 1000 partitions with %q, want 400..600", seed, i, a, n, b)
		}
	}
}

func TestSchedulerManualRound(t *testing.T) {
	const parts = 4
	a, b := openReady(t), openReady(t)
	// 5 keys per partition only on a, 3 only on b, 2 on both.
	for p := range uint32(parts) {
		for i := range 5 {
			mustUpdate(t, a, p, fmt.Sprintf("a%d", i), vclock.Clock{}, "a", val("a"))
		}
		for i := range 3 {
			mustUpdate(t, b, p, fmt.Sprintf("b%d", i), vclock.Clock{}, "b", val("b"))
		}
		for i := range 2 {
			k := fmt.Sprintf("s%d", i)
			mustMerge(t, b, p, k, mustUpdate(t, a, p, k, vclock.Clock{}, "a", val("s")))
		}
	}
	var pairs []Pair
	for p := range uint32(parts) {
		pairs = append(pairs, Pair{Partition: p, Peer: "b"})
	}
	remote := newFakeRemote(map[string]*storage.DB{"b": b})
	s, err := NewScheduler(Config{Pairs: func() []Pair { return pairs }, Manual: true, Logger: quiet}, dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	before := time.Now()
	sum, err := s.Round(context.Background())
	if err != nil {
		t.Fatalf("Round: %v", err)
	}
	if sum.RepairedHere != 3*parts || sum.RepairedThere != 5*parts || sum.KeysDiffering != 8*parts {
		t.Errorf("Round result %+v: want %d repaired here, %d there, %d differing", sum, 3*parts, 5*parts, 8*parts)
	}
	if d := diffDumps(dump(t, a, parts), dump(t, b, parts)); d != "" {
		t.Errorf("a and b differ after Round: %s", d)
	}
	st := s.Stats()
	if st.Exchanges != parts || st.Rounds != 1 || st.Failures != 0 || st.KeysRepaired != 8*parts || st.RootsEqual != 0 {
		t.Errorf("Stats %+v: want %d exchanges, 1 round, %d keys repaired", st, parts, 8*parts)
	}
	if st.KeysCompared != uint64(sum.KeysCompared) || st.SegmentHashes != uint64(remote.counts().SegmentHashes) {
		t.Errorf("Stats %+v disagree with the round's result %+v or the peer's %+v", st, sum, remote.counts())
	}
	status := s.Status()
	if len(status) != parts {
		t.Fatalf("Status has %d pairs, want %d", len(status), parts)
	}
	for i, ps := range status {
		if ps.Pair != pairs[i] {
			t.Errorf("Status[%d] is %+v, want %+v (sorted)", i, ps.Pair, pairs[i])
		}
		if ps.LastSuccess.Before(before) || ps.LastError != "" || ps.Repaired != 8 {
			t.Errorf("Status[%d] = LastSuccess %v (round began %v), LastError %q, Repaired %d; want success, 8 repaired",
				i, ps.LastSuccess, before, ps.LastError, ps.Repaired)
		}
	}

	// A second round finds everything equal.
	if _, err := s.Round(context.Background()); err != nil {
		t.Fatalf("second Round: %v", err)
	}
	st = s.Stats()
	if st.Exchanges != 2*parts || st.RootsEqual != parts || st.Rounds != 2 || st.KeysRepaired != 8*parts {
		t.Errorf("Stats after second round %+v: want %d exchanges, %d RootsEqual, 2 rounds, still %d repaired",
			st, 2*parts, parts, 8*parts)
	}
	for _, ps := range s.Status() {
		if !ps.Last.RootsEqual || ps.Repaired != 8 {
			t.Errorf("pair %+v after second round: Last.RootsEqual %v, Repaired %d; want true, 8", ps.Pair, ps.Last.RootsEqual, ps.Repaired)
		}
	}
}

func TestSchedulerRoundNotReady(t *testing.T) {
	a := openReady(t)
	b := openDB(t, storage.Options{NoTrees: true})
	remote := newFakeRemote(map[string]*storage.DB{"b": b})
	s, err := NewScheduler(Config{Pairs: func() []Pair { return []Pair{{0, "b"}, {1, "b"}} }, Manual: true, Logger: quiet},
		dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Round(context.Background()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Round = %v, want an error wrapping ErrNotReady", err)
	}
	st := s.Stats()
	if st.Exchanges != 2 || st.NotReady != 2 || st.Failures != 0 {
		t.Errorf("Stats %+v: want 2 exchanges, 2 NotReady, 0 failures", st)
	}
	for _, ps := range s.Status() {
		if ps.LastError == "" || !ps.LastSuccess.IsZero() {
			t.Errorf("pair %+v: LastError %q, LastSuccess %v; want an error and no success", ps.Pair, ps.LastError, ps.LastSuccess)
		}
	}
}

func TestSchedulerBackoff(t *testing.T) {
	a, b := openReady(t), openReady(t)
	mustUpdate(t, b, 0, "k", vclock.Clock{}, "b", val("v"))
	var p99 atomic.Int64
	p99.Store(int64(time.Second))
	remote := newFakeRemote(map[string]*storage.DB{"b": b})
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:         func() []Pair { return []Pair{{0, "b"}} },
		Interval:      time.Millisecond,
		BackoffAbove:  10 * time.Millisecond,
		MaxBackoff:    4 * time.Millisecond,
		ForegroundP99: func() time.Duration { return time.Duration(p99.Load()) },
		Clock:         clk,
		Logger:        quiet,
	}, dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Each backoff doubles from Interval up to MaxBackoff; the clock moves
	// only once the scheduler waits on it. The p99 falls during the last.
	var total time.Duration
	waits := []time.Duration{1, 2, 4, 4, 4}
	for i, wait := range waits {
		wait *= time.Millisecond
		total += wait
		waitTimer(t, clk)
		if st := s.Stats(); st.Backoffs != uint64(i+1) || st.BackoffTime != total || remote.counts().RoundTrips() != 0 {
			t.Fatalf("backoff %d: Stats %+v, peer %+v; want %d backoffs taking %v and no exchange",
				i+1, st, remote.counts(), i+1, total)
		}
		if i == len(waits)-1 {
			p99.Store(0)
		}
		clk.Advance(wait)
	}
	waitTimer(t, clk) // the pause after the exchange
	if st := s.Stats(); st.Exchanges != 1 || st.Backoffs != uint64(len(waits)) {
		t.Fatalf("Stats %+v: want 1 exchange after the p99 fell, and no more backoffs", st)
	}
	// Stats count an exchange once it has returned, so its repair is done.
	if got := mustGet(t, a, 0, "k"); got.IsEmpty() {
		t.Errorf("key k not repaired onto a after %d exchanges", s.Stats().Exchanges)
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(chorustest.Timeout):
		t.Fatalf("Close did not return within %v", chorustest.Timeout)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := clk.Waiters(); n != 0 {
		t.Errorf("%d timers armed after Close, want 0", n)
	}
}

// TestSchedulerFirstBackoffCapped checks that MaxBackoff caps every
// backoff wait, the first one included, when it is below Interval.
func TestSchedulerFirstBackoffCapped(t *testing.T) {
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:         func() []Pair { return []Pair{{0, "b"}} },
		Interval:      20 * time.Millisecond,
		MaxBackoff:    4 * time.Millisecond,
		BackoffAbove:  time.Millisecond,
		ForegroundP99: func() time.Duration { return time.Second },
		Clock:         clk,
		Logger:        quiet,
	}, nil, nil) // always overloaded: never exchanges, so nil Local and Remote are fine
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 3; i++ {
		waitTimer(t, clk)
		if st := s.Stats(); st.Backoffs != uint64(i) || st.BackoffTime != time.Duration(i)*4*time.Millisecond {
			t.Fatalf("Stats Backoffs %d BackoffTime %v, want %d backoffs of MaxBackoff (4ms) each", st.Backoffs, st.BackoffTime, i)
		}
		clk.Advance(4 * time.Millisecond)
	}
}

// waitTimer waits until something waits on clk.
func waitTimer(t *testing.T, clk *clock.Fake) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chorustest.Timeout)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("the scheduler does not wait on its clock: %v", err)
	}
}
