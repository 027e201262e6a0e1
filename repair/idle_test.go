package repair

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// idleRig is a background Scheduler on node a over pairs with peer b, on a
// fake clock, with a and b holding the same keys in every partition.
type idleRig struct {
	t      *testing.T
	clk    *clock.Fake
	a, b   *storage.DB
	remote *fakeRemote
	s      *Scheduler

	mu    sync.Mutex
	pairs []Pair
}

const (
	rigParts    = 4
	rigInterval = time.Second
	rigMaxIdle  = 8 * time.Second
	rigRecheck  = time.Minute
)

func newIdleRig(t *testing.T) *idleRig {
	r := &idleRig{t: t, clk: clock.NewFake(t0), a: openReady(t), b: openReady(t)}
	for p := range uint32(rigParts) {
		r.pairs = append(r.pairs, Pair{Partition: p, Peer: "b"})
		for i := range 3 {
			mustMerge(t, r.b, p, fmt.Sprintf("k%d", i), mustUpdate(t, r.a, p, fmt.Sprintf("k%d", i), vclock.Clock{}, "a", val("v")))
		}
	}
	r.remote = newFakeRemote(map[string]*storage.DB{"b": r.b})
	s, err := NewScheduler(Config{
		Pairs: func() []Pair {
			r.mu.Lock()
			defer r.mu.Unlock()
			return append([]Pair(nil), r.pairs...)
		},
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

// advance moves the fake time by total in steps of one second, each once
// the scheduler waits on the clock, so it sees every step.
func (r *idleRig) advance(total time.Duration) {
	r.t.Helper()
	for d := time.Duration(0); d < total; d += time.Second {
		waitTimer(r.t, r.clk)
		r.clk.Advance(time.Second)
	}
	waitTimer(r.t, r.clk)
}

// settle runs the first walk, which exchanges every pair (all equal), and
// resets the peer's counters.
func (r *idleRig) settle() {
	r.t.Helper()
	r.advance(rigParts * rigInterval)
	if got := r.remote.counts().Root; got != rigParts {
		r.t.Fatalf("first walk: %d Root calls, want %d (one per pair)", got, rigParts)
	}
	if st := r.s.Stats(); st.RootsEqual != rigParts {
		r.t.Fatalf("first walk: Stats %+v, want %d exchanges ending at the root", st, rigParts)
	}
	r.remote.reset()
}

// TestSchedulerIdleAsksPeerNothing checks that once every pair was found
// equal, the walk passes over them all (no round trip to the peer) until
// Recheck, that its pauses grow to MaxIdle meanwhile, and that every pair
// is exchanged again once Recheck has passed.
func TestSchedulerIdleAsksPeerNothing(t *testing.T) {
	r := newIdleRig(t)
	r.settle()
	rounds := r.s.Stats().Rounds

	// Up to just before the first pair's recheck: nothing asked of b.
	r.advance(rigRecheck - 2*rigParts*rigInterval)
	if c := r.remote.counts(); c.RoundTrips() != 0 {
		t.Fatalf("idle for %v: the peer served %+v, want nothing", rigRecheck, c)
	}
	st := r.s.Stats()
	if st.Skipped == 0 {
		t.Errorf("Stats %+v: want pairs counted as skipped", st)
	}
	// Pauses of 1, 2, 4, then 8 s: 10 walks at most in these 52 s,
	// where walking back to back every Interval would make 52.
	if walks := st.Rounds - rounds; walks > 10 {
		t.Errorf("%d idle walks in %v, want at most 10 (pauses growing to MaxIdle %v)", walks, rigRecheck-8*time.Second, rigMaxIdle)
	}

	// Past the recheck of every pair: each is exchanged once more.
	r.advance(2 * rigMaxIdle)
	if c := r.remote.counts(); c.Root != rigParts || c.RoundTrips() != rigParts {
		t.Errorf("after Recheck %v: the peer served %+v, want exactly %d Root calls", rigRecheck, c, rigParts)
	}
}

// TestSchedulerNotifyWakesIdle checks that a local write and Notify end an
// idle pause at once (the clock does not move), and that only the changed
// partition is exchanged.
func TestSchedulerNotifyWakesIdle(t *testing.T) {
	r := newIdleRig(t)
	r.settle()
	r.advance(4 * rigMaxIdle) // deep in the idle pause
	if c := r.remote.counts(); c.RoundTrips() != 0 {
		t.Fatalf("idle: the peer served %+v, want nothing", c)
	}
	mustUpdate(t, r.a, 2, "new", vclock.Clock{}, "a", val("n"))
	r.s.Notify()
	chorustest.Eventually(t, "the new key pushed to b", func() bool { return r.remote.counts().Push == 1 })
	c := r.remote.counts()
	if c.Root != 1 || c.Pushed != 1 {
		t.Errorf("after a write to partition 2: the peer served %+v, want one Root call (partition 2) and one key pushed", c)
	}
	if got := mustGet(t, r.b, 2, "new"); got.IsEmpty() {
		t.Errorf("key new not on b after the exchange")
	}
}

// TestSchedulerReturningPairExchanged checks that a pair that left the
// walk (its peer was down) is exchanged as soon as it is back, before its
// recheck is due: the peer may have lost data meanwhile.
func TestSchedulerReturningPairExchanged(t *testing.T) {
	r := newIdleRig(t)
	r.settle()
	r.mu.Lock()
	gone := r.pairs[1]
	r.pairs = append(r.pairs[:1:1], r.pairs[2:]...)
	r.mu.Unlock()
	r.advance(2 * rigMaxIdle)
	r.mu.Lock()
	r.pairs = append(r.pairs, gone)
	r.mu.Unlock()
	r.advance(2 * rigMaxIdle)
	if c := r.remote.counts(); c.Root != 1 || c.RoundTrips() != 1 {
		t.Errorf("pair %+v back: the peer served %+v, want exactly one Root call", gone, c)
	}
}

// TestSchedulerRoundIgnoresSkip checks that Round, the explicit walk of
// tests and tools, exchanges every pair even when nothing changed.
func TestSchedulerRoundIgnoresSkip(t *testing.T) {
	r := newIdleRig(t)
	r.settle()
	if _, err := r.s.Round(context.Background()); err != nil {
		t.Fatalf("Round: %v", err)
	}
	if c := r.remote.counts(); c.Root != rigParts {
		t.Errorf("Round: the peer served %+v, want %d Root calls", c, rigParts)
	}
}

// fillingRemote is a fakeRemote whose peer answers partition filling's
// tree as not ready while filling is set: the peer is still pulling that
// partition by handoff.
type fillingRemote struct {
	*fakeRemote
	partition uint32
	filling   atomic.Bool
}

func (r *fillingRemote) Root(ctx context.Context, peer string, p uint32) (uint64, error) {
	if p == r.partition && r.filling.Load() {
		r.count(func(n *remoteCounts) { n.Root++ })
		return 0, fmt.Errorf("%w: %s is still receiving partition %d", ErrNotReady, peer, p)
	}
	return r.fakeRemote.Root(ctx, peer, p)
}

// TestSchedulerRetriesNotReadySoon: a peer that answers a pair as not
// ready (it is still pulling the partition after a ring change) is asked
// again within notReadyRetry for as long as it does, however long the
// walks have been idle, so the pair is exchanged about a second after the
// peer's pull completes, which nothing announces to this node.
func TestSchedulerRetriesNotReadySoon(t *testing.T) {
	clk := clock.NewFake(t0)
	a, b := openReady(t), openReady(t)
	mustUpdate(t, b, 2, "late", vclock.Clock{}, "b", val("v"))
	remote := &fillingRemote{fakeRemote: newFakeRemote(map[string]*storage.DB{"b": b}), partition: 2}
	remote.filling.Store(true)
	const interval, maxIdle = 100 * time.Millisecond, 30 * time.Second
	s, err := NewScheduler(Config{
		Pairs:    func() []Pair { return []Pair{{0, "b"}, {1, "b"}, {2, "b"}} },
		Interval: interval,
		MaxIdle:  maxIdle,
		Recheck:  time.Hour,
		Clock:    clk,
		Logger:   quiet,
	}, dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	step := func(total time.Duration) {
		t.Helper()
		for d := time.Duration(0); d < total; d += interval {
			waitTimer(t, clk)
			clk.Advance(interval)
		}
		waitTimer(t, clk)
	}
	// Long enough for idle pauses to have grown to MaxIdle; each pause is
	// cut to notReadyRetry instead, so partition 2 is asked about once a
	// second.
	step(2 * maxIdle)
	if n := s.Stats().NotReady; n < uint64(maxIdle/notReadyRetry) {
		t.Fatalf("Stats %+v: partition 2 asked %d times in %v while its peer was filling it, want one a second", s.Stats(), n, 2*maxIdle)
	}
	remote.filling.Store(false)
	step(notReadyRetry + 3*interval)
	if got := mustGet(t, a, 2, "late"); got.IsEmpty() {
		t.Fatalf("key late not repaired onto a within %v of the peer's tree becoming ready; Stats %+v", notReadyRetry+3*interval, s.Stats())
	}
}

// TestSchedulerStartPairsUntilReady: the walks after the start take
// StartPairs, as long as one of them meets a tree not ready, then Pairs.
func TestSchedulerStartPairsUntilReady(t *testing.T) {
	clk := clock.NewFake(t0)
	a, b := openReady(t), openReady(t)
	remote := &fillingRemote{fakeRemote: newFakeRemote(map[string]*storage.DB{"b": b}), partition: 1}
	remote.filling.Store(true)
	var startCalls, pairsCalls atomic.Int64
	s, err := NewScheduler(Config{
		Pairs: func() []Pair {
			pairsCalls.Add(1)
			return []Pair{{0, "b"}}
		},
		StartPairs: func() []Pair {
			startCalls.Add(1)
			return []Pair{{0, "b"}, {1, "b"}}
		},
		Interval: 100 * time.Millisecond,
		Clock:    clk,
		Logger:   quiet,
	}, dbLocal{a}, remote)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for range 5 { // five walks, partition 1 not ready in each
		waitTimer(t, clk)
		clk.Advance(notReadyRetry)
	}
	if n := pairsCalls.Load(); n != 0 {
		t.Fatalf("Pairs called %d times while the start's walk met a tree not ready", n)
	}
	remote.filling.Store(false)
	chorustest.Eventually(t, "walks over Pairs once a start walk met every tree ready", func() bool {
		if pairsCalls.Load() > 0 {
			return true
		}
		waitTimer(t, clk)
		clk.Advance(time.Second)
		return false
	})
	before := startCalls.Load()
	for range 3 {
		waitTimer(t, clk)
		clk.Advance(time.Minute)
	}
	if n := startCalls.Load(); n != before {
		t.Errorf("StartPairs called %d more times after the start's walk ended", n-before)
	}
}
