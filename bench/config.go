package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
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
	DefaultKeys      = 10000
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
	// Op is the operation mix: OpPut, OpGet, OpMixed, the YCSB core
	// workloads OpA, OpB, OpC, OpD, OpF, or OpDelete. Default OpPut.
	Op Op
	// ReadRatio is the fraction of reads of OpMixed, in [0, 1]; other mixes
	// ignore it. Default (when zero) 0.5.
	ReadRatio float64
	// Keys is the size of the key space: keys are "key-%08d" with the
	// number in [0, Keys), chosen by Distribution; inserts (OpD) add keys
	// from Keys up. Default 10000.
	Keys int
	// Distribution chooses the key of each operation. Default: the mix's
	// own (YCSB's: zipfian for A, B, C and F, latest for D), uniform for
	// put, get, mixed and delete.
	Distribution Distribution
	// Theta is the skew of Zipfian and Latest, above zero: the key of
	// rank i is chosen with probability proportional to 1/i^Theta.
	// Default DefaultTheta (0.99, YCSB's).
	Theta float64
	// ValueSize is the size of written values in bytes. Default 100.
	ValueSize int
	// ValueSizeMax, when above ValueSize, makes each written value's size
	// uniform in [ValueSize, ValueSizeMax].
	ValueSizeMax int
	// Rate, when positive, runs an open loop: operations are scheduled at
	// Rate per second in all, spread evenly over the clients (client i
	// of C sends its k-th at start + (i + k*C)/Rate), and each latency is
	// measured from the operation's scheduled start, not from when it was
	// sent, so that a stall delays and counts every operation scheduled
	// during it (no coordinated omission). Clients then bounds the
	// operations in flight. Zero runs a closed loop.
	Rate float64
	// Seed seeds the clients' random sources (client i uses Seed and i);
	// zero is a seed like any other. DefaultConfig sets 1.
	Seed int64
	// Warmup runs the workload this long before measuring; its operations
	// are not recorded. Default 0.
	Warmup time.Duration
	// NoPreload skips writing every key once before a run whose mix reads
	// (everything but OpPut and OpMixed without reads): reads of missing
	// keys then count as misses.
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
		{"ValueSizeMax", int64(c.ValueSizeMax)}, {"Duration", int64(c.Duration)}, {"Warmup", int64(c.Warmup)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", f.name, f.v))
		}
	}
	if _, ok := mixes[c.Op]; !ok && c.Op != "" && c.Op != OpMixed {
		errs = append(errs, fmt.Errorf("unknown Op %q (want one of %s)", c.Op, strings.Join(Ops(), ", ")))
	}
	switch c.Distribution {
	case "", Uniform, Zipfian, Latest:
	default:
		errs = append(errs, fmt.Errorf("unknown Distribution %q (want %s)", c.Distribution, strings.Join(Distributions(), ", ")))
	}
	if c.Theta != 0 && !(c.Theta > 0 && c.Theta <= 100) {
		errs = append(errs, fmt.Errorf("Theta must be above 0 (and at most 100), got %v", c.Theta))
	}
	if c.ValueSizeMax != 0 && c.ValueSizeMax < c.ValueSize {
		errs = append(errs, fmt.Errorf("ValueSizeMax (%d) must not be below ValueSize (%d)", c.ValueSizeMax, c.ValueSize))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("Rate must be a finite number of operations per second, not below zero, got %v", c.Rate))
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
	c.ValueSizeMax = max(c.ValueSizeMax, c.ValueSize)
	if c.Distribution == "" {
		c.Distribution = c.mixOf().dist
	}
	if c.Theta == 0 {
		c.Theta = DefaultTheta
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// readsExisting reports whether the mix reads or changes keys it expects
// to exist, so that a run preloads the key space first.
func (c Config) readsExisting() bool {
	m := c.mixOf()
	return m.has(kindGet) || m.has(kindRMW)
}
