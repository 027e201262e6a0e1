package vclock

import (
	"sort"
	"strconv"
	"strings"
)

// Dot identifies one write: the node that coordinated it and that node's
// event counter. Counters start at 1.
type Dot struct {
	Node    string
	Counter uint64
}

// Entry is one node's component of a Clock.
type Entry struct {
	Node    string
	Counter uint64
}

// Clock is a version vector: for each node, the number of its writes that
// have been seen. The zero Clock is empty. Entries are kept sorted by node
// with counters above zero, which makes equal clocks structurally equal.
type Clock struct {
	entries []Entry
}

// Order is the causal relation between two clocks.
type Order int

const (
	// Equal means both clocks have seen exactly the same writes.
	Equal Order = iota
	// Before means the first clock is strictly dominated by the second.
	Before
	// After means the first clock strictly dominates the second.
	After
	// Concurrent means each clock has seen a write the other has not.
	Concurrent
)

// String returns the lowercase name of the order.
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Before:
		return "before"
	case After:
		return "after"
	case Concurrent:
		return "concurrent"
	}
	return "unknown"
}

// NewClock builds a clock from entries in any order. Entries with a zero
// counter are dropped; for a node named twice the larger counter wins.
func NewClock(entries ...Entry) Clock {
	es := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Counter > 0 {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].Node != es[j].Node {
			return es[i].Node < es[j].Node
		}
		return es[i].Counter > es[j].Counter
	})
	out := es[:0]
	for _, e := range es {
		if len(out) > 0 && out[len(out)-1].Node == e.Node {
			continue
		}
		out = append(out, e)
	}
	return Clock{entries: out}
}

// Entries returns the clock's components sorted by node. The slice must not
// be modified.
func (c Clock) Entries() []Entry { return c.entries }

// Len returns the number of nodes in the clock.
func (c Clock) Len() int { return len(c.entries) }

// IsEmpty reports whether the clock has seen no write.
func (c Clock) IsEmpty() bool { return len(c.entries) == 0 }

// Get returns the counter of node, zero if the clock has none.
func (c Clock) Get(node string) uint64 {
	i, ok := c.find(node)
	if !ok {
		return 0
	}
	return c.entries[i].Counter
}

// Covers reports whether the clock has seen the write identified by d.
func (c Clock) Covers(d Dot) bool {
	return d.Counter <= c.Get(d.Node)
}

func (c Clock) find(node string) (int, bool) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Node >= node })
	return i, i < len(c.entries) && c.entries[i].Node == node
}

// with returns a copy of c with node's counter set to counter.
func (c Clock) with(node string, counter uint64) Clock {
	i, ok := c.find(node)
	out := make([]Entry, 0, len(c.entries)+1)
	out = append(out, c.entries[:i]...)
	out = append(out, Entry{Node: node, Counter: counter})
	if ok {
		i++
	}
	out = append(out, c.entries[i:]...)
	return Clock{entries: out}
}

// Merge returns the pointwise maximum of c and o: a clock that has seen
// every write either has seen.
func (c Clock) Merge(o Clock) Clock {
	if len(o.entries) == 0 {
		return c
	}
	if len(c.entries) == 0 {
		return o
	}
	out := make([]Entry, 0, len(c.entries)+len(o.entries))
	i, j := 0, 0
	for i < len(c.entries) && j < len(o.entries) {
		a, b := c.entries[i], o.entries[j]
		switch {
		case a.Node < b.Node:
			out = append(out, a)
			i++
		case a.Node > b.Node:
			out = append(out, b)
			j++
		default:
			out = append(out, Entry{Node: a.Node, Counter: max(a.Counter, b.Counter)})
			i++
			j++
		}
	}
	out = append(out, c.entries[i:]...)
	out = append(out, o.entries[j:]...)
	return Clock{entries: out}
}

// Compare returns how a relates to b: Before if b has seen everything a has
// and more, After for the converse, Equal or Concurrent.
func Compare(a, b Clock) Order {
	aAhead, bAhead := false, false
	i, j := 0, 0
	for i < len(a.entries) && j < len(b.entries) {
		x, y := a.entries[i], b.entries[j]
		switch {
		case x.Node < y.Node:
			aAhead = true
			i++
		case x.Node > y.Node:
			bAhead = true
			j++
		default:
			if x.Counter > y.Counter {
				aAhead = true
			} else if x.Counter < y.Counter {
				bAhead = true
			}
			i++
			j++
		}
	}
	aAhead = aAhead || i < len(a.entries)
	bAhead = bAhead || j < len(b.entries)
	switch {
	case aAhead && bAhead:
		return Concurrent
	case aAhead:
		return After
	case bAhead:
		return Before
	}
	return Equal
}

// Descends reports whether c has seen every write o has seen.
func (c Clock) Descends(o Clock) bool {
	ord := Compare(c, o)
	return ord == After || ord == Equal
}

// Format returns a human-readable form such as "{a:3 b:1}", for logs and
// test failures; String returns the opaque form handed to clients.
func (c Clock) Format() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range c.entries {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Node)
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(e.Counter, 10))
	}
	b.WriteByte('}')
	return b.String()
}
