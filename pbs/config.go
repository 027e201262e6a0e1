package pbs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is wrapped by the errors of Config.Validate, Quorum.Validate,
// NewEmpirical and Predict.
var ErrInvalid = errors.New("pbs: invalid config")

// Legs are the delay distributions of the four one-way legs of the WARS
// model. Every replica draws its own delay from each leg for every
// operation, independently. All four are required.
type Legs struct {
	// W is the write request's delay, coordinator to replica.
	W Distribution
	// A is the write acknowledgement's delay, replica to coordinator.
	A Distribution
	// R is the read request's delay, coordinator to replica.
	R Distribution
	// S is the read response's delay, replica to coordinator.
	S Distribution
}

// Defaults of Config, as DefaultConfig returns them. Deltas defaults to
// DefaultDeltas().
const (
	DefaultTrials = 100000
	DefaultMaxK   = 5
	DefaultSeed   = 1
	// DefaultMean is the mean of every leg in DefaultConfig.
	DefaultMean = time.Millisecond
)

// DefaultDeltas returns the default read start times after commit:
// 0, 1, 2, 5, 10, 20, 50 and 100 ms.
func DefaultDeltas() []time.Duration {
	ms := time.Millisecond
	return []time.Duration{0, ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms, 50 * ms, 100 * ms}
}

// Config configures Predict. Fields documented with a default take it when
// zero (empty for Deltas); DefaultConfig returns every default.
type Config struct {
	// Quorum is the replication configuration. Required; DefaultConfig
	// sets N=3 R=1 W=1, the partial quorum the model is most useful for.
	Quorum Quorum
	// Legs are the delay distributions. Required; DefaultConfig sets every
	// leg to Exponential{Mean: 1ms}, a placeholder: fit them to measured
	// latencies (NewEmpirical) for predictions that mean something.
	Legs Legs
	// Deltas are the times after a write commits at which reads start,
	// one Point each, in this order. Non-negative. Default DefaultDeltas().
	Deltas []time.Duration
	// Trials is the number of Monte Carlo trials per delta. The same
	// trials serve every delta. Default 100000, which puts the standard
	// error of every probability below 0.0016.
	Trials int
	// Seed seeds the PCG source of the trials; zero is a seed like any
	// other. The same Config always yields the same Prediction.
	// DefaultConfig sets 1.
	Seed uint64
	// Gap is the time from one write's commit to the start of the next,
	// for k-staleness: the writer writes back to back. Nil means zero.
	Gap Distribution
	// Nodes places the coordinators, which the WARS model proper keeps
	// off the replicas (Nodes zero). In a Dynamo-style store any node
	// coordinates, and a coordinator that is one of the key's replicas
	// reaches its own copy without the network. With Nodes > 0 (the
	// cluster size, at least N and at least 2), each trial makes the
	// write's coordinator one of the N replicas with probability
	// N/Nodes, and the read's coordinator, another node, one of them with
	// probability (N - [the writer is one])/(Nodes - 1); a coordinator's
	// own replica has zero delays on every leg. The same writer writes
	// every version of a trial's history.
	Nodes int
	// LocalAck, when set with Nodes, is how long the write coordinator's
	// own copy takes to count as acknowledged (its sync, for a durable
	// write); the copy is visible at once. Nil means zero.
	LocalAck Distribution
	// ClientAck and ClientRead, when set, delay the read's start beyond
	// Δ: the acknowledgement's trip from the write's coordinator to the
	// client that times Δ, and the read request's trip from that client to
	// the read's coordinator. Nil means zero (Δ counts from the commit at
	// the coordinator, as in the paper).
	ClientAck, ClientRead Distribution
	// MaxK is how many versions behind the latest k-staleness tracks:
	// Point.Behind has MaxK+1 entries, the last one lumping "MaxK or more".
	// Default 5.
	MaxK int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	exp := Exponential{Mean: DefaultMean}
	return Config{
		Quorum: Quorum{N: 3, R: 1, W: 1},
		Legs:   Legs{W: exp, A: exp, R: exp, S: exp},
		Deltas: DefaultDeltas(),
		Trials: DefaultTrials,
		Seed:   DefaultSeed,
		MaxK:   DefaultMaxK,
	}
}

// withDefaults fills the zero fields that have defaults. It copies Deltas,
// so that the caller may reuse its slice.
func (c Config) withDefaults() Config {
	if len(c.Deltas) == 0 {
		c.Deltas = DefaultDeltas()
	} else {
		c.Deltas = slices.Clone(c.Deltas)
	}
	if c.Trials == 0 {
		c.Trials = DefaultTrials
	}
	if c.MaxK == 0 {
		c.MaxK = DefaultMaxK
	}
	return c
}

// Validate reports every invalid field, after defaults, wrapping
// ErrInvalid: an invalid Quorum, a missing leg, a Constant, Exponential or
// Empirical that is negative or empty, a negative delta, Trials or MaxK.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := c.Quorum.check(); err != nil {
		add("Quorum %v: %v", c.Quorum, err)
	}
	for _, leg := range []struct {
		name string
		d    Distribution
	}{{"W", c.Legs.W}, {"A", c.Legs.A}, {"R", c.Legs.R}, {"S", c.Legs.S}} {
		if err := checkDistribution(leg.d); err != nil {
			add("Legs.%s %v", leg.name, err)
		}
	}
	for _, opt := range []struct {
		name string
		d    Distribution
	}{{"Gap", c.Gap}, {"LocalAck", c.LocalAck}, {"ClientAck", c.ClientAck}, {"ClientRead", c.ClientRead}} {
		if opt.d != nil {
			if err := checkDistribution(opt.d); err != nil {
				add("%s %v", opt.name, err)
			}
		}
	}
	if c.Nodes != 0 && (c.Nodes < 2 || c.Nodes < c.Quorum.N) {
		add("Nodes must be 0 or at least 2 and at least N (%d), got %d", c.Quorum.N, c.Nodes)
	}
	for i, d := range c.Deltas {
		if d < 0 {
			add("Deltas[%d] is negative (%v)", i, d)
		}
	}
	if c.Trials < 1 {
		add("Trials must be at least 1, got %d", c.Trials)
	}
	if c.MaxK < 1 {
		add("MaxK must be at least 1, got %d", c.MaxK)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}
