package repair

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
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

// differingRemote is a fakeRemote whose peer's roots differ from every
// root while differ is set, so that every exchange goes past the roots
// (and finds nothing more to repair) and the walk's backoff applies.
type differingRemote struct {
	*fakeRemote
	differ atomic.Bool
}

func (r *differingRemote) Root(ctx context.Context, peer string, p uint32) (uint64, error) {
	root, err := r.fakeRemote.Root(ctx, peer, p)
	if r.differ.Load() {
		root = ^root
	}
	return root, err
}

func newDifferingRemote(b *storage.DB, differ bool) *differingRemote {
	r := &differingRemote{fakeRemote: newFakeRemote(map[string]*storage.DB{"b": b})}
	r.differ.Store(differ)
	return r
}

// TestSchedulerBackoff keeps the node overloaded throughout and checks
// that the walk slows and never stops: comparing roots is never held
// back; past roots that differ, each exchange waits a backoff that
// doubles from Interval up to MaxBackoff for a pair known equal, and up
// to UnsettledMaxBackoff for any other, and then runs.
func TestSchedulerBackoff(t *testing.T) {
	a, b := openReady(t), openReady(t)
	remote := newDifferingRemote(b, false)
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:               func() []Pair { return []Pair{{0, "b"}, {1, "b"}, {2, "b"}} },
		Interval:            time.Millisecond,
		BackoffAbove:        10 * time.Millisecond,
		MaxBackoff:          4 * time.Millisecond,
		UnsettledMaxBackoff: 2 * time.Millisecond,
		// Every pair is due again by the next walk: none is passed over.
		Recheck:       time.Millisecond,
		ForegroundP99: func() time.Duration { return time.Second },
		Clock:         clk,
		Logger:        quiet,
	}, dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Walk 1: the roots are equal, nothing waits. Walk 2: the pairs are
	// known equal and their roots differ (1+2+4 ms). Walk 3: they are not
	// known equal any more (1+2+2 ms).
	remote.differ.Store(false)
	for i, want := range []struct {
		exchanges uint64
		backoffs  uint64
		backoff   time.Duration
	}{{3, 0, 0}, {6, 3, 7 * time.Millisecond}, {9, 6, 12 * time.Millisecond}} {
		st := stepUntil(t, clk, s, func(st Stats) bool { return st.Exchanges >= want.exchanges })
		if st.Exchanges != want.exchanges || st.Backoffs != want.backoffs || st.BackoffTime != want.backoff {
			t.Fatalf("walk %d: Stats %+v: want %d exchanges, %d backoffs, %v of backoff in all",
				i+1, st, want.exchanges, want.backoffs, want.backoff)
		}
		remote.differ.Store(true)
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

// TestSchedulerRepairsUnderSustainedLoad: a node overloaded for good
// still repairs what differs.
func TestSchedulerRepairsUnderSustainedLoad(t *testing.T) {
	a, b := openReady(t), openReady(t)
	for p := range uint32(3) {
		mustUpdate(t, b, p, "k", vclock.Clock{}, "b", val("v"))
	}
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:         func() []Pair { return []Pair{{0, "b"}, {1, "b"}, {2, "b"}} },
		Interval:      time.Millisecond,
		BackoffAbove:  10 * time.Millisecond,
		ForegroundP99: func() time.Duration { return time.Second },
		Clock:         clk,
		Logger:        quiet,
	}, dbLocal{a}, newFakeRemote(map[string]*storage.DB{"b": b}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := stepUntil(t, clk, s, func(st Stats) bool { return st.Exchanges >= 3 })
	if st.Backoffs != 3 {
		t.Errorf("Stats %+v: want a backoff before each of the 3 repairs", st)
	}
	for p := range uint32(3) {
		if got := mustGet(t, a, p, "k"); got.IsEmpty() {
			t.Errorf("partition %d: key k not repaired onto a under sustained load", p)
		}
	}
}

// TestSchedulerBackoffResetsWhenLoadFalls checks that the backoff starts
// again from Interval once the p99 falls, and that no exchange waits
// while it is low.
func TestSchedulerBackoffResetsWhenLoadFalls(t *testing.T) {
	a, b := openReady(t), openReady(t)
	var p99 atomic.Int64
	p99.Store(int64(time.Second))
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:         func() []Pair { return []Pair{{0, "b"}, {1, "b"}, {2, "b"}, {3, "b"}} },
		Interval:      time.Millisecond,
		BackoffAbove:  10 * time.Millisecond,
		MaxBackoff:    time.Second,
		Recheck:       time.Millisecond, // no pair passed over
		ForegroundP99: func() time.Duration { return time.Duration(p99.Load()) },
		Clock:         clk,
		Logger:        quiet,
	}, dbLocal{a}, newDifferingRemote(b, true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := stepUntil(t, clk, s, func(st Stats) bool { return st.Exchanges >= 2 })
	if st.Backoffs != 2 || st.BackoffTime != 3*time.Millisecond {
		t.Fatalf("Stats %+v: want 2 backoffs of 1 and 2 ms before the first two exchanges", st)
	}
	p99.Store(0)
	st = stepUntil(t, clk, s, func(st Stats) bool { return st.Exchanges >= 4 })
	if st.Backoffs != 2 {
		t.Fatalf("Stats %+v: backed off after the p99 fell", st)
	}
	p99.Store(int64(time.Second))
	st = stepUntil(t, clk, s, func(st Stats) bool { return st.Backoffs >= 3 })
	if st.BackoffTime != 4*time.Millisecond {
		t.Fatalf("Stats %+v: the backoff after the load came back is %v, want Interval (1ms)", st, st.BackoffTime-3*time.Millisecond)
	}
}

// TestSchedulerFirstBackoffCapped checks that MaxBackoff caps every
// backoff wait, the first one included, when it is below Interval (and
// below UnsettledMaxBackoff, which it then caps too).
func TestSchedulerFirstBackoffCapped(t *testing.T) {
	a, b := openReady(t), openReady(t)
	clk := clock.NewFake(t0)
	s, err := NewScheduler(Config{
		Pairs:         func() []Pair { return []Pair{{0, "b"}} },
		Interval:      20 * time.Millisecond,
		MaxBackoff:    4 * time.Millisecond,
		BackoffAbove:  time.Millisecond,
		Recheck:       time.Millisecond, // no pair passed over
		ForegroundP99: func() time.Duration { return time.Second },
		Clock:         clk,
		Logger:        quiet,
	}, dbLocal{a}, newDifferingRemote(b, true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := uint64(1); i <= 3; i++ {
		st := stepUntil(t, clk, s, func(st Stats) bool { return st.Backoffs >= i })
		if st.Backoffs != i || st.BackoffTime != time.Duration(i)*4*time.Millisecond {
			t.Fatalf("Stats Backoffs %d BackoffTime %v, want %d backoffs of MaxBackoff (4ms) each", st.Backoffs, st.BackoffTime, i)
		}
	}
}

// TestSchedulerRootsEqualNotPaced: a walk over pairs whose roots are
// equal (a restarted node's first walk, mostly) goes from one to the next
// without the Interval pause, which exchanges that did work take.
func TestSchedulerRootsEqualNotPaced(t *testing.T) {
	a, b := openReady(t), openReady(t)
	clk := clock.NewFake(t0)
	var pairs []Pair
	for p := range uint32(50) {
		pairs = append(pairs, Pair{p, "b"})
	}
	s, err := NewScheduler(Config{
		Pairs:    func() []Pair { return pairs },
		Interval: time.Second,
		Clock:    clk,
		Logger:   quiet,
	}, dbLocal{a}, newFakeRemote(map[string]*storage.DB{"b": b}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitTimer(t, clk) // the pause after the first walk
	if st := s.Stats(); st.Exchanges != 50 || st.RootsEqual != 50 || st.Rounds != 1 {
		t.Fatalf("Stats %+v before the clock moved: want one walk of 50 exchanges ending at the roots", st)
	}
}

// stepUntil moves clk on, one step of 25 ms each time the scheduler waits
// on it, until cond holds of its Stats, and returns them; it fails the
// test after 200 steps.
func stepUntil(t *testing.T, clk *clock.Fake, s *Scheduler, cond func(Stats) bool) Stats {
	t.Helper()
	for range 200 {
		waitTimer(t, clk)
		if st := s.Stats(); cond(st) {
			return st
		}
		clk.Advance(25 * time.Millisecond)
	}
	t.Fatalf("Stats %+v after 200 steps of the clock: the condition never held", s.Stats())
	return Stats{}
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

// orderRig is a background Scheduler on node a whose pairs the test sets,
// on a fake clock, over peers b and c (a pair with any other peer fails),
// with a log of the pairs exchanged, in order.
type orderRig struct {
	t      *testing.T
	clk    *clock.Fake
	a      *storage.DB
	peers  map[string]*storage.DB
	remote *logRemote
	s      *Scheduler

	mu    sync.Mutex
	pairs []Pair
	// flap, when set, drops peer c's pairs from every other Pairs call,
	// starting with the next one.
	flap  bool
	calls int
}

// logRemote is a fakeRemote that logs the pair of every exchange (its
// Root call, the first of each) and fails those with peers marked down.
type logRemote struct {
	*fakeRemote

	mu   sync.Mutex
	log  []Pair
	down map[string]bool
}

func (r *logRemote) Root(ctx context.Context, peer string, p uint32) (uint64, error) {
	r.mu.Lock()
	r.log = append(r.log, Pair{Partition: p, Peer: peer})
	down := r.down[peer]
	r.mu.Unlock()
	if down {
		return 0, fmt.Errorf("logRemote: %s is unreachable", peer)
	}
	return r.fakeRemote.Root(ctx, peer, p)
}

// exchanged returns the log and clears it.
func (r *logRemote) exchanged() []Pair {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

// logged returns how many exchanges the log holds.
func (r *logRemote) logged() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

func (r *logRemote) setDown(peer string, down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down[peer] = down
}

func newOrderRig(t *testing.T) *orderRig {
	r := &orderRig{t: t, clk: clock.NewFake(t0), a: openReady(t),
		peers: map[string]*storage.DB{"b": openReady(t), "c": openReady(t)}}
	r.remote = &logRemote{fakeRemote: newFakeRemote(r.peers), down: map[string]bool{}}
	s, err := NewScheduler(Config{
		Pairs:    r.listPairs,
		Interval: rigInterval,
		MaxIdle:  rigMaxIdle,
		Recheck:  rigRecheck,
		Clock:    r.clk,
		Logger:   quiet,
	}, dbLocal{r.a}, r.remote)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	t.Cleanup(func() { _ = s.Close() })
	return r
}

func (r *orderRig) listPairs() []Pair {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.flap && r.calls%2 == 1 {
		return slices.DeleteFunc(slices.Clone(r.pairs), func(pr Pair) bool { return pr.Peer == "c" })
	}
	return slices.Clone(r.pairs)
}

func (r *orderRig) setPairs(pairs []Pair) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pairs = pairs
}

func (r *orderRig) setFlap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flap, r.calls = true, 0
}

// pairsWith returns the pairs of partitions [0, parts) with each of peers,
// in partition order, as Placement lists them.
func pairsWith(parts int, peers ...string) []Pair {
	var out []Pair
	for p := range uint32(parts) {
		for _, peer := range peers {
			out = append(out, Pair{Partition: p, Peer: peer})
		}
	}
	return out
}

// stepUntil moves the clock one Interval at a time, each once the
// scheduler waits on it, until cond holds while it waits.
func (r *orderRig) stepUntil(what string, cond func() bool) {
	r.t.Helper()
	for range 1000 {
		waitTimer(r.t, r.clk)
		if cond() {
			return
		}
		r.clk.Advance(rigInterval)
	}
	r.t.Fatalf("1000 steps of %v and still waiting for %s; exchanged %v", rigInterval, what, r.remote.exchanged())
}

// walks runs the clock until n more walks have ended.
func (r *orderRig) walks(n int) {
	r.t.Helper()
	want := r.s.Stats().Rounds + uint64(n)
	r.stepUntil(fmt.Sprintf("walk %d to end", want), func() bool { return r.s.Stats().Rounds >= want })
}

// idle runs the clock for 2 MaxIdle, then on until the scheduler waits
// between walks, not in one (a walk sleeps after each exchange, e.g. of a
// failing pair), so that what the test changes next is seen by a new walk.
func (r *orderRig) idle() {
	r.t.Helper()
	for range 2 * rigMaxIdle / rigInterval {
		waitTimer(r.t, r.clk)
		r.clk.Advance(rigInterval)
	}
	r.stepUntil("the scheduler to wait between walks", func() bool {
		p := r.s.Progress()
		return p.Done == p.Total
	})
}

// writeEverywhere writes one key to every partition on a and merges it
// into both peers: the trees stay equal, but a's roots change, so the walk
// exchanges every pair known equal instead of passing over it.
func (r *orderRig) writeEverywhere(parts int, key string) {
	r.t.Helper()
	for p := range uint32(parts) {
		s := mustUpdate(r.t, r.a, p, key, vclock.Clock{}, "a", val(key))
		for _, db := range r.peers {
			mustMerge(r.t, db, p, key, s)
		}
	}
}

// writeHere writes one key to every partition on a alone: the roots
// differ, so every exchange goes past them (and is paced).
func (r *orderRig) writeHere(parts int, key string) {
	r.t.Helper()
	for p := range uint32(parts) {
		mustUpdate(r.t, r.a, p, key, vclock.Clock{}, "a", val(key))
	}
}

// TestSchedulerReturningPeerMidWalk checks that a peer that comes back
// while a walk runs has its pairs exchanged next, before the walk's
// remaining pairs known equal, not in the next walk.
func TestSchedulerReturningPeerMidWalk(t *testing.T) {
	const parts = 6
	r := newOrderRig(t)
	r.setPairs(pairsWith(parts, "b", "c"))
	r.walks(1) // every pair exchanged once, all equal
	// c goes down: its pairs leave the walk.
	r.setPairs(pairsWith(parts, "b"))
	r.idle()
	// A key on a alone: every exchange does work and pauses after it.
	r.writeHere(parts, "w")
	r.remote.exchanged()
	r.s.Notify()
	r.stepUntil("two exchanges", func() bool { return r.remote.logged() >= 2 })
	// c comes back while the walk sleeps after its second exchange; the
	// walk sees it after the exchange in flight, (2, b).
	r.setPairs(pairsWith(parts, "b", "c"))
	r.walks(1)
	got := r.remote.exchanged()
	want := append(append(pairsWith(3, "b"), pairsWith(parts, "c")...), Pair{3, "b"}, Pair{4, "b"}, Pair{5, "b"})
	if !slices.Equal(got, want) {
		t.Errorf("c back after 2 of b's %d pairs: exchanged\n%v\nwant c's pairs right after the third:\n%v", parts, got, want)
	}
	if p := r.s.Progress(); p.Done != 2*parts || p.Total != 2*parts {
		t.Errorf("Progress after the walk %+v, want %d of %d pairs done", p, 2*parts, 2*parts)
	}
}

// TestSchedulerUnknownPairsFirst checks that a walk takes the pairs not
// known equal first: never exchanged (c's), or whose last exchange failed
// (x, a peer the remote does not know), then those known equal (b's), each
// group in the listed order.
func TestSchedulerUnknownPairsFirst(t *testing.T) {
	const parts = 4
	r := newOrderRig(t)
	x := Pair{3, "x"}
	r.setPairs(append(pairsWith(parts, "b"), x))
	r.walks(1)
	r.idle()
	r.writeEverywhere(parts, "w")
	r.setPairs([]Pair{{0, "b"}, {1, "b"}, {1, "c"}, {2, "b"}, {2, "c"}, {3, "b"}, {3, "c"}, x})
	r.remote.exchanged()
	r.s.Notify()
	r.walks(1)
	got := r.remote.exchanged()
	want := []Pair{{1, "c"}, {2, "c"}, {3, "c"}, x, {0, "b"}, {1, "b"}, {2, "b"}, {3, "b"}}
	if !slices.Equal(got, want) {
		t.Errorf("walk exchanged\n%v\nwant the new and failed pairs first, then those known equal:\n%v", got, want)
	}
}

// TestSchedulerFlappingPeerBounded checks that a peer whose pairs leave
// and return after every exchange neither keeps the walk from ending nor
// is exchanged more than once per pair in it, and that the walk still
// takes it up and exchanges every pair of the steady peer.
func TestSchedulerFlappingPeerBounded(t *testing.T) {
	const parts = 6
	r := newOrderRig(t)
	r.setPairs(pairsWith(parts, "b", "c"))
	r.walks(1)
	r.idle()
	r.writeEverywhere(parts, "w")
	r.remote.exchanged()
	r.setFlap() // the walk starts without c; c is back after its first exchange
	r.s.Notify()
	r.walks(1)
	got := r.remote.exchanged()
	seen := map[Pair]int{}
	for _, pr := range got {
		seen[pr]++
	}
	for pr, n := range seen {
		if n > 1 {
			t.Errorf("pair %v exchanged %d times in one walk, want once: %v", pr, n, got)
		}
	}
	for _, pr := range pairsWith(parts, "b") {
		if seen[pr] != 1 {
			t.Errorf("steady pair %v exchanged %d times in the walk, want once: %v", pr, seen[pr], got)
		}
	}
	if !slices.ContainsFunc(got, func(pr Pair) bool { return pr.Peer == "c" }) {
		t.Errorf("the walk never took up the returning peer c: %v", got)
	}
}

// TestSchedulerFailedExchangeForgetsPeer checks that after an exchange
// with a peer fails, every pair with that peer is exchanged on the next
// walk, first, even those the walk would pass over: the peer may have
// restarted and lost writes without ever leaving the walk.
func TestSchedulerFailedExchangeForgetsPeer(t *testing.T) {
	const parts = 4
	r := newOrderRig(t)
	r.setPairs(pairsWith(parts, "b", "c"))
	r.walks(1)
	r.idle()
	// A write to partition 0 alone, while b cannot be reached: the walk
	// exchanges (0, b), which fails, then (0, c), and, b forgotten, tries
	// b's other pairs instead of passing over them; it passes over c's.
	r.writeEverywhere(1, "w")
	r.remote.setDown("b", true)
	r.remote.exchanged()
	r.s.Notify()
	r.walks(1)
	if got, want := r.remote.exchanged(), []Pair{{0, "b"}, {0, "c"}, {1, "b"}, {2, "b"}, {3, "b"}}; !slices.Equal(got, want) {
		t.Fatalf("walk with b down exchanged %v, want %v", got, want)
	}
	r.remote.setDown("b", false)
	r.s.Notify()
	r.walks(1)
	if got, want := r.remote.exchanged(), pairsWith(parts, "b"); !slices.Equal(got, want) {
		t.Errorf("walk after b was unreachable exchanged %v, want every pair with b, in order: %v", got, want)
	}
}
