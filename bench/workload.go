package bench

import (
	"fmt"
	"slices"
	"strings"
)

// Operation mixes beyond put, get and mixed: the YCSB core workloads and
// two of Chorus's own. Each has a default key distribution (YCSB's),
// which Config.Distribution overrides.
const (
	// OpA is YCSB workload A (update heavy): 50% reads, 50% updates,
	// zipfian keys.
	OpA Op = "a"
	// OpB is YCSB workload B (read mostly): 95% reads, 5% updates,
	// zipfian keys.
	OpB Op = "b"
	// OpC is YCSB workload C (read only): 100% reads, zipfian keys.
	OpC Op = "c"
	// OpD is YCSB workload D (read latest): 95% reads, 5% inserts of new
	// keys, reads skewed towards the newest keys.
	OpD Op = "d"
	// OpF is YCSB workload F (read-modify-write): 50% reads, 50%
	// read-modify-writes (a get and a put of the same key, measured as
	// one operation), zipfian keys.
	OpF Op = "f"
	// OpDelete is delete heavy: 40% updates, 40% deletes, 20% reads,
	// uniform keys: a tombstone-heavy load.
	OpDelete Op = "delete"
)

// Distribution is how a run chooses the key of each operation.
type Distribution string

// Key distributions.
const (
	// Uniform picks every key with the same probability.
	Uniform Distribution = "uniform"
	// Zipfian picks key ranks with probability proportional to
	// 1/rank^Theta, scattered over the key space by a hash so that the
	// hot keys are not the first ones (YCSB's "scrambled zipfian").
	Zipfian Distribution = "zipfian"
	// Latest is zipfian over recency: the most recently inserted keys are
	// the most popular (YCSB workload D).
	Latest Distribution = "latest"
)

// DefaultTheta is YCSB's zipfian constant.
const DefaultTheta = 0.99

// Operation kinds, indexes of worker.stats, in report order.
const (
	kindPut = iota
	kindGet
	kindInsert
	kindRMW
	kindDelete
	numKinds
)

var kindNames = [numKinds]string{"put", "get", "insert", "rmw", "delete"}

// mix is the share of each operation kind in a workload; the shares add
// up to 1.
type mix struct {
	shares [numKinds]float64
	dist   Distribution
}

// mixes are the predefined workloads; OpMixed is built from ReadRatio.
var mixes = map[Op]mix{
	OpPut:    {shares: [numKinds]float64{kindPut: 1}, dist: Uniform},
	OpGet:    {shares: [numKinds]float64{kindGet: 1}, dist: Uniform},
	OpA:      {shares: [numKinds]float64{kindGet: 0.5, kindPut: 0.5}, dist: Zipfian},
	OpB:      {shares: [numKinds]float64{kindGet: 0.95, kindPut: 0.05}, dist: Zipfian},
	OpC:      {shares: [numKinds]float64{kindGet: 1}, dist: Zipfian},
	OpD:      {shares: [numKinds]float64{kindGet: 0.95, kindInsert: 0.05}, dist: Latest},
	OpF:      {shares: [numKinds]float64{kindGet: 0.5, kindRMW: 0.5}, dist: Zipfian},
	OpDelete: {shares: [numKinds]float64{kindPut: 0.4, kindDelete: 0.4, kindGet: 0.2}, dist: Uniform},
}

// Ops returns the names of every operation mix, for usage messages.
func Ops() []string {
	names := []string{string(OpMixed)}
	for op := range mixes {
		names = append(names, string(op))
	}
	slices.Sort(names)
	return names
}

// Distributions returns the names of every key distribution.
func Distributions() []string {
	return []string{string(Uniform), string(Zipfian), string(Latest)}
}

// mixOf returns the mix of c (defaults filled in).
func (c Config) mixOf() mix {
	if c.Op == OpMixed {
		return mix{shares: [numKinds]float64{kindGet: c.ReadRatio, kindPut: 1 - c.ReadRatio}, dist: Uniform}
	}
	return mixes[c.Op]
}

// has reports whether the mix issues operations of kind k.
func (m mix) has(k int) bool { return m.shares[k] > 0 }

// pick returns the kind of the next operation for u uniform in [0, 1).
func (m mix) pick(u float64) int {
	for k, s := range m.shares {
		if u < s {
			return k
		}
		u -= s
	}
	// Rounding left u just above the last share: the last kind with one.
	for k := numKinds - 1; k >= 0; k-- {
		if m.shares[k] > 0 {
			return k
		}
	}
	return kindPut
}

// Describe returns a one-line description of the workload, defaults
// filled in: "50% put, 50% get, zipfian(0.99) keys".
func (c Config) Describe() string { return c.withDefaults().describe() }

// describe is Describe of a Config with its defaults filled in.
func (c Config) describe() string {
	m := c.mixOf()
	var parts []string
	for k, s := range m.shares {
		if s > 0 {
			parts = append(parts, fmt.Sprintf("%g%% %s", s*100, kindNames[k]))
		}
	}
	return strings.Join(parts, ", ") + ", " + c.distName() + " keys"
}

func (c Config) distName() string {
	if c.Distribution == Zipfian || c.Distribution == Latest {
		return fmt.Sprintf("%s(%g)", c.Distribution, c.Theta)
	}
	return string(c.Distribution)
}
