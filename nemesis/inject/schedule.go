package inject

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind names a fault.
type Kind string

// The faults (see the package documentation).
const (
	Kill       Kind = "kill"
	Pause      Kind = "pause"
	Partition  Kind = "partition"
	Clock      Kind = "clock"
	Disk       Kind = "disk"
	Membership Kind = "membership"
)

// Kinds lists every fault kind.
var Kinds = []Kind{Kill, Pause, Partition, Clock, Disk, Membership}

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("inject: unknown fault %q (want one of %v)", s, Kinds)
}

// Fault is one planned fault: its kind and variant, the nodes it strikes,
// and when it starts and heals, from the start of the run.
type Fault struct {
	Kind Kind
	// Variant refines the kind: "one" or "minority" (kill); "majority",
	// "isolate" or "bridge" (partition); "full" or "slow" (disk); empty
	// otherwise.
	Variant string
	// Nodes are the nodes struck: killed, paused, clock-shifted or
	// disk-faulted; a partition's minority side (none for a bridge, where
	// each half with the bridge node is a majority); for membership, the
	// node that joins, once Run has started it.
	Nodes []int
	// ClockOffset is the clock fault's offset.
	ClockOffset time.Duration
	At, Heal    time.Duration
}

// String describes the fault for a log line.
func (f Fault) String() string {
	s := string(f.Kind)
	if f.Variant != "" {
		s += "/" + f.Variant
	}
	if len(f.Nodes) > 0 {
		s += fmt.Sprintf(" nodes %v", f.Nodes)
	}
	if f.Kind == Clock {
		s += fmt.Sprintf(" offset %v", f.ClockOffset)
	}
	return s + fmt.Sprintf(" at %v for %v", f.At, f.Heal-f.At)
}

// ScheduleConfig shapes a plan.
type ScheduleConfig struct {
	// Nodes is the cluster's size at the start (at least 3).
	Nodes int
	// Duration is the length of the run; every fault heals by
	// Duration - Settle. Unused when Count is set.
	Duration time.Duration
	// Count, when positive, draws exactly Count faults, however long
	// they take: a run of cycles rather than of a set time.
	Count int
	// Kinds are the faults drawn from, uniformly. Default all.
	Kinds []Kind
	// HoldMin and HoldMax bound how long a fault lasts. Default 3-8 s.
	HoldMin, HoldMax time.Duration
	// QuietMin and QuietMax bound the time between a heal and the next
	// fault. Default 2-5 s.
	QuietMin, QuietMax time.Duration
	// Settle is the time at the end of the run with no fault. Default 2 s.
	Settle time.Duration
	// MaxClockOffset bounds a clock fault's offset, either way. Default
	// 10 min.
	MaxClockOffset time.Duration
}

func (c ScheduleConfig) withDefaults() ScheduleConfig {
	if len(c.Kinds) == 0 {
		c.Kinds = Kinds
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.HoldMin, 3*time.Second)
	def(&c.HoldMax, 8*time.Second)
	def(&c.QuietMin, 2*time.Second)
	def(&c.QuietMax, 5*time.Second)
	def(&c.Settle, 2*time.Second)
	def(&c.MaxClockOffset, 10*time.Minute)
	return c
}

// Validate reports a config Schedule cannot plan with.
func (c ScheduleConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Nodes < 3 {
		errs = append(errs, fmt.Errorf("Nodes %d: at least 3", c.Nodes))
	}
	if c.Count < 0 || (c.Count == 0 && c.Duration <= 0) {
		errs = append(errs, fmt.Errorf("Duration %v, Count %d: want a positive duration or count", c.Duration, c.Count))
	}
	for _, k := range c.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.HoldMin < 0 || c.HoldMax < c.HoldMin || c.QuietMin < 0 || c.QuietMax < c.QuietMin || c.Settle < 0 {
		errs = append(errs, fmt.Errorf("hold %v-%v, quiet %v-%v, settle %v: want 0 <= min <= max", c.HoldMin, c.HoldMax, c.QuietMin, c.QuietMax, c.Settle))
	}
	if c.MaxClockOffset <= 0 {
		errs = append(errs, fmt.Errorf("MaxClockOffset %v: must be positive", c.MaxClockOffset))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("inject: schedule: %w", err)
	}
	return nil
}

// Schedule draws a plan from rng: faults one after another, each held
// HoldMin-HoldMax and followed by QuietMin-QuietMax of quiet, the first
// after one quiet period, none ending later than Duration - Settle; or
// Count faults when Count is set.
func Schedule(cfg ScheduleConfig, rng *rand.Rand) ([]Fault, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	between := func(lo, hi time.Duration) time.Duration {
		if hi == lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var plan []Fault
	at := between(cfg.QuietMin, cfg.QuietMax)
	for {
		hold := between(cfg.HoldMin, cfg.HoldMax)
		if cfg.Count > 0 && len(plan) == cfg.Count || cfg.Count == 0 && at+hold > cfg.Duration-cfg.Settle {
			return plan, nil
		}
		f := draw(cfg, rng)
		f.At, f.Heal = at, at+hold
		plan = append(plan, f)
		at += hold + between(cfg.QuietMin, cfg.QuietMax)
	}
}

// draw picks one fault's kind, variant and nodes.
func draw(cfg ScheduleConfig, rng *rand.Rand) Fault {
	f := Fault{Kind: cfg.Kinds[rng.IntN(len(cfg.Kinds))]}
	one := []int{rng.IntN(cfg.Nodes)}
	minority := rng.Perm(cfg.Nodes)[:(cfg.Nodes-1)/2]
	slices.Sort(minority)
	switch f.Kind {
	case Kill:
		f.Variant, f.Nodes = "one", one
		if rng.IntN(2) == 0 && len(minority) > 1 {
			f.Variant, f.Nodes = "minority", minority
		}
	case Pause:
		f.Nodes = one
	case Partition:
		switch rng.IntN(3) {
		case 0:
			f.Variant, f.Nodes = "majority", minority
		case 1:
			f.Variant, f.Nodes = "isolate", one
		default:
			f.Variant = "bridge" // each half with the bridge node is a majority: nobody is cut off from one
		}
	case Clock:
		f.Nodes = one
		f.ClockOffset = time.Duration(rng.Int64N(int64(2*cfg.MaxClockOffset))) - cfg.MaxClockOffset
		f.ClockOffset = f.ClockOffset.Round(time.Second)
		if f.ClockOffset == 0 {
			f.ClockOffset = -cfg.MaxClockOffset
		}
	case Disk:
		f.Nodes = one
		f.Variant = []string{"full", "slow"}[rng.IntN(2)]
	}
	return f
}
