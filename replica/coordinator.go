package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/ring"
)

// ErrClosed is returned by requests made after Close.
var ErrClosed = errors.New("replica: coordinator closed")

// ErrNoRing is returned by requests made before the first SetRing, or
// while the ring has no members.
var ErrNoRing = errors.New("replica: no ring yet")

// Config configures a Coordinator. Start from DefaultConfig.
type Config struct {
	// Self is this node's ID, the node that mints dots for the writes it
	// coordinates.
	Self string
	// Store is this node's storage and hint queue.
	Store Store
	// Transport reaches the other replicas.
	Transport Transport
	// Liveness tells which nodes are up.
	Liveness Liveness
	// FallbackAfter is how long a write or read waits for a primary that
	// neither answered nor failed before it also asks the next fallback
	// (sloppy quorum for slow nodes, not just dead ones). It is measured
	// on Clock, and capped at half the request's timeout. Default 250 ms.
	FallbackAfter time.Duration
	// ReadRepairs bounds the read repairs in progress; a read that finds
	// stale replicas while the bound is reached skips its repair (counted
	// in Stats.ReadRepairsDropped), so repairs cannot pile up. Default 256.
	ReadRepairs int
	// CloseTimeout bounds how long Close waits for in-flight replication
	// and repairs to finish before cancelling them. Default 5 s. It is
	// real time, as request deadlines are: it bounds how long a shutdown
	// takes, not what the protocol decides.
	CloseTimeout time.Duration
	// Clock times the fallback wait and stamps written values. Nil means
	// real time; tests step a clock.Fake.
	Clock clock.Clock
	// Logger receives this package's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults; callers set Self, Store, Transport
// and Liveness.
func DefaultConfig() Config {
	return Config{FallbackAfter: 250 * time.Millisecond, ReadRepairs: 256, CloseTimeout: 5 * time.Second}
}

// Validate reports whether c is usable by NewCoordinator.
func (c Config) Validate() error {
	switch {
	case c.Self == "":
		return fmt.Errorf("replica: config: Self must name this node")
	case c.Store == nil || c.Transport == nil || c.Liveness == nil:
		return fmt.Errorf("replica: config: Store, Transport and Liveness are required")
	case c.FallbackAfter < 0 || c.ReadRepairs < 0 || c.CloseTimeout < 0:
		return fmt.Errorf("replica: config: FallbackAfter, ReadRepairs and CloseTimeout must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.FallbackAfter == 0 {
		c.FallbackAfter = d.FallbackAfter
	}
	if c.ReadRepairs == 0 {
		c.ReadRepairs = d.ReadRepairs
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = d.CloseTimeout
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Coordinator runs get, put and delete requests against the replicas of
// each key. It is safe for concurrent use. Replication that continues
// after a request was answered (to the replicas beyond W) and read repair
// run on goroutines the Coordinator owns; Close waits for them.
type Coordinator struct {
	cfg  Config
	log  *slog.Logger
	ring atomic.Pointer[ring.Ring]
	// leavers is SetLeavers' map.
	leavers atomic.Pointer[map[uint32][]string]

	// repairSlots bounds concurrent read repairs.
	repairSlots chan struct{}

	// ctx is cancelled by Close once in-flight work had its chance to end.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.RWMutex // guards closed against wg.Add after Close began
	closed bool
	wg     sync.WaitGroup

	stats counters
}

type counters struct {
	puts, gets, deletes, sloppy, quorumFailures      atomic.Uint64
	readRepairs, readRepairsDropped, hinted, replies atomic.Uint64
	partialReplies, digestReads, digestMismatches    atomic.Uint64
}

// NewCoordinator returns a Coordinator. It serves requests once SetRing
// gave it a ring.
func NewCoordinator(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "coordinator"),
		repairSlots: make(chan struct{}, cfg.ReadRepairs),
		ctx:         ctx,
		cancel:      cancel,
	}, nil
}

// SetLeavers names, per partition, the nodes that left the ring but hold
// the partition whole until its new owners have pulled it (a leave in
// progress). Reads ask them first in place of a replica that answers
// partially or fails, so a read with R = N still succeeds during a leave.
// Nil names none. The map must not change after the call.
func (c *Coordinator) SetLeavers(l map[uint32][]string) {
	if l == nil {
		c.leavers.Store(nil)
		return
	}
	c.leavers.Store(&l)
}

// SetRing makes r the ring that later requests route by.
func (c *Coordinator) SetRing(r *ring.Ring) { c.ring.Store(r) }

// Ring returns the current ring, nil before the first SetRing.
func (c *Coordinator) Ring() *ring.Ring { return c.ring.Load() }

// Stats returns the counters since NewCoordinator.
func (c *Coordinator) Stats() Stats {
	s := &c.stats
	return Stats{
		Puts: s.puts.Load(), Gets: s.gets.Load(), Deletes: s.deletes.Load(),
		Sloppy: s.sloppy.Load(), QuorumFailures: s.quorumFailures.Load(),
		ReadRepairs: s.readRepairs.Load(), ReadRepairsDropped: s.readRepairsDropped.Load(),
		Hinted: s.hinted.Load(), PartialReplies: s.partialReplies.Load(), Replies: s.replies.Load(),
		DigestReads: s.digestReads.Load(), DigestMismatches: s.digestMismatches.Load(),
	}
}

// Close stops intake (later requests fail with ErrClosed), lets in-flight
// replication and read repairs finish for up to Config.CloseTimeout, then
// cancels what is left and waits for it. It is idempotent.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if already {
		c.wg.Wait()
		return nil
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	t := time.NewTimer(c.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.log.Warn("closing with replication still in flight; cancelling it")
	}
	c.cancel()
	<-done
	return nil
}

// track registers one owned goroutine; it fails after Close.
func (c *Coordinator) track() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// begin fits a request's options to the current ring (Options.Fit) and
// checks them; the request runs with the options it returns.
func (c *Coordinator) begin(opts Options) (*ring.Ring, Options, error) {
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil, opts, ErrClosed
	}
	r := c.ring.Load()
	if r == nil || r.Size() == 0 {
		return nil, opts, ErrNoRing
	}
	fit := opts.Fit(r.Size())
	if err := fit.ValidateFor(r); err != nil {
		if fit.N < opts.N {
			// Say where the smaller N came from: the request did not ask for it.
			return nil, opts, fmt.Errorf("%w (n is %d: the default n=%d capped at the %d nodes in the ring)",
				err, fit.N, opts.N, r.Size())
		}
		return nil, opts, err
	}
	return r, fit, nil
}

// fallbackAfter is the wait before late primaries get a fallback.
func (c *Coordinator) fallbackAfter(opts Options) time.Duration {
	return min(c.cfg.FallbackAfter, opts.Timeout/2)
}
