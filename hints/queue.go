package hints

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chorusdb/chorus/pace"
	"github.com/chorusdb/chorus/storage"
)

// Errors returned by Queue. Check them with errors.Is.
var (
	// ErrFull is returned by Add when the hint would take the queue over
	// Config.MaxBytes. The hint is counted in Stats.DroppedFull.
	ErrFull = errors.New("hints: queue full")

	// ErrClosed is returned by Add after Close.
	ErrClosed = errors.New("hints: closed")

	// ErrBadHint is returned by Add for a hint without a target or key.
	ErrBadHint = errors.New("hints: hint needs a target and a key")
)

// Sender hands hints to their owner. It is implemented by the transport.
type Sender interface {
	// DeliverHints sends hs, all for target and oldest first, to target,
	// which merges each set into its copy of the key. A nil error means
	// target has stored all of them durably; only then are they removed.
	// Any error keeps all of them queued to be sent again, so target must
	// tolerate duplicates (merging is idempotent). ctx carries the
	// delivery timeout. DeliverHints may be called concurrently for
	// different targets, never for the same target.
	DeliverHints(ctx context.Context, target string, hs []Hint) error
}

// Liveness tells whether a node is up, e.g. *gossip.Membership.
type Liveness interface {
	// Alive reports whether node is believed to be up. It must be cheap
	// and safe for concurrent use.
	Alive(node string) bool
}

// Queue is a durable hinted-handoff queue with its delivery loop. Its
// methods are safe for concurrent use.
type Queue struct {
	db     *storage.DB
	sender Sender
	live   Liveness
	cfg    Config

	ctx    context.Context // canceled by Close; parent of all delivery
	cancel context.CancelFunc
	wake   chan struct{} // buffered 1: Notify coalesces
	// queued (buffered 1) tells the loop that the queue is no longer
	// empty, so it starts its RetryInterval rounds again.
	queued chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	mu        sync.Mutex
	closed    bool
	seq       uint64
	targets   map[string]*target
	bytes     int64 // payload bytes queued, all targets
	count     int   // hints queued, all targets
	delivered uint64
	dropped   [numReasons]uint64
}

// target is the in-memory index of one target's hints, guarded by mu.
type target struct {
	count     int
	bytes     int64
	oldest    time.Time // Created of the oldest hint; an upper bound on age
	delivered uint64
	inFlight  bool // a delivery goroutine owns this target
	backoff   time.Duration
	retryAt   time.Time
	lastErr   error
	pacer     *pace.Pacer // MaxRate, for this target alone
	// warnedAt is when a failure to deliver to the target was last logged
	// as a warning, and quiet the failures since that were not.
	warnedAt time.Time
	quiet    int
}

// warnEvery bounds the warnings about one target's failed deliveries: a
// target that refuses for long is retried every MaxBackoff, and one line
// each time would flood the log.
const warnEvery = 30 * time.Second

// dropReason says why a hint was dropped without delivery.
type dropReason int

const (
	dropAge     dropReason = iota // older than MaxAge
	dropFull                      // refused by Add over MaxBytes
	dropCorrupt                   // stored payload did not decode
	numReasons
)

// New returns a Queue over the hint keyspace of db and starts its delivery
// loop. It scans the stored hints to rebuild its index, so hints queued
// before a restart are delivered. Close the Queue before db.
func New(db *storage.DB, sender Sender, live Liveness, cfg Config) (*Queue, error) {
	return newQueue(db, sender, live, cfg, true)
}

// newQueue is New; tests pass loop=false to drive delivery with
// deliverOnce instead of the ticker.
func newQueue(db *storage.DB, sender Sender, live Liveness, cfg Config, loop bool) (*Queue, error) {
	if db == nil || sender == nil || live == nil {
		return nil, fmt.Errorf("%w: db, sender and liveness are required", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{
		db: db, sender: sender, live: live, cfg: cfg.withDefaults(),
		wake:    make(chan struct{}, 1),
		queued:  make(chan struct{}, 1),
		targets: make(map[string]*target),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	if err := q.rebuild(); err != nil {
		q.cancel()
		return nil, fmt.Errorf("hints: rebuilding index: %w", err)
	}
	if loop {
		q.wg.Add(1)
		go q.run()
	}
	return q, nil
}

// rebuild scans every stored hint into the index. Undecodable hints are
// deleted and counted as dropped.
func (q *Queue) rebuild() error {
	return q.db.ScanAllHints(q.ctx, func(tgt string, id, payload []byte) error {
		h, err := decodeHint(tgt, payload)
		if err != nil {
			q.dropped[dropCorrupt]++
			q.cfg.Logger.Warn("hints: dropping corrupt hint", "target", tgt, "err", err)
			return q.db.DeleteHint(q.ctx, tgt, id)
		}
		q.seq = max(q.seq, idSeq(id))
		q.account(tgt, h.Created, int64(len(payload)))
		return nil
	})
}

// account adds one hint to the index. q.mu must be held (or q unshared).
func (q *Queue) account(tgt string, created time.Time, size int64) *target {
	t := q.targets[tgt]
	if t == nil {
		t = &target{pacer: pace.New(float64(q.cfg.MaxRate), q.cfg.Clock)}
		q.targets[tgt] = t
	}
	if t.count == 0 || created.Before(t.oldest) {
		t.oldest = created
	}
	t.count++
	t.bytes += size
	q.count++
	q.bytes += size
	return t
}

// unaccount removes one hint from the index. q.mu must be held.
func (q *Queue) unaccount(t *target, size int64) {
	t.count--
	t.bytes -= size
	q.count--
	q.bytes -= size
	if t.count == 0 {
		t.oldest = time.Time{}
	}
}

// Add queues h for delivery to h.Target, filling in h.Created if zero.
// With durable set it returns only once the hint is synced to disk (see
// storage). A hint that would take the queue over MaxBytes is refused with
// ErrFull. Hints are not delivered by Add; the loop picks them up at its
// next round, or at once after Notify(h.Target).
func (q *Queue) Add(ctx context.Context, h Hint, durable bool) error {
	if h.Target == "" || len(h.Key) == 0 {
		return ErrBadHint
	}
	if h.Created.IsZero() {
		h.Created = q.cfg.Clock.Now()
	}
	payload := h.encode()
	size := int64(len(payload))

	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.bytes+size > q.cfg.MaxBytes {
		q.dropped[dropFull]++
		q.mu.Unlock()
		return fmt.Errorf("%w: %d bytes queued, limit %d", ErrFull, q.bytes, q.cfg.MaxBytes)
	}
	q.seq++
	id := hintID(h.Created, q.seq)
	// Reserve the space before writing so concurrent Adds cannot
	// overshoot MaxBytes together; undo it if the write fails.
	first := q.count == 0
	t := q.account(h.Target, h.Created, size)
	q.mu.Unlock()
	if first {
		// The loop may be waiting without a timer (nothing was queued).
		select {
		case q.queued <- struct{}{}:
		default:
		}
	}

	if err := q.db.PutHint(ctx, h.Target, id, payload, durable); err != nil {
		q.mu.Lock()
		q.unaccount(t, size)
		q.mu.Unlock()
		return fmt.Errorf("hints: storing hint: %w", err)
	}
	return nil
}

// Notify asks for delivery to node now, for example because it was just
// seen alive again: it clears node's backoff and wakes the loop. It never
// blocks, and calls made while the loop is busy coalesce into one round.
func (q *Queue) Notify(node string) {
	q.mu.Lock()
	if t := q.targets[node]; t != nil {
		t.backoff, t.retryAt = 0, time.Time{}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Pending returns the number of hints queued for node.
func (q *Queue) Pending(node string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.targets[node]; t != nil {
		return t.count
	}
	return 0
}

// Close stops the delivery loop, cancels deliveries in progress and waits
// for its goroutines to exit. Hints not yet acknowledged stay stored. Later
// calls to Add return ErrClosed. Close is idempotent and does not close
// the storage DB.
func (q *Queue) Close() error {
	q.once.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		q.cancel()
		q.wg.Wait()
	})
	return nil
}
