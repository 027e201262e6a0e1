package ring

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

const (
	// DefaultPartitions is the number of partitions Q used when
	// Config.Partitions is zero.
	DefaultPartitions = 256
	// MaxPartitions is the largest accepted Config.Partitions.
	MaxPartitions = 4096
	// DefaultReplicas is the replication factor N used when Config.Replicas
	// is zero.
	DefaultReplicas = 3
	// MaxReplicas is the largest accepted Config.Replicas. Every primary
	// may mint dots in a key's version vector, so a larger N is a
	// misconfiguration rather than a cluster we want to support.
	MaxReplicas = 16
	// MaxMembers is the largest accepted number of ring members. A Ring
	// stores the full preference list (every member) of every partition,
	// Partitions×members strings of 16 bytes: 64 MiB at the extremes.
	MaxMembers = 1024
)

// ErrInvalid is wrapped by every error New and Config.Validate return, so
// callers can tell bad input apart with errors.Is.
var ErrInvalid = errors.New("ring: invalid")

// Config holds the parameters every node of a cluster must agree on; two
// nodes with the same membership history and Config compute the same Ring.
type Config struct {
	// Partitions is Q, the fixed number of partitions the key space is cut
	// into. It must be a power of two between 1 and MaxPartitions.
	// Zero means DefaultPartitions (256).
	Partitions int
	// Replicas is N, the number of primary nodes per partition. It must be
	// between 1 and MaxReplicas. Zero means DefaultReplicas (3).
	Replicas int
}

// DefaultConfig returns Q = 256 partitions and N = 3 replicas.
func DefaultConfig() Config {
	return Config{Partitions: DefaultPartitions, Replicas: DefaultReplicas}
}

// Validate reports whether c is usable by New. Zero fields are valid and
// stand for their defaults.
func (c Config) Validate() error {
	q := c.Partitions
	if q < 0 || q > MaxPartitions || (q != 0 && q&(q-1) != 0) {
		return fmt.Errorf("%w config: partitions must be a power of two in [1, %d], got %d",
			ErrInvalid, MaxPartitions, q)
	}
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		return fmt.Errorf("%w config: replicas must be in [1, %d], got %d",
			ErrInvalid, MaxReplicas, c.Replicas)
	}
	return nil
}

// withDefaults replaces zero fields by their defaults.
func (c Config) withDefaults() Config {
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	return c
}

// Member is one node of the ring, or of its history, as the gossiped
// cluster state describes it.
type Member struct {
	// ID names the node; it must be non-empty and unique in the ring.
	ID string
	// Zone is the failure domain (rack, availability zone). When the ring
	// has at least Replicas distinct zones, the primaries of every
	// partition are in distinct zones. The empty string is a zone like any
	// other.
	Zone string
	// Weight scales the node's share of replica-partitions. It must be
	// finite and non-negative; zero means 1.
	Weight float64
	// Joined is the ring epoch at which the node entered the ring; 0 for
	// the members a cluster was bootstrapped with. Epochs order the
	// membership history New folds (see doc.go); they need not be dense.
	Joined uint64
	// Removed is 0 while the node is a member. A positive Removed is the
	// epoch at which the node left, and must be greater than Joined: the
	// record is then history, not a member of the ring, and is kept (as
	// the gossiped tombstone is) so that the ring can be replayed.
	Removed uint64
}

// weight returns m's effective weight.
func (m Member) weight() float64 {
	if m.Weight == 0 {
		return 1
	}
	return m.Weight
}

// Ring maps keys to partitions and partitions to ordered preference lists.
// A Ring is immutable once built and safe for concurrent use. Slices it
// returns point into its tables: callers must not modify them.
type Ring struct {
	cfg       Config
	shift     uint     // 64 - log2(Partitions); 64 makes every hash 0 when Q=1
	primaries int      // min(Replicas, len(members))
	members   []Member // current members (Removed == 0), sorted by ID
	prefs     [][]string
}

// New builds the ring of the membership history records under cfg. Records
// with Removed == 0 are the members; removed records are history. The
// result depends only on the set of records (IDs, zones, weights, epochs)
// and cfg, never on their order, so every node that knows the same history
// computes the same Ring. A history whose records all have Joined == 0 and
// Removed == 0 gives the history-free placement of those members.
func New(records []Member, cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	all, err := checkMembers(records)
	if err != nil {
		return nil, err
	}
	live := slices.DeleteFunc(slices.Clone(all), func(m Member) bool { return m.Removed != 0 })
	r := &Ring{
		cfg:       cfg,
		shift:     uint(64 - bits.TrailingZeros(uint(cfg.Partitions))),
		primaries: min(cfg.Replicas, len(live)),
		members:   live,
	}
	if bootstrapOnly(all) {
		r.prefs = assign(live, cfg.Partitions, r.primaries, spreadZones(live, cfg.Replicas))
	} else {
		r.prefs = replay(all, live, cfg)
	}
	return r, nil
}

// maxRecords bounds the history New accepts, live members and tombstones
// together: replaying it holds a rendezvous score per record and partition
// (64 MiB at the extremes) and costs O(records × Q × N).
const maxRecords = 2 * MaxMembers

// checkMembers validates the history records and returns a copy sorted by
// ID.
func checkMembers(members []Member) ([]Member, error) {
	live := 0
	for _, m := range members {
		if m.Removed == 0 {
			live++
		}
	}
	if live == 0 {
		return nil, fmt.Errorf("%w members: a ring needs at least one member", ErrInvalid)
	}
	if live > MaxMembers {
		return nil, fmt.Errorf("%w members: %d members exceed the maximum of %d",
			ErrInvalid, live, MaxMembers)
	}
	if len(members) > maxRecords {
		return nil, fmt.Errorf("%w members: %d history records exceed the maximum of %d",
			ErrInvalid, len(members), maxRecords)
	}
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	for i, m := range sorted {
		if m.ID == "" {
			return nil, fmt.Errorf("%w members: empty member ID", ErrInvalid)
		}
		if i > 0 && sorted[i-1].ID == m.ID {
			return nil, fmt.Errorf("%w members: duplicate member ID %q", ErrInvalid, m.ID)
		}
		if !(m.Weight >= 0) || math.IsInf(m.Weight, 0) {
			return nil, fmt.Errorf("%w members: member %q has weight %v, want a finite number >= 0",
				ErrInvalid, m.ID, m.Weight)
		}
		if m.Removed != 0 && m.Removed <= m.Joined {
			return nil, fmt.Errorf("%w members: member %q removed at epoch %d, not after it joined at %d",
				ErrInvalid, m.ID, m.Removed, m.Joined)
		}
	}
	return sorted, nil
}

// spreadZones reports whether there are enough distinct zones to put the
// replicas of every partition in distinct zones.
func spreadZones(members []Member, replicas int) bool {
	zones := make(map[string]struct{}, replicas)
	for _, m := range members {
		zones[m.Zone] = struct{}{}
	}
	return len(zones) >= replicas
}

// Partitions returns Q, the number of partitions.
func (r *Ring) Partitions() int { return r.cfg.Partitions }

// Replicas returns N, the configured number of primaries per partition.
// A ring with fewer members than N has len(Members()) primaries per
// partition instead.
func (r *Ring) Replicas() int { return r.cfg.Replicas }

// Size returns the number of members, which is also the length of every
// full preference list.
func (r *Ring) Size() int { return len(r.members) }

// Members returns a copy of the current members (not the removed history
// records), sorted by ID, with zero weights replaced by 1.
func (r *Ring) Members() []Member {
	out := slices.Clone(r.members)
	for i := range out {
		out[i].Weight = out[i].weight()
	}
	return out
}

// Partition returns the partition of key: the top log2(Q) bits of its
// 64-bit xxhash.
func (r *Ring) Partition(key []byte) uint32 {
	return uint32(xxhash.Sum64(key) >> r.shift)
}

// PreferenceList returns the first n nodes of key's preference list. The
// first Replicas() entries are the primaries (fewer if the ring has fewer
// members) and the rest are fallbacks for sloppy quorum; a request with a
// smaller n uses the prefix as its primaries. If n >= Size() the whole list,
// every member, is returned; if n <= 0 the result is empty.
//
// The result points into the ring's tables and must not be modified. It
// does not allocate.
func (r *Ring) PreferenceList(key []byte, n int) []string {
	return r.PartitionPreferenceList(r.Partition(key), n)
}

// PartitionPreferenceList is PreferenceList for partition p. It returns nil
// if p is not a partition of r.
func (r *Ring) PartitionPreferenceList(p uint32, n int) []string {
	if int64(p) >= int64(len(r.prefs)) || n <= 0 {
		return nil
	}
	list := r.prefs[p]
	return list[:min(n, len(list))]
}

// Primaries returns the primary nodes of partition p, best first: the first
// min(Replicas(), Size()) entries of its preference list. It returns nil if
// p is not a partition of r. The result must not be modified.
func (r *Ring) Primaries(p uint32) []string {
	return r.PartitionPreferenceList(p, r.primaries)
}

// Owner returns the first primary of partition p, the natural coordinator
// of its keys, or "" if p is not a partition of r.
func (r *Ring) Owner(p uint32) string {
	if l := r.PartitionPreferenceList(p, 1); len(l) == 1 {
		return l[0]
	}
	return ""
}

// PrimaryPartitions returns, in increasing order, the partitions of which
// node id is a primary: the data that node must hold.
func (r *Ring) PrimaryPartitions(id string) []uint32 {
	var out []uint32
	for p := range r.prefs {
		if slices.Contains(r.Primaries(uint32(p)), id) {
			out = append(out, uint32(p))
		}
	}
	return out
}

// PartitionOf returns the partition of key in a ring of the given number of
// partitions (a power of two, as Config.Partitions), without building a
// Ring: clients that learn the routing table from a node use it to route
// keys. It returns 0 when partitions is 1 or not a power of two.
func PartitionOf(key []byte, partitions int) uint32 {
	if partitions <= 1 || partitions&(partitions-1) != 0 {
		return 0
	}
	return uint32(xxhash.Sum64(key) >> uint(64-bits.TrailingZeros(uint(partitions))))
}
