package ring

import (
	"cmp"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// The assignment works on replica slots, not on whole partitions: each of
// the Q partitions has R = min(N, members) slots, and each slot is given to
// a node separately. A scheme that hands a node whole partitions plus the
// next N-1 successors can only give each node a multiple of N slots, which
// cannot meet a 1.15 balance bound at Q=256 for about 60 nodes.
//
// Every (partition, node) pair gets a weighted rendezvous score (score.go).
// Pairs are taken greedily, best score first, while the node is under its
// capacity and, when zones are spread, the partition has no node of that
// zone yet. The result is the stable matching of partitions and nodes under
// those scores: it depends only on the membership, and without capacities
// it would be plain rendezvous hashing, whose movement is optimal. The
// capacities are what buys balance, and they cost movement: a join or leave
// shifts some nodes across their capacity, and the slots they gain or shed
// cascade through the matching (see capacities and the property tests).

// Capacity bounds, as multiples of a member's share of the slots.
const (
	// maxLoad is the hard ceiling: no member holds more than
	// floor(maxLoad × share) slots unless zones or weights leave no
	// other choice (see fill).
	maxLoad = 1.15
	// slack is the base of the per-member capacity floor(slack × share +
	// offset). Capacity above the share leaves most members with room,
	// so a slot one of them loses or gains rarely cascades; the ceiling
	// keeps the balance bound.
	slack = 1.10
)

// capacities returns each member's slot budget. A member's share is its
// weighted part of q·r slots; no member may hold more than one slot per
// partition, so a share above q is capped at q and the excess spread over
// the others in proportion to their weights (water-filling).
//
// The budget is floor(slack × share + offset) with a per-member offset in
// [0,1) from its ID, clamped to [ceil(share), floor(maxLoad × share)]. The
// offset staggers the points where budgets drop as the cluster grows:
// with one global budget, every member at capacity would have to shed a
// slot on the same join, a burst of moves the new node does not absorb.
//
// Weighted rings get budgets of exactly ceil(share). Rendezvous hashing
// gives a node of weight 2 less than twice the chance of being among the
// top N of a partition (the top N saturates), so with spare budgets the
// light nodes would keep slots the heavy one should have; tight budgets
// force the load to follow the weights, at the price of more movement.
func capacities(members []Member, q, r int) []int {
	shares := waterFill(members, q, r)
	weighted := slices.ContainsFunc(members, func(m Member) bool { return m.weight() != members[0].weight() })
	caps := make([]int, len(members))
	for i, s := range shares {
		lo := int(math.Ceil(s - 1e-9)) // the epsilon keeps an exact 192 from becoming 193
		caps[i] = min(q, lo)
		if weighted {
			continue
		}
		off := float64(xxhash.Sum64String(members[i].ID)>>11) / (1 << 53)
		// The explicit conversions stop the compiler from fusing a
		// multiply-add, which would round differently on some
		// architectures and make nodes disagree on the ring.
		c := int(math.Floor(float64(slack*s) + off))
		hi := int(math.Floor(float64(maxLoad*s) + 1e-9))
		caps[i] = min(q, max(lo, min(c, hi)))
	}
	return caps
}

// waterFill returns each member's share of q·r slots in proportion to its
// weight, with no share above q.
func waterFill(members []Member, q, r int) []float64 {
	shares := make([]float64, len(members))
	capped := make([]bool, len(members))
	left := float64(q * r)
	for again := true; again; {
		again = false
		var w float64
		for i, m := range members {
			if !capped[i] {
				w += m.weight()
			}
		}
		for i, m := range members {
			if capped[i] {
				continue
			}
			shares[i] = left * m.weight() / w
			if shares[i] > float64(q) {
				capped[i], shares[i], again = true, float64(q), true
				left -= float64(q)
			}
		}
	}
	return shares
}

// table is the slot assignment under construction.
type table struct {
	r       int        // slots per partition
	members []Member   // sorted by ID
	rank    [][]uint16 // rendezvous order per partition
	zones   []int      // zone index per member, nil when zones are not spread
	caps    []int      // slot budget per member
	load    []int      // slots held per member
	chosen  [][]uint16 // members holding a slot, per partition
}

// assign computes the preference list of every partition: r primaries,
// ordered by score, followed by every other member in rendezvous order.
func assign(members []Member, q, r int, spread bool) [][]string {
	return placeSlots(members, q, r, spread).lists()
}

// placeSlots computes the history-free slot assignment: r members per
// partition, each partition's ordered by rank.
func placeSlots(members []Member, q, r int, spread bool) *table {
	s := newScorer(members, q)
	t := &table{
		r:       r,
		members: members,
		rank:    s.ranking(q),
		caps:    capacities(members, q, r),
		load:    make([]int, len(members)),
		chosen:  make([][]uint16, q),
	}
	if spread {
		t.zones = zoneIndexes(members)
	}
	t.greedy(s)
	t.fill()
	t.sortChosen()
	return t
}

// sortChosen orders the members holding each partition by rank.
func (t *table) sortChosen() {
	pos := make([]int, len(t.members)) // rank position of each member in partition p
	for p, chosen := range t.chosen {
		for i, x := range t.rank[p] {
			pos[x] = i
		}
		slices.SortFunc(chosen, func(a, b uint16) int { return cmp.Compare(pos[a], pos[b]) })
	}
}

// zoneIndexes numbers the zones of members densely.
func zoneIndexes(members []Member) []int {
	ids := make(map[string]int)
	out := make([]int, len(members))
	for i, m := range members {
		id, ok := ids[m.Zone]
		if !ok {
			id = len(ids)
			ids[m.Zone] = id
		}
		out[i] = id
	}
	return out
}

// allowed reports whether member x may take a slot of partition p, ignoring
// capacity: x is not already there and, when zones are spread, neither is
// another member of its zone.
func (t *table) allowed(p int, x uint16) bool {
	for _, y := range t.chosen[p] {
		if y == x || (t.zones != nil && t.zones[y] == t.zones[x]) {
			return false
		}
	}
	return true
}

func (t *table) take(p int, x uint16) {
	t.chosen[p] = append(t.chosen[p], x)
	t.load[x]++
}

// greedy offers every (partition, member) pair in decreasing score order and
// takes those that fit. Each partition's pairs are already sorted in rank,
// so a heap over the partitions' next pairs yields the global order without
// sorting all Q·n pairs, and stops looking at a partition once it is full.
func (t *table) greedy(s scorer) {
	h := pairHeap{s: s, rank: t.rank, next: make([]int, len(t.rank))}
	for p := range t.rank {
		t.chosen[p] = make([]uint16, 0, t.r)
		h.parts = append(h.parts, p)
	}
	h.init()
	for len(h.parts) > 0 {
		p := h.parts[0]
		x := t.rank[p][h.next[p]]
		h.next[p]++
		if t.load[x] < t.caps[x] && t.allowed(p, x) {
			t.take(p, x)
		}
		if len(t.chosen[p]) == t.r || h.next[p] == len(t.rank[p]) {
			h.pop()
		} else {
			h.down(0) // the top's key only decreased
		}
	}
}

// fill gives out the slots greedy left empty. That happens when every
// member allowed in the partition is at capacity while others have room,
// typically a heavy node already present where the light ones are full.
// fill first tries one exchange that keeps every budget: an allowed member
// y moves into the hole from a partition q where a member with room takes
// its place. Failing that, the slot goes to the allowed member with the
// most room left, possibly over budget (zones can leave no other choice:
// a zone with one node among three must hold every partition). With at
// least N zones some member of a missing zone always exists, so the zone
// rule is never broken.
func (t *table) fill() {
	for p := range t.chosen {
		for len(t.chosen[p]) < t.r {
			if !t.exchange(p) && !t.overfill(p) {
				break // unreachable: r <= members, and r <= zones when spread
			}
		}
	}
}

// exchange fills one slot of p by moving an allowed member y in from a
// partition q where a member z under budget replaces it.
func (t *table) exchange(p int) bool {
	for _, y := range t.rank[p] {
		if !t.allowed(p, y) {
			continue
		}
		for q := range t.chosen {
			i := slices.Index(t.chosen[q], y)
			if i < 0 {
				continue
			}
			t.chosen[q] = slices.Delete(t.chosen[q], i, i+1) // y leaves q
			for _, z := range t.rank[q] {
				if z != y && t.load[z] < t.caps[z] && t.allowed(q, z) && t.allowed(p, y) {
					t.take(q, z)
					t.chosen[p] = append(t.chosen[p], y) // y's load is unchanged
					return true
				}
			}
			t.chosen[q] = slices.Insert(t.chosen[q], i, y)
		}
	}
	return false
}

// overfill gives one slot of p to the allowed member with the most room
// left, ties by rank.
func (t *table) overfill(p int) bool {
	best, found := uint16(0), false
	for _, x := range t.rank[p] {
		if t.allowed(p, x) && (!found || t.load[x]-t.caps[x] < t.load[best]-t.caps[best]) {
			best, found = x, true
		}
	}
	if found {
		t.take(p, best)
	}
	return found
}

// lists turns the slot assignment, sorted by sortChosen, into preference
// lists that share one backing array, so lookups only slice into it.
func (t *table) lists() [][]string {
	n := len(t.members)
	flat := make([]string, len(t.chosen)*n)
	out := make([][]string, len(t.chosen))
	for p, chosen := range t.chosen {
		list := flat[p*n : p*n : (p+1)*n]
		for _, x := range chosen {
			list = append(list, t.members[x].ID)
		}
		for _, x := range t.rank[p] {
			if !slices.Contains(chosen, x) {
				list = append(list, t.members[x].ID)
			}
		}
		out[p] = list
	}
	return out
}

// pairHeap is a max-heap of partitions keyed by the score of their next
// unoffered pair. It is hand-written rather than container/heap to avoid
// boxing in the loop that dominates New for large rings.
type pairHeap struct {
	s     scorer
	rank  [][]uint16
	next  []int // next rank position to offer, per partition
	parts []int
}

// less orders partitions by their next pair: higher score first, then the
// pair's member, then the partition, so the global order is total.
func (h *pairHeap) less(i, j int) bool {
	p, q := h.parts[i], h.parts[j]
	a, b := int(h.rank[p][h.next[p]]), int(h.rank[q][h.next[q]])
	sa, sb := h.s.score[p*h.s.n+a], h.s.score[q*h.s.n+b]
	if sa != sb {
		return sa > sb
	}
	if a != b {
		return a < b
	}
	return p < q
}

func (h *pairHeap) init() {
	for i := len(h.parts)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// pop removes the top partition.
func (h *pairHeap) pop() {
	last := len(h.parts) - 1
	h.parts[0] = h.parts[last]
	h.parts = h.parts[:last]
	h.down(0)
}

func (h *pairHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h.parts) {
			return
		}
		if c+1 < len(h.parts) && h.less(c+1, c) {
			c++
		}
		if !h.less(c, i) {
			return
		}
		h.parts[i], h.parts[c] = h.parts[c], h.parts[i]
		i = c
	}
}
