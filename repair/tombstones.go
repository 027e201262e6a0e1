package repair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// Tombstone collection.
//
// A delete leaves a tombstone: a set whose siblings are all tombstones. It
// must stay until every primary has it, or a replica that missed the
// delete would hand its old value back to the others, and anti-entropy
// would spread it: the zombie delete. The Collector removes a tombstone
// only when
//
//   - every sibling is a tombstone written more than Grace ago,
//   - every primary of the partition is up and holds exactly the same set
//     (it fetches them), and
//   - each replica still holds that set at the moment it removes it (the
//     removal is a compare-and-delete in storage, so a write that arrived
//     meanwhile is kept).
//
// A primary still receiving the partition (ownership handoff) answers its
// fetch as incomplete, and its partition is not collected: the old owner
// it pulls from could still hold a value the tombstone covers.
//
// What else could bring a collected value back is kept out by the node: a
// hint older than Grace is dropped, not delivered (the node caps the hint
// age at Grace), and a node that was down for longer than Grace must be
// wiped before it rejoins.

// TombstoneStore is the local store as the Collector uses it.
type TombstoneStore interface {
	// ScanPartition calls fn for every key of partition p with its set.
	ScanPartition(ctx context.Context, p uint32, fn func(key []byte, s vclock.Set) error) error
	// DeleteTombstone removes key if its stored set still equals expect.
	DeleteTombstone(ctx context.Context, p uint32, key []byte, expect vclock.Set) (bool, error)
}

// TombstoneRemote reaches the other primaries.
type TombstoneRemote interface {
	// Fetch returns peer's sets of keys, in order (empty when absent).
	Fetch(ctx context.Context, peer string, p uint32, keys [][]byte) ([]vclock.Set, error)
	// Collect asks peer to remove each key whose stored set still equals
	// the one given, and reports which it removed.
	Collect(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set) ([]bool, error)
}

// Target is a partition this node collects, with its other primaries.
type Target struct {
	Partition uint32
	Peers     []string
}

// CollectorConfig tunes a Collector.
type CollectorConfig struct {
	// Targets returns the partitions to collect: those this node leads
	// and whose every primary is up. Required.
	Targets func() []Target
	// Grace is how old the newest tombstone of a key must be before the
	// key may be collected. Default 1 h.
	Grace time.Duration
	// Interval is the pause between two passes over the targets.
	// Default 10 min.
	Interval time.Duration
	// TombstoneWrites, when set, returns a count that grows with every
	// write that leaves a key deleted on this node (storage's
	// TombstoneWrites). A background pass is then skipped while nothing can
	// have become collectable: the count has not moved since the previous
	// pass began, that pass ended without error leaving no deleted key
	// behind, and the targets are the same (a target that appears, its
	// primaries all up again, may hold old tombstones). nil: every pass
	// scans every target, which costs a read of all their keys even when
	// the store holds no tombstone.
	TombstoneWrites func() uint64
	// Manual turns the background passes off (tests call Pass).
	Manual bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Collector defaults.
const (
	DefaultGrace           = time.Hour
	DefaultCollectInterval = 10 * time.Minute

	collectBatch = 256
)

func (c CollectorConfig) withDefaults() CollectorConfig {
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.Interval == 0 {
		c.Interval = DefaultCollectInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrBadConfig.
func (c CollectorConfig) Validate() error {
	switch {
	case c.Targets == nil:
		return fmt.Errorf("%w: Targets is required", ErrBadConfig)
	case c.Grace < 0:
		return fmt.Errorf("%w: Grace %v is negative", ErrBadConfig, c.Grace)
	case c.Interval < 0:
		return fmt.Errorf("%w: Interval %v is negative", ErrBadConfig, c.Interval)
	}
	return nil
}

// CollectStats counts what the Collector did.
type CollectStats struct {
	Passes     uint64 `json:"passes"`     // completed passes
	Scanned    uint64 `json:"scanned"`    // keys looked at
	Candidates uint64 `json:"candidates"` // tombstones old enough to be considered
	Collected  uint64 `json:"collected"`  // keys removed here
	Held       uint64 `json:"held"`       // candidates kept because a primary differed or failed to answer
	Errors     uint64 `json:"errors"`     // partitions whose pass failed
	Skipped    uint64 `json:"skipped"`    // background passes skipped: no tombstone written or left since the last
}

// Collector removes tombstones that are safe to forget. It owns one
// goroutine (none with Manual), which Close stops.
type Collector struct {
	cfg    CollectorConfig
	local  TombstoneStore
	remote TombstoneRemote

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	stats CollectStats
	last  *passMark // what the latest pass saw; nil before the first
}

// passMark is what a pass saw, for telling whether the next may be
// skipped.
type passMark struct {
	writes  uint64   // TombstoneWrites when the pass began
	targets []Target // the targets it walked
	left    int      // deleted keys it saw and did not remove here
	failed  bool     // a partition failed: what it holds is unknown
}

// NewCollector returns a Collector and, unless cfg.Manual, starts it.
func NewCollector(cfg CollectorConfig, local TombstoneStore, remote TombstoneRemote) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg.withDefaults(), local: local, remote: remote, done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if cfg.Manual {
		close(c.done)
	} else {
		go c.run()
	}
	return c, nil
}

// Close stops the background passes and waits for them. Idempotent.
func (c *Collector) Close() error {
	c.cancel()
	<-c.done
	return nil
}

// Grace returns the grace period in force.
func (c *Collector) Grace() time.Duration { return c.cfg.Grace }

// Stats returns the counters.
func (c *Collector) Stats() CollectStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Collector) run() {
	defer close(c.done)
	for {
		// Real time: the collector's clock is Now, which tests skew.
		if err := clock.Sleep(c.ctx, clock.Real{}, c.cfg.Interval); err != nil {
			return
		}
		if c.idle() {
			c.count(func(s *CollectStats) { s.Skipped++ })
			continue
		}
		_, _ = c.Pass(c.ctx)
	}
}

// idle reports whether a background pass would find nothing to collect
// (CollectorConfig.TombstoneWrites).
func (c *Collector) idle() bool {
	if c.cfg.TombstoneWrites == nil {
		return false
	}
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last == nil || last.left > 0 || last.failed || c.cfg.TombstoneWrites() != last.writes {
		return false
	}
	return slices.EqualFunc(c.cfg.Targets(), last.targets, func(a, b Target) bool {
		return a.Partition == b.Partition && slices.Equal(a.Peers, b.Peers)
	})
}

// Pass runs one collection over every target now and returns how many keys
// it removed locally.
func (c *Collector) Pass(ctx context.Context) (int, error) {
	var errs []error
	total := 0
	// Read before the scan: a tombstone written during the pass moves the
	// count past this mark, so the next pass runs.
	mark := &passMark{targets: c.cfg.Targets()}
	if c.cfg.TombstoneWrites != nil {
		mark.writes = c.cfg.TombstoneWrites()
	}
	for _, t := range mark.targets {
		n, left, err := c.collectPartition(ctx, t)
		total += n
		mark.left += left
		if err != nil {
			mark.failed = true
			c.count(func(s *CollectStats) { s.Errors++ })
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			c.cfg.Logger.Warn("repair: tombstone collection failed", "partition", t.Partition, "err", err)
			errs = append(errs, err)
		}
	}
	c.count(func(s *CollectStats) { s.Passes++ })
	c.mu.Lock()
	c.last = mark
	c.mu.Unlock()
	if total > 0 {
		c.cfg.Logger.Info("repair: tombstones collected", "keys", total)
	}
	return total, errors.Join(errs...)
}

func (c *Collector) count(f func(*CollectStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// collectPartition finds the old tombstones of one partition and collects
// them batch by batch. left is how many deleted keys it saw and did not
// remove here (too young, held, or failed).
func (c *Collector) collectPartition(ctx context.Context, t Target) (collected, left int, err error) {
	cutoff := c.cfg.Now().Add(-c.cfg.Grace).UnixNano()
	var keys [][]byte
	var sets []vclock.Set
	deleted := 0
	flush := func() error {
		n, err := c.collectBatch(ctx, t, keys, sets)
		collected += n
		keys, sets = keys[:0], sets[:0]
		return err
	}
	scanned := 0
	err = c.local.ScanPartition(ctx, t.Partition, func(key []byte, s vclock.Set) error {
		scanned++
		if s.Deleted() {
			deleted++
		}
		if !collectable(s, cutoff) {
			return nil
		}
		keys, sets = append(keys, key), append(sets, s)
		if len(keys) < collectBatch {
			return nil
		}
		return flush()
	})
	if err == nil && len(keys) > 0 {
		err = flush()
	}
	c.count(func(st *CollectStats) { st.Scanned += uint64(scanned) })
	return collected, deleted - collected, err
}

// collectable reports whether s is a tombstone set whose every sibling was
// written before cutoff (Unix nanoseconds).
func collectable(s vclock.Set, cutoff int64) bool {
	if !s.Deleted() {
		return false
	}
	for _, sib := range s.Siblings() {
		if sib.Timestamp >= cutoff {
			return false
		}
	}
	return true
}

// collectBatch checks that every peer holds the same set for each key, has
// the peers remove the agreed ones, and removes them here.
func (c *Collector) collectBatch(ctx context.Context, t Target, keys [][]byte, sets []vclock.Set) (int, error) {
	c.count(func(s *CollectStats) { s.Candidates += uint64(len(keys)) })
	agreed := make([]bool, len(keys))
	for i := range agreed {
		agreed[i] = true
	}
	for _, peer := range t.Peers {
		theirs, err := c.remote.Fetch(ctx, peer, t.Partition, keys)
		if err == nil && len(theirs) != len(keys) {
			err = fmt.Errorf("fetch of %d keys answered %d", len(keys), len(theirs))
		}
		if err != nil {
			c.count(func(s *CollectStats) { s.Held += uint64(len(keys)) })
			return 0, fmt.Errorf("fetch from %s: %w", peer, err)
		}
		for i := range keys {
			agreed[i] = agreed[i] && theirs[i].Equal(sets[i])
		}
	}
	var ok [][]byte
	var okSets []vclock.Set
	for i, a := range agreed {
		if a {
			ok, okSets = append(ok, keys[i]), append(okSets, sets[i])
		}
	}
	c.count(func(s *CollectStats) { s.Held += uint64(len(keys) - len(ok)) })
	if len(ok) == 0 {
		return 0, nil
	}
	// Peers first: if this node stops half-way, it still holds the
	// tombstones, and anti-entropy hands them back to any peer that
	// removed them until a later pass collects them everywhere.
	for _, peer := range t.Peers {
		if _, err := c.remote.Collect(ctx, peer, t.Partition, ok, okSets); err != nil {
			return 0, fmt.Errorf("collect on %s: %w", peer, err)
		}
	}
	removed := 0
	for i, key := range ok {
		done, err := c.local.DeleteTombstone(ctx, t.Partition, key, okSets[i])
		if err != nil {
			return removed, err
		}
		if done {
			removed++
		}
	}
	c.count(func(s *CollectStats) { s.Collected += uint64(removed) })
	return removed, nil
}
