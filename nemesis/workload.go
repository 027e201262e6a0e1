package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// The workloads' names, as Op.Workload and Meta.Workloads carry them.
const (
	WriteOnce = "write-once"
	GrowSet   = "set"
	PutDelete = "put-delete"
	Counter   = "counter"
)

// Workloads lists every workload, in the report's order.
var Workloads = []string{WriteOnce, GrowSet, PutDelete, Counter}

// Request is the next operation a client should run. The runner sends it
// to a node of its choice, records the result as an Op (copying these
// fields) and hands that Op back to the same client's Next.
type Request struct {
	Workload string
	Kind     Kind
	Key      string
	Value    []byte
	Context  string
}

// Op returns the history record of r before it runs: the runner fills in
// Seq, Node, the times, the outcome and what came back.
func (r Request) Op(process int) Op {
	return Op{Process: process, Workload: r.Workload, Kind: r.Kind, Key: r.Key, Value: r.Value, Context: r.Context}
}

// Client generates one client's operations. It is a pure state machine:
// no I/O, no clock, its randomness from its seed, so that a seed replays
// the same operations given the same results. It is not safe for
// concurrent use; a runner gives each client its own.
type Client interface {
	// Next returns the operation to run next, given the client's last
	// operation as completed (nil for the first call).
	Next(last *Op) Request
}

// WorkloadConfig says which keys the workloads use.
type WorkloadConfig struct {
	// Prefix starts every key, so that a run against a cluster holding
	// other data (or an earlier run's) touches only its own keys; the
	// runner should make it unique per run. Default "nemesis/".
	Prefix string
	// SharedKeys is how many keys the set and counter clients share.
	// Few keys make conflicts (siblings) likely. Default 3.
	SharedKeys int
	// SetSize is how many elements a set key takes before the set
	// clients move that shared key to a fresh one: each write carries the
	// whole set, so an unbounded set makes every operation, and the
	// history, grow with the run. Zero means 64.
	SetSize int
}

// DefaultWorkloadConfig returns the defaults above.
func DefaultWorkloadConfig() WorkloadConfig {
	return WorkloadConfig{Prefix: "nemesis/", SharedKeys: 3}
}

// Validate reports a config the generators cannot use.
func (c WorkloadConfig) Validate() error {
	if c.Prefix == "" {
		return fmt.Errorf("nemesis: empty key prefix")
	}
	if c.SharedKeys < 1 {
		return fmt.Errorf("nemesis: shared keys %d, want at least 1", c.SharedKeys)
	}
	if c.SetSize < 0 {
		return fmt.Errorf("nemesis: set size %d, want at least 1 (0: the default)", c.SetSize)
	}
	return nil
}

// NewClient returns the generator of workload's operations for client
// number process (distinct per client: it names the client's keys,
// values and counter slot), seeded by seed.
func NewClient(workload string, process int, seed uint64, cfg WorkloadConfig) (Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if process < 0 {
		return nil, fmt.Errorf("nemesis: negative client number %d", process)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(process)))
	base := clientBase{cfg: cfg, process: process, rng: rng}
	switch workload {
	case WriteOnce:
		return &writeOnceClient{clientBase: base}, nil
	case GrowSet:
		return &setClient{clientBase: base}, nil
	case PutDelete:
		return &putDeleteClient{clientBase: base}, nil
	case Counter:
		return &counterClient{clientBase: base}, nil
	}
	return nil, fmt.Errorf("nemesis: unknown workload %q (%v)", workload, Workloads)
}

type clientBase struct {
	cfg     WorkloadConfig
	process int
	rng     *rand.Rand
	n       int64 // writes generated so far
}

func (b *clientBase) nextID(workload string) string {
	b.n++
	return valueID(workload, b.process, b.n)
}

func (b *clientBase) sharedKey(workload string) string {
	return b.cfg.Prefix + workload + "/" + strconv.Itoa(b.rng.IntN(b.cfg.SharedKeys))
}

// writeOnceClient writes a new key with a new value each time.
type writeOnceClient struct{ clientBase }

func (c *writeOnceClient) Next(*Op) Request {
	id := c.nextID(WriteOnce)
	key := fmt.Sprintf("%s%s/%d/%d", c.cfg.Prefix, WriteOnce, c.process, c.n)
	return Request{Workload: WriteOnce, Kind: Put, Key: key, Value: value{ID: id}.encode()}
}

// setClient alternates: read a shared key, then write the union of the
// siblings' elements plus a new one with the read's context. Once a read
// shows SetSize elements, the client moves that shared key to its next
// generation, a fresh key; clients that read the full set later follow,
// and those that have not yet keep adding to the old one, which stays a
// set whose acknowledged elements must all survive.
type setClient struct {
	clientBase
	gens map[int]int // generation of each shared key, by its slot
}

func (c *setClient) key(slot int) string {
	return c.cfg.Prefix + GrowSet + "/" + strconv.Itoa(slot) + "." + strconv.Itoa(c.gens[slot])
}

func (c *setClient) Next(last *Op) Request {
	if c.gens == nil {
		c.gens = map[int]int{}
	}
	if last == nil || last.Kind != Get || last.Outcome != OK {
		return Request{Workload: GrowSet, Kind: Get, Key: c.key(c.rng.IntN(c.cfg.SharedKeys))}
	}
	elems := map[string]bool{}
	for _, s := range last.Siblings {
		if v, err := parseValue(s.Value); err == nil && !s.Tombstone {
			for _, e := range v.Set {
				elems[e] = true
			}
		}
	}
	size := c.cfg.SetSize
	if size == 0 {
		size = 64
	}
	if len(elems) >= size {
		for slot := range c.cfg.SharedKeys {
			if c.key(slot) == last.Key {
				c.gens[slot]++
				return Request{Workload: GrowSet, Kind: Get, Key: c.key(slot)}
			}
		}
	}
	id := c.nextID(GrowSet)
	add := fmt.Sprintf("%d.%d", c.process, c.n)
	elems[add] = true
	set := make([]string, 0, len(elems))
	for e := range elems {
		set = append(set, e)
	}
	slices.Sort(set)
	v := value{ID: id, Add: add, Set: set}
	return Request{Workload: GrowSet, Kind: Put, Key: last.Key, Value: v.encode(), Context: last.RespContext}
}

// putDeleteClient writes a new key, deletes it with the write's context
// once the write is acknowledged, then reads it back (a read after an
// acknowledged delete must not see the value again).
type putDeleteClient struct{ clientBase }

func (c *putDeleteClient) Next(last *Op) Request {
	switch {
	case last != nil && last.Kind == Put && last.Outcome == OK:
		return Request{Workload: PutDelete, Kind: Delete, Key: last.Key, Context: last.RespContext}
	case last != nil && last.Kind == Delete:
		return Request{Workload: PutDelete, Kind: Get, Key: last.Key}
	}
	id := c.nextID(PutDelete)
	key := fmt.Sprintf("%s%s/%d/%d", c.cfg.Prefix, PutDelete, c.process, c.n)
	return Request{Workload: PutDelete, Kind: Put, Key: key, Value: value{ID: id}.encode()}
}

// counterClient increments its own slot of a shared G-counter: read,
// merge the siblings by per-slot maxima, bump its slot, write with the
// read's context.
type counterClient struct {
	clientBase
	// mine is, per key, the highest slot value this client wrote in a
	// write that may have been applied (ok or info). A stale read may
	// show less; the client never writes less than it may have written,
	// so each write of its slot carries a new, higher count.
	mine map[string]int64
}

func (c *counterClient) Next(last *Op) Request {
	if c.mine == nil {
		c.mine = map[string]int64{}
	}
	if last != nil && last.Kind == Put && last.Outcome != Fail {
		if v, err := parseValue(last.Value); err == nil {
			c.mine[last.Key] = max(c.mine[last.Key], v.Slots[c.process])
		}
	}
	if last == nil || last.Kind != Get || last.Outcome != OK {
		return Request{Workload: Counter, Kind: Get, Key: c.sharedKey(Counter)}
	}
	slots := map[int]int64{}
	for _, s := range last.Siblings {
		if v, err := parseValue(s.Value); err == nil && !s.Tombstone {
			mergeSlots(slots, v.Slots)
		}
	}
	slots[c.process] = max(slots[c.process], c.mine[last.Key]) + 1
	v := value{ID: c.nextID(Counter), Slots: slots}
	return Request{Workload: Counter, Kind: Put, Key: last.Key, Value: v.encode(), Context: last.RespContext}
}
