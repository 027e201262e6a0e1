package repair

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/chorusdb/chorus/clock"
)

// Scheduler walks this node's (partition, peer) pairs and exchanges each in
// turn, paced and backing off under foreground load. Each walk takes the
// pairs not known equal first, and takes up at once a peer that comes back
// while it runs (walk). The background walk passes over a pair whose last
// exchange found the roots equal while this node's tree of the partition
// has not changed since (up to Config.Recheck), and when a walk finds
// nothing to do it sleeps longer and longer (up to Config.MaxIdle) until
// Notify wakes it: an idle node exchanges almost nothing. It owns one
// goroutine (none with Config.Manual), which Close stops.
type Scheduler struct {
	cfg     Config
	local   Local
	ex      *Exchanger
	limiter *limiter

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// wake holds one pending Notify; the walk's idle pause ends on it.
	wake chan struct{}

	mu     sync.Mutex
	pairs  map[Pair]*PairStatus
	warned map[string]time.Time // last failure warning per peer
	stats  Stats
	round  RoundProgress
}

// PairStatus is what the Scheduler knows of one pair.
type PairStatus struct {
	Pair
	// Last is the latest exchange's result; Last.Start is zero if the pair
	// was never exchanged.
	Last Result `json:"last"`
	// LastError is the latest exchange's error, "" if it succeeded.
	LastError string `json:"last_error"`
	// LastSuccess is when an exchange of the pair last succeeded.
	LastSuccess time.Time `json:"last_success"`
	// Repaired is the keys repaired by all exchanges of the pair.
	Repaired uint64 `json:"repaired"`

	// equal is set while the latest exchange found the roots equal, at
	// root, at equalAt: the walk may pass over the pair while the local
	// root stays root, until equalAt + Recheck.
	equal   bool
	root    uint64
	equalAt time.Time
}

// Stats are the Scheduler's cumulative counters, for metrics.
type Stats struct {
	Exchanges       uint64        `json:"exchanges"`   // exchanges attempted
	Failures        uint64        `json:"failures"`    // exchanges that failed (not counting NotReady)
	NotReady        uint64        `json:"not_ready"`   // exchanges skipped because a tree was being built
	RootsEqual      uint64        `json:"roots_equal"` // exchanges that ended at the root
	Skipped         uint64        `json:"skipped"`     // pairs the walk passed over: unchanged since an equal exchange
	Rounds          uint64        `json:"rounds"`      // completed walks over all pairs
	SegmentHashes   uint64        `json:"segment_hashes"`
	SegmentsDiffer  uint64        `json:"segments_differ"`
	KeysCompared    uint64        `json:"keys_compared"`
	KeysRepaired    uint64        `json:"keys_repaired"`
	BytesSent       uint64        `json:"bytes_sent"`
	BytesReceived   uint64        `json:"bytes_received"`
	Backoffs        uint64        `json:"backoffs"` // waits for foreground latency
	BackoffTime     time.Duration `json:"-"`        // total time spent in them (JSON: backoff_ms)
	PacedTime       time.Duration `json:"-"`        // total time spent waiting for the keys/bytes budget (paced_ms)
	LastRoundTook   time.Duration `json:"-"`        // (last_round_ms)
	LastRoundFinish time.Time     `json:"last_round_finish"`
}

// RoundProgress says where the current walk is.
type RoundProgress struct {
	Started time.Time `json:"started"`
	Done    int       `json:"done"`  // pairs exchanged (or attempted) in this round
	Total   int       `json:"total"` // pairs in this round
}

// NewScheduler returns a Scheduler using ex; unless cfg.Manual it starts
// walking at once.
func NewScheduler(cfg Config, local Local, remote Remote) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Scheduler{
		cfg:     cfg,
		limiter: newLimiter(cfg.KeysPerSecond, cfg.BytesPerSecond, cfg.Clock),
		local:   local,
		pairs:   make(map[Pair]*PairStatus),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
	s.ex = NewExchanger(local, remote, s.limiter)
	s.ex.clk = cfg.Clock
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Manual {
		close(s.done)
	} else {
		go s.run()
	}
	return s, nil
}

// Close stops the walk, cancelling an exchange in progress, and waits for
// it to end. It is idempotent.
func (s *Scheduler) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Initiates reports whether self, rather than peer, starts the exchanges
// of partition p between them. Exactly one of the two does, chosen by a
// hash of the three so that the work spreads evenly over the nodes, and
// both sides compute the same answer.
func Initiates(self, peer string, p uint32) bool {
	lo, hi := min(self, peer), max(self, peer)
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(lo)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(hi)
	_, _ = d.Write([]byte{byte(p >> 24), byte(p >> 16), byte(p >> 8), byte(p)})
	first := d.Sum64()&1 == 0
	return first == (self == lo)
}

// Notify tells the Scheduler that this node's data changed (a write was
// stored): a walk pausing because it found nothing to do starts again at
// once. It never blocks, so the storage's committer may call it.
func (s *Scheduler) Notify() {
	select {
	case s.wake <- struct{}{}:
	default: // one pending wake-up covers any number of writes
	}
}

func (s *Scheduler) run() {
	defer close(s.done)
	var idle time.Duration
	list := s.cfg.Pairs
	if s.cfg.StartPairs != nil {
		list = s.cfg.StartPairs
	}
	for s.ctx.Err() == nil {
		w := s.walk(s.ctx, list)
		if !w.notReady {
			list = s.cfg.Pairs // the start's walk is done
		}
		// Never two walks back to back, even when Notify keeps coming: an
		// idle walk still reads every pair's root.
		if clock.Sleep(s.ctx, s.cfg.Clock, s.cfg.Interval) != nil {
			return
		}
		if w.busy {
			idle = 0
			continue
		}
		// Nothing differed (or nothing could be exchanged): pause longer
		// each time, but not past the next pair due for its recheck.
		idle = min(max(2*idle, s.cfg.Interval), s.cfg.MaxIdle)
		pause := idle
		if w.notReady {
			pause = min(pause, notReadyRetry)
		}
		if !w.nextDue.IsZero() {
			pause = min(pause, max(w.nextDue.Sub(s.cfg.Clock.Now()), 0))
		}
		s.pause(s.ctx, pause-s.cfg.Interval)
	}
}

// pause waits d on the clock, or until Notify or ctx ends it.
func (s *Scheduler) pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t, ch := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-s.wake:
	case <-ctx.Done():
	}
}

// Round runs one walk over all pairs now, in the caller's goroutine, and
// returns the sum of its exchanges' results; the error joins the failures.
// Pairs whose trees are not ready count as failures here.
func (s *Scheduler) Round(ctx context.Context) (Result, error) {
	var sum Result
	var errs []error
	for _, pr := range s.cfg.Pairs() {
		res, err := s.ExchangeOne(ctx, pr)
		sum.add(res)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	s.finishRound(sum.Start)
	return sum, errors.Join(errs...)
}

// walked is what one background walk did.
type walked struct {
	// busy: an exchange found a difference, so another walk follows
	// after Interval alone.
	busy bool
	// nextDue is the earliest recheck of a pair the walk passed over;
	// zero if it passed over none.
	nextDue time.Time
	// notReady: a tree was not ready on one side (being rebuilt, or its
	// partition still being handed over), so the next walk comes within
	// notReadyRetry: the pair is exchanged soon after the tree is ready,
	// which nothing else would announce to this node.
	notReady bool
}

// notReadyRetry bounds the pause after a walk that met a tree not ready:
// a node that just took over a partition completes its pull without
// telling the peers that initiate its pairs, and the writes it missed
// during the change wait for that exchange.
const notReadyRetry = time.Second

// walk is the background round over list (Config.Pairs, or StartPairs
// after a start): paced, backing off under load, and passing over the
// pairs that cannot have changed (skip). It takes the pairs not known
// equal first (plan), and after every exchange it asks list again: when
// the set changed (a peer came back, the ring moved) it plans the rest anew, so a returning peer's pairs go next
// instead of after this walk. Pairs done in this walk are never planned
// again in it, so a flapping peer costs at most one exchange per pair and
// the walk still ends.
func (s *Scheduler) walk(ctx context.Context, list func() []Pair) walked {
	start := s.cfg.Clock.Now()
	listed := list()
	done := make(map[Pair]bool, len(listed))
	s.mu.Lock()
	s.round = RoundProgress{Started: start}
	s.mu.Unlock()
	todo := s.plan(listed, done)
	var w walked
	first := min(s.cfg.Interval, s.cfg.MaxBackoff)
	backoff := first
	for len(todo) > 0 {
		pr := todo[0]
		if done[pr] { // listed twice
			todo = todo[1:]
			continue
		}
		if due, ok := s.skip(pr); ok {
			if w.nextDue.IsZero() || due.Before(w.nextDue) {
				w.nextDue = due
			}
			todo, done[pr] = todo[1:], true
			s.mu.Lock()
			s.stats.Skipped++
			s.round.Done = len(done)
			s.mu.Unlock()
			continue
		}
		todo, done[pr] = todo[1:], true
		// Comparing roots is never held back. Past roots that differ, an
		// overloaded node waits a backoff that doubles with each such
		// exchange, capped by what is known of the pair, then goes on:
		// load slows the walk and never stops it.
		yield := func(ctx context.Context) error {
			if !s.overloaded() {
				backoff = first
				return nil
			}
			wait := min(backoff, s.backoffCap(pr))
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			s.mu.Lock()
			s.stats.Backoffs++
			s.stats.BackoffTime += wait
			s.mu.Unlock()
			return clock.Sleep(ctx, s.cfg.Clock, wait)
		}
		res, err := s.exchangeOne(ctx, pr, yield)
		w.busy = w.busy || (err == nil && !res.RootsEqual)
		w.notReady = w.notReady || errors.Is(err, ErrNotReady)
		s.mu.Lock()
		s.round.Done = len(done)
		s.mu.Unlock()
		if ctx.Err() != nil {
			return w
		}
		listed, todo = s.replan(list, listed, todo, done)
		// An exchange that ended at the roots, or at a tree not ready,
		// cost one round trip: the next goes at once, so that a walk
		// over hundreds of unchanged pairs (after a restart, every pair)
		// takes round trips, not hundreds of Intervals.
		light := errors.Is(err, ErrNotReady) || (err == nil && res.RootsEqual)
		if len(todo) > 0 && !light && clock.Sleep(ctx, s.cfg.Clock, s.cfg.Interval) != nil {
			return w
		}
	}
	if len(done) > 0 {
		s.finishRound(start)
	}
	return w
}

// plan returns the pairs of listed not done yet, in the order to walk
// them: first those not known equal (never exchanged since this node
// started, forgotten because they left the walk or an exchange with their
// peer failed, or whose latest exchange found a difference), then those
// whose latest exchange found the roots equal, each group in listed's
// order. The first group is where data may be missing: a peer that was
// down, or restarted, may have lost writes that only this exchange brings
// back to it, while a known equal pair mostly ends at the root or is
// passed over. plan forgets the pairs not listed (forgetGone) and updates
// the round's progress.
func (s *Scheduler) plan(listed []Pair, done map[Pair]bool) []Pair {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetGone(listed)
	todo := make([]Pair, 0, len(listed))
	for _, pr := range listed {
		if st := s.pairs[pr]; !done[pr] && (st == nil || !st.equal) {
			todo = append(todo, pr)
		}
	}
	for _, pr := range listed {
		if st := s.pairs[pr]; !done[pr] && st != nil && st.equal {
			todo = append(todo, pr)
		}
	}
	s.round.Done, s.round.Total = len(done), len(done)+len(todo)
	return todo
}

// replan asks list (Config.Pairs) again and, if it differs from listed,
// returns the new list and its plan; otherwise listed and todo unchanged.
// Pairs costs microseconds (the ring and liveness, no I/O), against the
// Interval that follows every exchange, so the walk asks after each one.
func (s *Scheduler) replan(list func() []Pair, listed, todo []Pair, done map[Pair]bool) ([]Pair, []Pair) {
	fresh := list()
	if slices.Equal(fresh, listed) {
		return listed, todo
	}
	return fresh, s.plan(fresh, done)
}

// skip reports whether the walk may pass over pr, and when it is due
// again: its latest exchange found the roots equal less than Recheck ago,
// and this node's root of the partition is still the one compared. Only
// this side is known to be unchanged; Recheck bounds how long a change on
// the peer's side alone waits.
func (s *Scheduler) skip(pr Pair) (time.Time, bool) {
	s.mu.Lock()
	st := s.pairs[pr]
	var root uint64
	var due time.Time
	ok := st != nil && st.equal
	if ok {
		root, due = st.root, st.equalAt.Add(s.cfg.Recheck)
	}
	s.mu.Unlock()
	if !ok || !s.cfg.Clock.Now().Before(due) {
		return time.Time{}, false
	}
	cur, err := s.local.TreeRoot(pr.Partition)
	return due, err == nil && cur == root
}

// forgetGone drops the equal state of pairs no longer walked (the peer was
// down, or the ring moved): when such a pair comes back, the peer may have
// lost data meanwhile, so it is exchanged at once. s.mu must be held.
func (s *Scheduler) forgetGone(pairs []Pair) {
	walked := make(map[Pair]bool, len(pairs))
	for _, pr := range pairs {
		walked[pr] = true
	}
	for pr, st := range s.pairs {
		if !walked[pr] {
			st.equal = false
		}
	}
}

// forgetPeer drops the equal state of every pair with peer, after an
// exchange with it failed: the peer may be down, or restarting (its trees
// not ready), and may have lost writes, often without leaving the walk, as
// a kill and restart can be quicker than the failure detector. Its pairs
// are then exchanged, not passed over, for the rest of this walk, and go
// first in the next, instead of waiting for Recheck. A peer that stays
// unreachable costs what it did before: a failed pair is never passed
// over. s.mu must be held.
func (s *Scheduler) forgetPeer(peer string) {
	for pr, st := range s.pairs {
		if pr.Peer == peer {
			st.equal = false
		}
	}
}

// backoffCap is the longest backoff before pr: MaxBackoff for a pair
// known equal, UnsettledMaxBackoff for any other.
func (s *Scheduler) backoffCap(pr Pair) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.pairs[pr]; st != nil && st.equal {
		return s.cfg.MaxBackoff
	}
	return s.cfg.UnsettledMaxBackoff
}

func (s *Scheduler) overloaded() bool {
	return s.cfg.ForegroundP99 != nil && s.cfg.ForegroundP99() > s.cfg.BackoffAbove
}

func (s *Scheduler) finishRound(start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Rounds++
	s.stats.LastRoundFinish = s.cfg.Clock.Now()
	if !start.IsZero() {
		s.stats.LastRoundTook = s.cfg.Clock.Since(start)
	}
}

// ExchangeOne exchanges one pair now and records the outcome.
func (s *Scheduler) ExchangeOne(ctx context.Context, pr Pair) (Result, error) {
	return s.exchangeOne(ctx, pr, nil)
}

// exchangeOne is ExchangeOne with the exchange calling yield once the
// roots differ (see Exchanger.exchangeYielding).
func (s *Scheduler) exchangeOne(ctx context.Context, pr Pair, yield func(context.Context) error) (Result, error) {
	res, err := s.ex.exchangeYielding(ctx, pr.Peer, pr.Partition, yield)
	s.record(pr, res, err)
	if err == nil && res.Repaired() > 0 {
		s.cfg.Logger.Info("repair: anti-entropy repaired keys", "partition", pr.Partition, "peer", pr.Peer,
			"here", res.RepairedHere, "there", res.RepairedThere, "compared", res.KeysCompared,
			"took", res.Took.Round(time.Millisecond))
	}
	if err != nil && !errors.Is(err, ErrNotReady) && ctx.Err() == nil && s.shouldWarn(pr.Peer) {
		s.cfg.Logger.Warn("repair: anti-entropy exchange failed (further failures with this peer are "+
			"logged at most every 30 s; see /v1/anti-entropy)", "partition", pr.Partition, "peer", pr.Peer, "err", err)
	}
	return res, err
}

// shouldWarn reports whether a failure with peer may be logged now: at most
// one warning per peer every warnEvery, so a peer that is down does not
// flood the log with one line per partition.
func (s *Scheduler) shouldWarn(peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warned == nil {
		s.warned = map[string]time.Time{}
	}
	if s.cfg.Clock.Since(s.warned[peer]) < warnEvery {
		return false
	}
	s.warned[peer] = s.cfg.Clock.Now()
	return true
}

const warnEvery = 30 * time.Second

func (s *Scheduler) record(pr Pair, res Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pairs[pr]
	if st == nil {
		st = &PairStatus{Pair: pr}
		s.pairs[pr] = st
	}
	st.Last = res
	st.LastError = ""
	st.equal = err == nil && res.RootsEqual
	st.root, st.equalAt = res.root, res.Start
	st.Repaired += uint64(res.Repaired())
	s.stats.Exchanges++
	switch {
	case errors.Is(err, ErrNotReady):
		s.stats.NotReady++
		st.LastError = err.Error()
	case err != nil:
		s.stats.Failures++
		st.LastError = err.Error()
	default:
		st.LastSuccess = res.Start.Add(res.Took)
	}
	if err != nil {
		s.forgetPeer(pr.Peer)
	}
	if res.RootsEqual {
		s.stats.RootsEqual++
	}
	s.stats.SegmentHashes += uint64(res.SegmentHashes)
	s.stats.SegmentsDiffer += uint64(res.SegmentsDiffering)
	s.stats.KeysCompared += uint64(res.KeysCompared)
	s.stats.KeysRepaired += uint64(res.Repaired())
	s.stats.BytesSent += uint64(res.BytesSent)
	s.stats.BytesReceived += uint64(res.BytesReceived)
}

// Stats returns the cumulative counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.PacedTime = s.limiter.Waited()
	return st
}

// Progress returns where the background walk is.
func (s *Scheduler) Progress() RoundProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.round
}

// Status returns every pair exchanged so far, by partition then peer.
func (s *Scheduler) Status() []PairStatus {
	s.mu.Lock()
	out := make([]PairStatus, 0, len(s.pairs))
	for _, st := range s.pairs {
		out = append(out, *st)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b PairStatus) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Peer, b.Peer))
	})
	return out
}

// add sums o's counters into r; r.Start keeps the earliest start.
func (r *Result) add(o Result) {
	if r.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(r.Start)) {
		r.Start = o.Start
	}
	r.Took += o.Took
	r.BranchesDiffering += o.BranchesDiffering
	r.SegmentsDiffering += o.SegmentsDiffering
	r.SegmentHashes += o.SegmentHashes
	r.KeysCompared += o.KeysCompared
	r.KeysDiffering += o.KeysDiffering
	r.RepairedHere += o.RepairedHere
	r.RepairedThere += o.RepairedThere
	r.BytesSent += o.BytesSent
	r.BytesReceived += o.BytesReceived
}
