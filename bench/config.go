package bench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Op is the operation mix of a run.
type Op string

// Operation mixes.
const (
	// OpPut writes random keys.
	OpPut Op = "put"
	// OpGet reads random keys (preloaded first, see Config.NoPreload).
	OpGet Op = "get"
	// OpMixed reads with probability Config.ReadRatio and writes otherwise.
	OpMixed Op = "mixed"
)

// Defaults of Config, as DefaultConfig returns them.
const (
	DefaultClients   = 16
	DefaultDuration  = 10 * time.Second
	DefaultKeys      = 100000
	DefaultValueSize = 100
	DefaultReadRatio = 0.5
	DefaultSeed      = 1
)

// MaxErrorKinds caps the distinct error kinds a run tracks per operation;
// further kinds are counted under OtherErrors.
const MaxErrorKinds = 16

// OtherErrors is the kind under which errors beyond MaxErrorKinds count.
const OtherErrors = "other"

// Config configures a run. Fields documented with a default take it when
// zero; DefaultConfig returns every default.
type Config struct {
	// Clients is the number of concurrent closed-loop clients. Default 16.
	Clients int
	// Duration is how long the measured part of the run lasts (after
	// Warmup). Zero means no time limit, which needs Ops > 0.
	// DefaultConfig sets 10 s.
	Duration time.Duration
	// Ops, when positive, stops the run after exactly Ops measured
	// operations (or at Duration, whichever comes first). Warmup and
	// preload operations do not count.
	Ops int64
	// Op is the operation mix. Default OpPut.
	Op Op
	// ReadRatio is the fraction of reads of OpMixed, in [0, 1]; other mixes
	// ignore it. Default (when zero) 0.5.
	ReadRatio float64
	// Keys is the size of the key space: keys are "key-%08d" with the
	// number uniform in [0, Keys). Default 100000.
	Keys int
	// ValueSize is the size of written values in bytes. Default 100.
	ValueSize int
	// Seed seeds the clients' random sources (client i uses Seed and i);
	// zero is a seed like any other. DefaultConfig sets 1.
	Seed int64
	// Warmup runs the workload this long before measuring; its operations
	// are not recorded. Default 0.
	Warmup time.Duration
	// NoPreload skips writing every key once before a run that reads
	// (OpGet, or OpMixed with reads): reads of missing keys then count as
	// misses.
	NoPreload bool
	// Progress, when set, receives one line per second: elapsed time,
	// ops/s, p50 and p99 of that second, and errors. Nil prints nothing.
	Progress io.Writer
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Clients:   DefaultClients,
		Duration:  DefaultDuration,
		Op:        OpPut,
		ReadRatio: DefaultReadRatio,
		Keys:      DefaultKeys,
		ValueSize: DefaultValueSize,
		Seed:      DefaultSeed,
	}
}

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("bench: invalid config")

// Validate reports negative sizes and durations, an unknown Op, a
// ReadRatio outside [0, 1], and a run without any limit (Duration and
// Ops both zero). Errors wrap ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{{"Clients", int64(c.Clients)}, {"Ops", c.Ops}, {"Keys", int64(c.Keys)}, {"ValueSize", int64(c.ValueSize)},
		{"Duration", int64(c.Duration)}, {"Warmup", int64(c.Warmup)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", f.name, f.v))
		}
	}
	switch c.Op {
	case "", OpPut, OpGet, OpMixed:
	default:
		errs = append(errs, fmt.Errorf("unknown Op %q (want put, get or mixed)", c.Op))
	}
	if c.ReadRatio < 0 || c.ReadRatio > 1 {
		errs = append(errs, fmt.Errorf("ReadRatio must be in [0, 1], got %v", c.ReadRatio))
	}
	if c.Duration == 0 && c.Ops == 0 {
		errs = append(errs, errors.New("a run needs a Duration or an Ops limit"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Op == "" {
		c.Op = OpPut
	}
	if c.ReadRatio == 0 {
		c.ReadRatio = DefaultReadRatio
	}
	if c.Keys == 0 {
		c.Keys = DefaultKeys
	}
	if c.ValueSize == 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// reads reports whether the mix reads, and writes whether it writes.
func (c Config) reads() bool  { return c.Op == OpGet || c.Op == OpMixed && c.ReadRatio > 0 }
func (c Config) writes() bool { return c.Op == OpPut || c.Op == OpMixed && c.ReadRatio < 1 }
