package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/silence"
)

// ErrIndeterminate is wrapped by the error of a forwarded write whose
// outcome is unknown: it was sent to a coordinator and no answer came
// back, so it may have been applied.
var ErrIndeterminate = errors.New("replica: outcome unknown: the write may have been applied")

// IndeterminateError reports a forwarded write that was sent and not
// answered. It names the coordinator; the write is not sent anywhere else
// (see Forwarder).
type IndeterminateError struct {
	Op   string // "put" or "delete"
	Node string // the coordinator the write was sent to
	Err  error  // why the wait ended
}

func (e *IndeterminateError) Error() string {
	return fmt.Sprintf("replica: %s forwarded to %s: %v; the write may have been applied and was not retried elsewhere",
		e.Op, e.Node, e.Err)
}

// Unwrap returns ErrIndeterminate and the cause.
func (e *IndeterminateError) Unwrap() []error { return []error{ErrIndeterminate, e.Err} }

// Delivery says what a forwarded write's send did.
type Delivery int

const (
	// NotSent: the write certainly did not reach the node (no connection
	// could be made); another primary may be tried.
	NotSent Delivery = iota
	// Answered: the node answered, with success or with its own error.
	// The answer is the request's answer.
	Answered
	// Unknown: the write left and no answer came back (a broken
	// connection, the deadline): it may have been applied.
	Unknown
)

// SendFunc sends a forwarded write to node and classifies what happened.
// The Forwarder calls it at most once per Forward.
type SendFunc func(ctx context.Context, node string) (Delivery, error)

// ForwardTransport is what the Forwarder needs of the network besides the
// send itself. Implementations must be safe for concurrent use.
type ForwardTransport interface {
	// Ready reports whether a request to node could be sent now. False
	// means a call would certainly not reach node (no connection, or one
	// known broken), so trying it is pointless.
	Ready(node string) bool
	// Ping asks node for an immediate answer that touches nothing, and
	// returns nil once it came.
	Ping(ctx context.Context, node string) error
}

// ForwarderConfig configures a Forwarder. Start from
// DefaultForwarderConfig.
type ForwarderConfig struct {
	// Self is this node's ID.
	Self string
	// Liveness tells which nodes the failure detector believes are up.
	Liveness Liveness
	// Transport checks and pings coordinators.
	Transport ForwardTransport
	// SilenceAfter bounds the wait on a silent coordinator. Half-way
	// through, a forwarded write that has no answer yet pings its
	// coordinator; if the ping has not been answered when SilenceAfter
	// has passed, the write fails with an IndeterminateError naming the
	// node, and the node is suspect for SuspectFor. A coordinator that
	// answers the ping is slow, not silent: the write waits for its
	// answer until the request's deadline. Default 250 ms, the
	// coordinator's FallbackAfter.
	SilenceAfter time.Duration
	// SuspectFor is how long a silent coordinator is passed over by later
	// writes; after it, the next write pings it before sending. Default 2 s.
	SuspectFor time.Duration
	// Clock times the watch on a coordinator (the ping, SilenceAfter)
	// and suspicion. Nil means real time; tests step a clock.Fake.
	Clock clock.Clock
	// Logger receives this component's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultForwarderConfig returns the defaults; callers set Self, Liveness
// and Transport.
func DefaultForwarderConfig() ForwarderConfig {
	return ForwarderConfig{SilenceAfter: 250 * time.Millisecond, SuspectFor: 2 * time.Second}
}

// Validate reports whether c is usable by NewForwarder.
func (c ForwarderConfig) Validate() error {
	switch {
	case c.Self == "":
		return fmt.Errorf("replica: forwarder config: Self must name this node")
	case c.Liveness == nil || c.Transport == nil:
		return fmt.Errorf("replica: forwarder config: Liveness and Transport are required")
	case c.SilenceAfter < 0 || c.SuspectFor < 0:
		return fmt.Errorf("replica: forwarder config: SilenceAfter and SuspectFor must not be negative")
	}
	return nil
}

func (c ForwarderConfig) withDefaults() ForwarderConfig {
	d := DefaultForwarderConfig()
	if c.SilenceAfter == 0 {
		c.SilenceAfter = d.SilenceAfter
	}
	if c.SuspectFor == 0 {
		c.SuspectFor = d.SuspectFor
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Forwarder chooses the coordinator of a write that reached a node which
// is not one of the key's primaries, and sends it there once.
//
// The rule: a write is coordinated once. Each coordination mints a new
// dot, and the client's answer carries the context of one coordination
// only, so a second coordination of the same write would leave a sibling
// the client never saw: a later delete with the client's context would
// miss it (a resurrection), and a write-once key would hold two copies.
// So a write goes to one coordinator, and once it may have reached it, to
// no other: its answer, or an IndeterminateError when none comes, is the
// request's answer. Only a send that certainly did not leave (NotSent)
// moves on to the next primary, and when nothing was sent anywhere the
// caller may coordinate the write itself (sloppy quorum). This is the
// client's rule too: a write is never retried once sent.
//
// Waiting is bounded by liveness, not only by the deadline: a coordinator
// that neither answers the write nor a ping within SilenceAfter (paused,
// cut off but not yet declared dead) ends the wait, and later writes pass
// it over for SuspectFor, so a silent node stalls only the writes already
// sent to it.
type Forwarder struct {
	cfg ForwarderConfig
	log *slog.Logger

	mu      sync.Mutex
	suspect map[string]time.Time // node -> passed over until
}

// NewForwarder returns a Forwarder.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Forwarder{cfg: cfg, log: cfg.Logger.With("component", "forwarder"), suspect: make(map[string]time.Time)}, nil
}

// Forward sends a write (op is "put" or "delete") to one of primaries,
// the key's primaries on partition, in coordinator order (see
// CoordinatorOrder), passing over nodes that are down, not reachable or
// suspect. It returns the node the write was sent to and the send's
// error, or "" and nil when this node is a primary or the write was sent
// nowhere: the caller then coordinates it.
func (f *Forwarder) Forward(ctx context.Context, op string, primaries []string, partition uint32, send SendFunc) (string, error) {
	if slices.Contains(primaries, f.cfg.Self) {
		return "", nil
	}
	for _, node := range CoordinatorOrder(primaries, partition) {
		if !f.cfg.Liveness.Alive(node) || !f.cfg.Transport.Ready(node) || !f.usable(ctx, node) {
			continue
		}
		d, err := f.sendWatched(ctx, node, send)
		switch {
		case d == NotSent && ctx.Err() == nil:
			continue
		case d == Answered:
			return node, err
		case err == nil: // a NotSent or Unknown send cannot succeed
			return node, &IndeterminateError{Op: op, Node: node, Err: errors.New("no answer")}
		}
		return node, &IndeterminateError{Op: op, Node: node, Err: err}
	}
	return "", nil
}

// usable reports whether node may be sent a write now: it is not suspect,
// or its suspicion expired and it answered a ping.
func (f *Forwarder) usable(ctx context.Context, node string) bool {
	f.mu.Lock()
	until, ok := f.suspect[node]
	f.mu.Unlock()
	if !ok {
		return true
	}
	if f.cfg.Clock.Now().Before(until) {
		return false
	}
	if silence.Ping(ctx, f.cfg.Clock, f.cfg.SilenceAfter, func(ctx context.Context) error { return f.cfg.Transport.Ping(ctx, node) }) {
		f.clearSuspect(node)
		return true
	}
	f.markSuspect(node)
	return false
}

func (f *Forwarder) markSuspect(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.suspect[node]; !ok {
		f.log.Warn("coordinator is silent; passing it over", "peer", node, "for", f.cfg.SuspectFor)
	}
	f.suspect[node] = f.cfg.Clock.Now().Add(f.cfg.SuspectFor)
}

func (f *Forwarder) clearSuspect(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.suspect[node]; ok {
		delete(f.suspect, node)
		f.log.Info("coordinator answers again", "peer", node)
	}
}

// Suspects returns the nodes passed over right now, sorted.
func (f *Forwarder) Suspects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Clock.Now()
	var out []string
	for n, until := range f.suspect {
		if now.Before(until) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// sendWatched runs send under silence.Watch: a coordinator that answers
// neither the write nor a ping within SilenceAfter is suspect, and the
// send's context is cancelled.
func (f *Forwarder) sendWatched(ctx context.Context, node string, send SendFunc) (Delivery, error) {
	var (
		d   Delivery
		err error
	)
	ping := func(ctx context.Context) error { return f.cfg.Transport.Ping(ctx, node) }
	silent := silence.Watch(ctx, f.cfg.Clock, f.cfg.SilenceAfter, ping, func(ctx context.Context) {
		d, err = send(ctx, node)
	})
	if silent {
		f.markSuspect(node)
		if d != Answered {
			err = &silence.Error{After: f.cfg.SilenceAfter}
		}
	}
	return d, err
}

// CoordinatorOrder returns the primaries of partition p in the order
// writes should try them as coordinator: rotated by p, so that each node
// coordinates its share of the partitions. (The ring's first primary is
// the same node for every partition of a cluster grown from one node.)
func CoordinatorOrder(primaries []string, p uint32) []string {
	if len(primaries) < 2 {
		return primaries
	}
	i := int(p % uint32(len(primaries)))
	return append(slices.Clone(primaries[i:]), primaries[:i]...)
}
