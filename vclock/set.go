package vclock

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// Value is what a client wrote: data, or a tombstone for a delete.
type Value struct {
	// Data is the client's bytes; always empty for a tombstone.
	Data []byte
	// Tombstone marks a delete.
	Tombstone bool
	// Timestamp is the coordinator's wall clock at the write, in Unix
	// nanoseconds. It never decides causality; it serves last-write-wins
	// resolution when a user asks for it and the tombstone grace period.
	Timestamp int64
}

// Sibling is one concurrent value of a key and the dot of the write that
// created it.
type Sibling struct {
	Dot Dot
	Value
}

// Set is a dotted version vector set: the unreconciled values of one key and
// a clock of every write the set has seen. The zero Set is empty. Siblings
// are sorted by dot and every dot is covered by the clock.
type Set struct {
	clock    Clock
	siblings []Sibling
}

// MaxCounter is the largest counter a dot or a clock entry may have. A
// write whose new dot would go above it fails with ErrCounterOverflow
// instead of wrapping around to a counter the decoder refuses (which
// would leave the key unreadable), and ParseContext refuses a context
// naming a larger counter. It fits an int64, so tools without unsigned
// integers still read every counter.
const MaxCounter = 1<<63 - 1

var (
	// ErrCounterOverflow is returned by Update when the coordinating
	// node's counter in the set or the client's context is already
	// MaxCounter (or its floor is), so no new dot can be minted. Nothing
	// is written; the set is unchanged.
	ErrCounterOverflow = errors.New("vclock: counter overflow")
	// ErrContextTooLarge is returned by Update when the new set's context
	// would name more than MaxContextNodes nodes or its text form would be
	// longer than MaxContextLen bytes: clients could not send it back, so
	// the key could then only be written blind. ParseContext wraps it too
	// for a context over those limits.
	ErrContextTooLarge = errors.New("vclock: context too large")
)

// NewSet returns a set holding a single value written by node with no prior
// context; it equals the set Set{}.Update(Clock{}, node, v) returns, which
// cannot fail.
func NewSet(node string, v Value) Set {
	if v.Tombstone {
		v.Data = nil
	}
	dot := Dot{Node: node, Counter: 1}
	return Set{clock: Clock{entries: []Entry{{Node: node, Counter: 1}}}, siblings: []Sibling{{Dot: dot, Value: v}}}
}

// Context returns the clock that summarises the set; clients send it back
// with their next write so that the write supersedes what they read.
func (s Set) Context() Clock { return s.clock }

// Siblings returns the concurrent values sorted by dot, tombstones included.
// The slice must not be modified.
func (s Set) Siblings() []Sibling { return s.siblings }

// Len returns the number of siblings, tombstones included.
func (s Set) Len() int { return len(s.siblings) }

// IsEmpty reports whether the set holds no sibling at all.
func (s Set) IsEmpty() bool { return len(s.siblings) == 0 }

// Deleted reports whether the set is non-empty and all its siblings are
// tombstones: the key reads as not found, but its clock still matters.
func (s Set) Deleted() bool {
	if len(s.siblings) == 0 {
		return false
	}
	for _, sib := range s.siblings {
		if !sib.Tombstone {
			return false
		}
	}
	return true
}

// Values returns the live values, tombstones excluded, in dot order.
func (s Set) Values() []Value {
	out := make([]Value, 0, len(s.siblings))
	for _, sib := range s.siblings {
		if !sib.Tombstone {
			out = append(out, sib.Value)
		}
	}
	return out
}

// Update applies a coordinator write at node: it drops every sibling the
// client's context ctx covers, merges ctx into the set's clock, and adds v
// under a new dot (node, counter+1). Siblings the client did not see stay.
// The set's data slices are shared, not copied, with the result.
//
// Update fails with ErrCounterOverflow when node's counter is already
// MaxCounter, and with ErrContextTooLarge when the result's context would
// exceed what ParseContext accepts; s is then unchanged and must be kept.
func (s Set) Update(ctx Clock, node string, v Value) (Set, error) {
	return s.UpdateFrom(ctx, node, v, 0)
}

// UpdateFrom is Update with a floor under the new dot's counter: the dot is
// (node, max(counter, floor)+1). A node that may have lost writes it had
// already sent to other replicas (its machine crashed before they were on
// its disk) restarts with a floor above every counter it used before, so it
// never mints a dot twice for different values. The new clock covers the
// lost dots, so those writes, which were never acknowledged, are
// superseded rather than confused with new ones. It fails as Update does,
// and also when floor is MaxCounter.
func (s Set) UpdateFrom(ctx Clock, node string, v Value, floor uint64) (Set, error) {
	if v.Tombstone {
		v.Data = nil
	}
	clock := s.clock.Merge(ctx)
	last := max(clock.Get(node), floor)
	if last >= MaxCounter {
		return Set{}, fmt.Errorf("%w: node %q is at counter %d, the largest a dot may have", ErrCounterOverflow, node, last)
	}
	dot := Dot{Node: node, Counter: last + 1}
	clock = clock.with(node, dot.Counter)
	if err := checkContextSize(clock); err != nil {
		return Set{}, err
	}

	kept := make([]Sibling, 0, len(s.siblings)+1)
	for _, sib := range s.siblings {
		if !ctx.Covers(sib.Dot) {
			kept = append(kept, sib)
		}
	}
	kept = insertSibling(kept, Sibling{Dot: dot, Value: v})
	return Set{clock: clock, siblings: kept}, nil
}

// Sync merges two replicas' sets of one key. A sibling survives if both
// sides hold it, or if one side holds it and the other side's clock has not
// seen it; a sibling one side lacks although its clock covers it was
// superseded there. Sync is commutative, associative and idempotent.
func Sync(a, b Set) Set {
	out := make([]Sibling, 0, max(len(a.siblings), len(b.siblings)))
	i, j := 0, 0
	for i < len(a.siblings) && j < len(b.siblings) {
		x, y := a.siblings[i], b.siblings[j]
		switch c := compareDots(x.Dot, y.Dot); {
		case c < 0:
			if !b.clock.Covers(x.Dot) {
				out = append(out, x)
			}
			i++
		case c > 0:
			if !a.clock.Covers(y.Dot) {
				out = append(out, y)
			}
			j++
		default:
			out = append(out, pickSameDot(x, y))
			i++
			j++
		}
	}
	for ; i < len(a.siblings); i++ {
		if !b.clock.Covers(a.siblings[i].Dot) {
			out = append(out, a.siblings[i])
		}
	}
	for ; j < len(b.siblings); j++ {
		if !a.clock.Covers(b.siblings[j].Dot) {
			out = append(out, b.siblings[j])
		}
	}
	return Set{clock: a.clock.Merge(b.clock), siblings: out}
}

// pickSameDot chooses between two siblings with one dot. A dot names one
// write, so they are equal unless a replica was corrupted; choosing by
// content keeps Sync commutative even then.
func pickSameDot(x, y Sibling) Sibling {
	if compareValues(x.Value, y.Value) >= 0 {
		return x
	}
	return y
}

func compareValues(x, y Value) int {
	if x.Tombstone != y.Tombstone {
		if x.Tombstone {
			return 1
		}
		return -1
	}
	if x.Timestamp != y.Timestamp {
		if x.Timestamp > y.Timestamp {
			return 1
		}
		return -1
	}
	return bytes.Compare(x.Data, y.Data)
}

func compareDots(a, b Dot) int {
	switch {
	case a.Node < b.Node:
		return -1
	case a.Node > b.Node:
		return 1
	case a.Counter < b.Counter:
		return -1
	case a.Counter > b.Counter:
		return 1
	}
	return 0
}

func insertSibling(sibs []Sibling, s Sibling) []Sibling {
	i := sort.Search(len(sibs), func(i int) bool { return compareDots(sibs[i].Dot, s.Dot) >= 0 })
	sibs = append(sibs, Sibling{})
	copy(sibs[i+1:], sibs[i:])
	sibs[i] = s
	return sibs
}

// Equal reports whether two sets have the same clock and siblings.
func (s Set) Equal(o Set) bool {
	if Compare(s.clock, o.clock) != Equal || len(s.siblings) != len(o.siblings) {
		return false
	}
	for i := range s.siblings {
		x, y := s.siblings[i], o.siblings[i]
		if x.Dot != y.Dot || compareValues(x.Value, y.Value) != 0 {
			return false
		}
	}
	return true
}
