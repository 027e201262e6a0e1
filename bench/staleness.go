package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// VersionStore is what a staleness measurement drives: a store written
// through one coordinator and read through others. Versions are
// positive; a read of a key never written returns 0.
type VersionStore interface {
	// Write stores version v of key through the writer's coordinator and
	// returns once it is acknowledged.
	Write(ctx context.Context, key []byte, v uint64) error
	// Read reads key through reader r's coordinator (0 <= r < Readers)
	// and returns the newest version among what it returned.
	Read(ctx context.Context, r int, key []byte) (uint64, error)
	// Readers is the number of reading coordinators.
	Readers() int
}

// DefaultDeltas are the delays after a write's acknowledgement at which
// MeasureStaleness reads, by default.
var DefaultDeltas = []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond}

// StalenessConfig configures MeasureStaleness. Zero fields take the
// defaults documented on them.
type StalenessConfig struct {
	// Writes is the number of acknowledged writes to read after. Default
	// 2000.
	Writes int
	// Streams is how many keys are written in parallel, each by its own
	// writer, one version after another. Default 16.
	Streams int
	// Deltas are the delays after each acknowledgement at which the key
	// is read, once per delay. Default DefaultDeltas.
	Deltas []time.Duration
	// MaxK is the largest staleness counted apart: reads MaxK or more
	// versions behind count together. Default 5.
	MaxK int
	// VersionsPerKey is how many versions a writer writes to one key
	// before it moves to a new one, so that the measurement spreads over
	// many keys, and so over many placements of their replicas relative
	// to the coordinators. Default 10.
	VersionsPerKey int
	// KeyPrefix names the keys: KeyPrefix + stream number. Default
	// "staleness-".
	KeyPrefix string
	// Progress, when set, receives a line per second.
	Progress io.Writer
}

func (c StalenessConfig) withDefaults() StalenessConfig {
	if c.Writes == 0 {
		c.Writes = 2000
	}
	if c.Streams == 0 {
		c.Streams = 16
	}
	if len(c.Deltas) == 0 {
		c.Deltas = DefaultDeltas
	}
	if c.MaxK == 0 {
		c.MaxK = 5
	}
	if c.VersionsPerKey == 0 {
		c.VersionsPerKey = 10
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "staleness-"
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Validate reports negative counts and delays; errors wrap
// ErrInvalidConfig.
func (c StalenessConfig) Validate() error {
	var errs []error
	if c.Writes < 0 || c.Streams < 0 || c.MaxK < 0 || c.VersionsPerKey < 0 {
		errs = append(errs, fmt.Errorf("Writes, Streams, MaxK and VersionsPerKey must not be negative (%d, %d, %d, %d)",
			c.Writes, c.Streams, c.MaxK, c.VersionsPerKey))
	}
	for _, d := range c.Deltas {
		if d < 0 {
			errs = append(errs, fmt.Errorf("delta %v is negative", d))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

// StalenessPoint is what the reads at one delay after acknowledgement
// saw.
type StalenessPoint struct {
	Delta time.Duration `json:"-"`
	// DeltaMS is Delta in milliseconds, for JSON.
	DeltaMS float64 `json:"delta_ms"`
	// Reads counts the reads that answered; Errors those that failed
	// (not counted in the probabilities).
	Reads  int64 `json:"reads"`
	Errors int64 `json:"errors"`
	// Consistent is the share of reads that returned the latest
	// acknowledged version (or a newer one) of their key.
	Consistent float64 `json:"consistent"`
	// Behind[k] is the share of reads that returned a version k versions
	// older than the latest acknowledged one; the last entry counts MaxK
	// or more (a read that found nothing counts there too).
	Behind []float64 `json:"behind"`
}

// StalenessResult is the outcome of MeasureStaleness.
type StalenessResult struct {
	Points []StalenessPoint `json:"points"`
	// Writes counts acknowledged writes, WriteErrors failed ones.
	Writes      int64 `json:"writes"`
	WriteErrors int64 `json:"write_errors"`
	// Gap is the mean time from a write's acknowledgement to the start of
	// the next write of the same key (the largest delta, plus its read's
	// latency): what a model of the run needs.
	Gap     time.Duration `json:"-"`
	GapMS   float64       `json:"gap_ms"`
	Elapsed time.Duration `json:"-"`
}

// MeasureStaleness measures t-visibility and k-staleness (Bailis et al.,
// "Probabilistically Bounded Staleness"): Streams writers each write
// versions 1, 2, 3, ... of their own key through the writer's
// coordinator; after each acknowledgement, the key is read once at every
// delta, through the readers in turn. A read is consistent when it
// returns the latest acknowledged version or a newer one; otherwise it is
// k versions behind. A writer writes its next version only after the
// reads of the last one have started, so every read of a version sees no
// newer acknowledged one: the probabilities are those of a single write,
// as the WARS model predicts them. (It waits for those reads to answer,
// so the gap between a key's writes is about the largest delta.)
//
// It returns early with what it measured and ctx.Err() when ctx ends.
func MeasureStaleness(ctx context.Context, s VersionStore, cfg StalenessConfig) (*StalenessResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if s.Readers() < 1 {
		return nil, fmt.Errorf("%w: the store has no reader", ErrInvalidConfig)
	}
	m := &stalenessRun{cfg: cfg, s: s, counts: make([][]atomic.Int64, len(cfg.Deltas)),
		errs: make([]atomic.Int64, len(cfg.Deltas))}
	for i := range m.counts {
		m.counts[i] = make([]atomic.Int64, cfg.MaxK+1)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Streams {
		wg.Go(func() { m.stream(ctx, i) })
	}
	stop := make(chan struct{})
	var printer sync.WaitGroup
	printer.Go(func() { m.progress(stop, start) })
	wg.Wait()
	close(stop)
	printer.Wait()
	return m.result(time.Since(start)), ctx.Err()
}

// stalenessRun is the shared state of one measurement.
type stalenessRun struct {
	cfg     StalenessConfig
	s       VersionStore
	claimed atomic.Int64 // writes started
	acked   atomic.Int64
	failed  atomic.Int64
	reader  atomic.Int64     // round robin over the readers
	counts  [][]atomic.Int64 // [delta][behind]
	errs    []atomic.Int64
	gapSum  atomic.Int64 // nanoseconds, over gapN gaps
	gapN    atomic.Int64
}

// stream writes versions 1 to VersionsPerKey of its keys, one key after
// another, until the run has claimed Writes.
func (m *stalenessRun) stream(ctx context.Context, i int) {
	var key []byte
	var latest uint64 // the latest acknowledged version of key
	var lastAck time.Time
	perKey := uint64(m.cfg.VersionsPerKey)
	for n := uint64(0); ctx.Err() == nil && m.claimed.Add(1) <= int64(m.cfg.Writes); n++ {
		v := n%perKey + 1
		if v == 1 {
			key = []byte(fmt.Sprintf("%s%d-%d", m.cfg.KeyPrefix, i, n/perKey))
			latest, lastAck = 0, time.Time{}
		}
		if !lastAck.IsZero() {
			m.gapSum.Add(int64(time.Since(lastAck)))
			m.gapN.Add(1)
		}
		if err := m.s.Write(ctx, key, v); err != nil {
			if ctx.Err() == nil {
				m.failed.Add(1)
			}
			continue
		}
		latest = v
		lastAck = time.Now()
		m.acked.Add(1)
		m.readAfter(ctx, key, latest, lastAck)
	}
}

// readAfter reads key at every delta after acked, in parallel, and
// returns once every read has answered.
func (m *stalenessRun) readAfter(ctx context.Context, key []byte, latest uint64, acked time.Time) {
	var wg sync.WaitGroup
	for di, d := range m.cfg.Deltas {
		r := int(m.reader.Add(1)-1) % m.s.Readers()
		wg.Go(func() {
			if clock.Sleep(ctx, clock.Real{}, time.Until(acked.Add(d))) != nil {
				return
			}
			seen, err := m.s.Read(ctx, r, key)
			if err != nil {
				if ctx.Err() == nil {
					m.errs[di].Add(1)
				}
				return
			}
			behind := 0
			if seen < latest {
				behind = int(min(latest-seen, uint64(m.cfg.MaxK)))
			}
			m.counts[di][behind].Add(1)
		})
	}
	wg.Wait()
}

func (m *stalenessRun) progress(stop <-chan struct{}, start time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			p := m.point(0)
			fmt.Fprintf(m.cfg.Progress, "staleness %5.0fs  %d/%d writes acknowledged (%d failed)  P(consistent at %v) %.4f\n",
				now.Sub(start).Seconds(), m.acked.Load(), m.cfg.Writes, m.failed.Load(), m.cfg.Deltas[0], p.Consistent)
		}
	}
}

func (m *stalenessRun) point(di int) StalenessPoint {
	d := m.cfg.Deltas[di]
	p := StalenessPoint{Delta: d, DeltaMS: float64(d) / float64(time.Millisecond), Errors: m.errs[di].Load(),
		Behind: make([]float64, m.cfg.MaxK+1)}
	for k := range m.counts[di] {
		p.Reads += m.counts[di][k].Load()
	}
	if p.Reads == 0 {
		return p
	}
	for k := range m.counts[di] {
		p.Behind[k] = float64(m.counts[di][k].Load()) / float64(p.Reads)
	}
	p.Consistent = p.Behind[0]
	return p
}

func (m *stalenessRun) result(elapsed time.Duration) *StalenessResult {
	res := &StalenessResult{Writes: m.acked.Load(), WriteErrors: m.failed.Load(), Elapsed: elapsed}
	for di := range m.cfg.Deltas {
		res.Points = append(res.Points, m.point(di))
	}
	if n := m.gapN.Load(); n > 0 {
		res.Gap = time.Duration(m.gapSum.Load() / n)
		res.GapMS = float64(res.Gap) / float64(time.Millisecond)
	}
	return res
}

// At returns the point measured at delta d, and false if d was not
// measured.
func (r *StalenessResult) At(d time.Duration) (StalenessPoint, bool) {
	i := slices.IndexFunc(r.Points, func(p StalenessPoint) bool { return p.Delta == d })
	if i < 0 {
		return StalenessPoint{}, false
	}
	return r.Points[i], true
}
