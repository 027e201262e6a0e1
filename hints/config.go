package hints

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// Config tunes a Queue. The zero value of a field means its default, so
// DefaultConfig() and Config{} behave the same.
type Config struct {
	// MaxAge is how long a hint may wait for delivery. Older hints are
	// dropped (and counted) when delivery reaches them: by then
	// anti-entropy has repaired the owner or will. Default 3 h.
	MaxAge time.Duration

	// MaxBytes bounds the total payload bytes queued across all targets.
	// Add refuses a hint that would exceed it with ErrFull. Default 256 MiB.
	MaxBytes int64

	// RetryInterval is the period of the delivery loop: every interval it
	// tries each target that is alive, has hints and is not backing off.
	// Default 1 s.
	RetryInterval time.Duration

	// MaxBackoff caps the per-target backoff after failed deliveries; the
	// backoff starts at RetryInterval and doubles on each failure.
	// Default 4 s, or RetryInterval if that is longer. Only a target
	// believed alive is tried, so failures come from a node restarting
	// faster than the failure detector notices (no liveness change
	// announces its return) and cost a refused dial each; a longer cap
	// would leave the writes it missed waiting up to the cap after it is
	// back.
	MaxBackoff time.Duration

	// BatchSize is the most hints passed to one Sender.DeliverHints call.
	// Default 128.
	BatchSize int

	// MaxRate bounds how fast one target's hints are delivered, in hints
	// per second with a burst of one second's worth (see package pace),
	// so that a node coming back after a long outage is not flooded while
	// it also serves foreground traffic (Cassandra's hinted handoff
	// throttle). Default 2500; negative means no bound.
	MaxRate int

	// DeliverTimeout bounds one Sender.DeliverHints call, so that a hung
	// owner cannot hold its target's delivery forever. Default 10 s.
	DeliverTimeout time.Duration

	// Clock is the source of time; nil means real time. Tests inject a
	// clock.Fake to control hint ages, the loop's ticker and pacing.
	Clock clock.Clock

	// Logger receives delivery failures and dropped hints; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Defaults of the Config fields.
const (
	DefaultMaxAge         = 3 * time.Hour
	DefaultMaxBytes       = 256 << 20
	DefaultRetryInterval  = time.Second
	DefaultMaxBackoff     = 4 * time.Second
	DefaultBatchSize      = 128
	DefaultDeliverTimeout = 10 * time.Second
	DefaultMaxRate        = 2500
)

// ErrBadConfig is wrapped by Config.Validate for an invalid field.
var ErrBadConfig = errors.New("hints: invalid config")

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	setDefault(&c.MaxAge, DefaultMaxAge)
	setDefault(&c.MaxBytes, DefaultMaxBytes)
	setDefault(&c.RetryInterval, DefaultRetryInterval)
	setDefault(&c.MaxBackoff, max(DefaultMaxBackoff, c.RetryInterval))
	setDefault(&c.BatchSize, DefaultBatchSize)
	setDefault(&c.DeliverTimeout, DefaultDeliverTimeout)
	setDefault(&c.MaxRate, DefaultMaxRate)
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func setDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p == 0 {
		*p = def
	}
}

// Validate reports the first invalid field, wrapping ErrBadConfig. Zero
// fields are valid (they mean the default); negative ones are not.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxAge < 0:
		return badConfig("MaxAge", c.MaxAge, "must not be negative")
	case c.MaxBytes < 0:
		return badConfig("MaxBytes", c.MaxBytes, "must not be negative")
	case c.RetryInterval < 0:
		return badConfig("RetryInterval", c.RetryInterval, "must not be negative")
	case c.MaxBackoff < c.RetryInterval:
		return badConfig("MaxBackoff", c.MaxBackoff, "must be at least RetryInterval")
	case c.BatchSize < 0:
		return badConfig("BatchSize", c.BatchSize, "must not be negative")
	case c.DeliverTimeout < 0:
		return badConfig("DeliverTimeout", c.DeliverTimeout, "must not be negative")
	}
	return nil
}

func badConfig(field string, value any, why string) error {
	return fmt.Errorf("%w: %s = %v %s", ErrBadConfig, field, value, why)
}
