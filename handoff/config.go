package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// ErrBadConfig is wrapped by every error Config.Validate returns.
var ErrBadConfig = errors.New("handoff: invalid config")

// Store is the node's local store as handoff uses it.
type Store interface {
	// Merge joins s into the stored set of key in partition p.
	Merge(ctx context.Context, p uint32, key []byte, s vclock.Set) error
	// LoadState returns the saved state, nil if none was ever saved.
	LoadState() ([]byte, error)
	// SaveState saves the state durably, together with every Merge
	// that returned before it.
	SaveState(ctx context.Context, b []byte) error
}

// Item is one key of a page with its set.
type Item struct {
	Key []byte
	Set vclock.Set
	// Size is the set's encoded size in bytes, as it travelled, for the
	// byte counts; zero means unknown (it is then encoded to measure it).
	Size int
}

// Page is one page of a partition scan.
type Page struct {
	Items []Item
	// Done is true when the page ends the partition.
	Done bool
	// Complete is true when the source holds the partition whole.
	Complete bool
}

// Source reads pages of a partition from another node.
type Source interface {
	Scan(ctx context.Context, node string, p uint32, after []byte, limit int) (Page, error)
}

// Liveness is the failure detector's view.
type Liveness interface {
	Alive(node string) bool
}

// Config configures a Manager.
type Config struct {
	Self     string
	Store    Store
	Source   Source
	Liveness Liveness

	// PageKeys is the most keys one page carries. Default 512.
	PageKeys int
	// Concurrency is how many transfers run at once. Default 2.
	Concurrency int
	// KeysPerSecond bounds the keys this node pulls per second, over all
	// its transfers, with a burst of one second's worth (see package
	// pace). Default 50,000.
	KeysPerSecond int
	// StallAfter is how long a transfer may go without a page before it
	// is reported stalled and moved to its next source. Default 30 s.
	StallAfter time.Duration
	// PageTimeout bounds one page's round trip. Default 10 s.
	PageTimeout time.Duration
	// RetryAfter is the pause before retrying a transfer that found no
	// usable source. Default 1 s.
	RetryAfter time.Duration
	// Manual keeps transfers from starting on their own: tests start
	// them with Step. Default false.
	Manual bool
	// Clock times stalls, retries, saves and pacing. Default real time;
	// tests step a clock.Fake.
	Clock clock.Clock
	// Logger; default slog.Default().
	Logger *slog.Logger
	// OnComplete, if set, is called with a partition once its transfer
	// completed and its completion was saved, outside the Manager's
	// locks: the partition now counts toward reads and its anti-entropy
	// pairs may be exchanged, and the server tells anti-entropy at once,
	// so that writes the node missed while the ring moved are exchanged
	// now rather than at the walk's next wake-up. It must not block.
	OnComplete func(p uint32)
}

// Defaults.
const (
	DefaultPageKeys      = 512
	DefaultConcurrency   = 2
	DefaultKeysPerSecond = 50000
	DefaultStallAfter    = 30 * time.Second
	DefaultPageTimeout   = 10 * time.Second
	DefaultRetryAfter    = time.Second
)

func (c Config) withDefaults() Config {
	set := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	setD := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	set(&c.PageKeys, DefaultPageKeys)
	set(&c.Concurrency, DefaultConcurrency)
	set(&c.KeysPerSecond, DefaultKeysPerSecond)
	setD(&c.StallAfter, DefaultStallAfter)
	setD(&c.PageTimeout, DefaultPageTimeout)
	setD(&c.RetryAfter, DefaultRetryAfter)
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
	case c.Self == "":
		return fmt.Errorf("%w: Self is required", ErrBadConfig)
	case c.Store == nil || c.Source == nil || c.Liveness == nil:
		return fmt.Errorf("%w: Store, Source and Liveness are required", ErrBadConfig)
	case c.PageKeys < 0 || c.Concurrency < 0 || c.KeysPerSecond < 0:
		return fmt.Errorf("%w: PageKeys, Concurrency and KeysPerSecond must not be negative", ErrBadConfig)
	case c.StallAfter < 0 || c.PageTimeout < 0 || c.RetryAfter < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrBadConfig)
	}
	return nil
}
