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
	// them; the Scheduler calls it at the start of every round, so it
	// follows ring changes. Required.
	Pairs func() []Pair

	// KeysPerSecond bounds the keys an exchange compares or syncs per
	// second, summed over the node. Default 20,000.
	KeysPerSecond int
	// BytesPerSecond bounds the set bytes an exchange moves per second.
	// Default 4 MiB.
	BytesPerSecond int

	// Interval is the pause between two exchanges, and between rounds.
	// Default 50 ms: a node holding 512 pairs walks them all in about 30 s
	// when the trees agree.
	Interval time.Duration

	// ForegroundP99 reports the node's recent client-request p99 latency.
	// While it is above BackoffAbove the Scheduler waits before the next
	// exchange, doubling the wait from Interval up to MaxBackoff (Dynamo
	// §6.5: background work yields to foreground work). nil: never back
	// off.
	ForegroundP99 func() time.Duration
	// BackoffAbove is the p99 latency above which exchanges back off.
	// Default 50 ms.
	BackoffAbove time.Duration
	// MaxBackoff caps the backoff wait. Default 30 s.
	MaxBackoff time.Duration

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
)

// DefaultConfig returns the defaults described on Config, without Pairs.
func DefaultConfig() Config {
	return Config{
		KeysPerSecond:  DefaultKeysPerSecond,
		BytesPerSecond: DefaultBytesPerSecond,
		Interval:       DefaultInterval,
		BackoffAbove:   DefaultBackoffAbove,
		MaxBackoff:     DefaultMaxBackoff,
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
	}
	return nil
}
