package repair

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// ErrBadConfig is wrapped by every error Config.Validate returns.
var ErrBadConfig = errors.New("repair: invalid config")

// Pair is one partition and one peer to exchange it with.
type Pair struct {
	Partition uint32 `json:"partition"`
	Peer      string `json:"peer"`
}

// Config tunes a Scheduler. Zero fields take the defaults of
// DefaultConfig, except the functions.
type Config struct {
	// Pairs returns the pairs this node exchanges, in the order to walk
	// them (within that order a walk takes the pairs not known equal
	// first). The Scheduler calls it at the start of every round and again
	// after every exchange, so it follows ring and liveness changes within
	// a walk; it must be cheap (no I/O). Required.
	Pairs func() []Pair
	// StartPairs, if set, replaces Pairs in the walks after the node
	// starts, until one of them met no tree that was not ready: every
	// pair of this node's partitions, whichever node initiates it
	// otherwise (Placement.StartPairs). A node killed before it
	// replicated a write holds the only copy, and the peers that
	// initiate half its pairs may not have noticed it was gone (it came
	// back faster than the failure detector), so they would exchange
	// those pairs only when their walk comes to them.
	StartPairs func() []Pair

	// KeysPerSecond bounds the keys an exchange compares or syncs per
	// second, summed over the node. Default 20,000.
	KeysPerSecond int
	// BytesPerSecond bounds the set bytes an exchange moves per second.
	// Default 4 MiB.
	BytesPerSecond int

	// Interval is the pause after an exchange that went past the roots
	// (found a difference, or failed), and the least pause between
	// rounds. An exchange that ended at equal roots cost one round trip
	// and is followed by the next at once, so a restarted node walks
	// hundreds of unchanged pairs in round trips. Default 50 ms.
	Interval time.Duration

	// Recheck is the longest the background walk passes over a pair
	// without exchanging it, while its last exchange found the roots equal
	// and this node's tree of the partition has not changed since. A
	// change on the peer's side alone (a write this node missed, whose
	// hint was lost) is found by the exchange of the pair at the latest
	// Recheck later, or at once if the peer initiates that pair. Default
	// 5 min: on an idle 3-node cluster of 256 partitions this is under one
	// root round trip per second per node, where exchanging every pair
	// continuously cost 20.
	Recheck time.Duration

	// MaxIdle is the longest pause between two walks while there is
	// nothing to exchange: the pause doubles from Interval up to it after
	// each walk that found no difference, and Notify ends it at once (the
	// server calls it on a local write and on a membership or ring
	// change). Without a Notify it bounds how late the walk sees a pair
	// that appeared. Default 30 s: an idle walk computes the pairs and
	// reads every partition's root, about a millisecond.
	MaxIdle time.Duration

	// ForegroundP99 reports the node's recent client-request p99 latency.
	// While it is above BackoffAbove the Scheduler waits before each
	// exchange, doubling the wait from Interval up to MaxBackoff, then
	// runs the exchange (Dynamo §6.5: background work yields a share of
	// the node to foreground work, not all of it; a walk that stopped
	// under sustained load would leave a write on one replica for as long
	// as the load lasts). nil: never back off.
	ForegroundP99 func() time.Duration
	// BackoffAbove is the p99 latency above which exchanges back off.
	// Default 50 ms.
	BackoffAbove time.Duration
	// MaxBackoff caps the backoff wait before a pair whose latest
	// exchange found the roots equal. Default 30 s.
	MaxBackoff time.Duration
	// UnsettledMaxBackoff caps the backoff wait before a pair not known
	// equal: one never exchanged since this node started, whose peer came
	// back or failed an exchange, whose partition this node just took
	// over, or whose latest exchange found a difference. Such a pair may
	// hold the only copy of a write on one side, so it waits far less
	// than a recheck; the keys and bytes budget still bounds what its
	// exchange costs. Default 250 ms; never above MaxBackoff.
	UnsettledMaxBackoff time.Duration

	// Manual turns the background walk off: exchanges run only when Round
	// or ExchangeOne is called. For tests and tools.
	Manual bool

	// Clock times the pauses, backoffs and pacing, and stamps results.
	// Default real time; tests step a clock.Fake.
	Clock clock.Clock

	// Logger receives repairs and failures. Default slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultKeysPerSecond  = 20000
	DefaultBytesPerSecond = 4 << 20
	DefaultInterval       = 50 * time.Millisecond
	DefaultBackoffAbove   = 50 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	// DefaultUnsettledMaxBackoff lets a node that took over partitions
	// exchange 20 of them within about 5 s of backoff under any load.
	DefaultUnsettledMaxBackoff = 250 * time.Millisecond
	DefaultRecheck             = 5 * time.Minute
	DefaultMaxIdle             = 30 * time.Second
)

// DefaultConfig returns the defaults described on Config, without Pairs.
func DefaultConfig() Config {
	return Config{
		KeysPerSecond:       DefaultKeysPerSecond,
		BytesPerSecond:      DefaultBytesPerSecond,
		Interval:            DefaultInterval,
		BackoffAbove:        DefaultBackoffAbove,
		MaxBackoff:          DefaultMaxBackoff,
		UnsettledMaxBackoff: DefaultUnsettledMaxBackoff,
		Recheck:             DefaultRecheck,
		MaxIdle:             DefaultMaxIdle,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.KeysPerSecond == 0 {
		c.KeysPerSecond = d.KeysPerSecond
	}
	if c.BytesPerSecond == 0 {
		c.BytesPerSecond = d.BytesPerSecond
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.BackoffAbove == 0 {
		c.BackoffAbove = d.BackoffAbove
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.UnsettledMaxBackoff == 0 {
		c.UnsettledMaxBackoff = d.UnsettledMaxBackoff
	}
	c.UnsettledMaxBackoff = min(c.UnsettledMaxBackoff, c.MaxBackoff)
	if c.Recheck == 0 {
		c.Recheck = d.Recheck
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = d.MaxIdle
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrBadConfig.
func (c Config) Validate() error {
	switch {
	case c.Pairs == nil:
		return fmt.Errorf("%w: Pairs is required", ErrBadConfig)
	case c.KeysPerSecond < 0:
		return fmt.Errorf("%w: KeysPerSecond %d is negative", ErrBadConfig, c.KeysPerSecond)
	case c.BytesPerSecond < 0:
		return fmt.Errorf("%w: BytesPerSecond %d is negative", ErrBadConfig, c.BytesPerSecond)
	case c.Interval < 0:
		return fmt.Errorf("%w: Interval %v is negative", ErrBadConfig, c.Interval)
	case c.BackoffAbove < 0:
		return fmt.Errorf("%w: BackoffAbove %v is negative", ErrBadConfig, c.BackoffAbove)
	case c.MaxBackoff < 0:
		return fmt.Errorf("%w: MaxBackoff %v is negative", ErrBadConfig, c.MaxBackoff)
	case c.UnsettledMaxBackoff < 0:
		return fmt.Errorf("%w: UnsettledMaxBackoff %v is negative", ErrBadConfig, c.UnsettledMaxBackoff)
	case c.Recheck < 0:
		return fmt.Errorf("%w: Recheck %v is negative", ErrBadConfig, c.Recheck)
	case c.MaxIdle < 0:
		return fmt.Errorf("%w: MaxIdle %v is negative", ErrBadConfig, c.MaxIdle)
	}
	return nil
}
