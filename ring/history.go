package ring

import (
	"cmp"
	"math"
	"slices"
)

// A history-free placement cannot both balance to 1.15× and move close to
// the optimum on a join or leave (see doc.go), so New replays the
// membership history instead: epoch by epoch, each change is applied to
// the previous placement, moving only the slots it must. The replay is a
// pure function of the set of records, so every node still computes the
// same ring.

// bootstrapOnly reports whether the history is one bootstrap group: every
// record joined at epoch 0 and none was removed. Its ring is the
// history-free placement, exactly as before histories existed.
func bootstrapOnly(all []Member) bool {
	return !slices.ContainsFunc(all, func(m Member) bool { return m.Joined != 0 || m.Removed != 0 })
}

// history is the state of a replay: slot assignments over the indexes of
// all records, sorted by ID.
type history struct {
	q, n   int      // partitions, configured replicas
	all    []Member // every record, sorted by ID
	s      scorer   // rendezvous scores of every record
	live   []bool   // records currently members
	count  int      // number of current members
	chosen [][]int  // per partition, the primaries in slot order; nil until placed
	load   []int    // slots held per record
	// Budgets of the current members, refreshed by budgets: the floor
	// and ceiling of each share, and the balance ceiling hi.
	lo, ceil, hi []int
}

// replay folds the history records all (sorted by ID) epoch by epoch and
// returns the preference lists of the current members live.
func replay(all, live []Member, cfg Config) [][]string {
	h := &history{
		q:    cfg.Partitions,
		n:    cfg.Replicas,
		all:  all,
		s:    newScorer(all, cfg.Partitions),
		live: make([]bool, len(all)),
		load: make([]int, len(all)),
	}
	for _, e := range epochs(all) {
		h.apply(e)
	}
	return h.lists(live)
}

// epochs returns the distinct epochs at which records joined or left, in
// increasing order.
func epochs(all []Member) []uint64 {
	var out []uint64
	for _, m := range all {
		out = append(out, m.Joined)
		if m.Removed != 0 {
			out = append(out, m.Removed)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// apply replays epoch e: its removals, then its joins, each in ID order.
// Until the ring holds members, and whenever a join first gives the ring
// N distinct zones, the placement is computed from scratch: an
// incremental step cannot repair a placement made without the zone rule.
func (h *history) apply(e uint64) {
	spread := h.count > 0 && h.spread()
	for x, m := range h.all {
		if m.Removed == e && h.live[x] {
			h.remove(x)
		}
	}
	for x, m := range h.all {
		if m.Joined == e {
			h.join(x)
		}
	}
	switch {
	case h.count == 0:
		h.chosen = nil
	case h.chosen == nil || (!spread && h.spread()):
		h.place()
	}
}

// spread reports whether the current members span at least N zones.
func (h *history) spread() bool {
	zones := make(map[string]struct{}, h.n)
	for x, m := range h.all {
		if h.live[x] {
			zones[m.Zone] = struct{}{}
		}
	}
	return len(zones) >= h.n
}

// members returns the current members, sorted by ID, and their record
// indexes.
func (h *history) members() ([]Member, []int) {
	var ms []Member
	var idx []int
	for x, m := range h.all {
		if h.live[x] {
			ms = append(ms, m)
			idx = append(idx, x)
		}
	}
	return ms, idx
}

// place computes the history-free placement of the current members.
func (h *history) place() {
	ms, idx := h.members()
	t := placeSlots(ms, h.q, min(h.n, len(ms)), spreadZones(ms, h.n))
	clear(h.load)
	h.chosen = make([][]int, h.q)
	for p, c := range t.chosen {
		h.chosen[p] = make([]int, len(c))
		for i, x := range c {
			h.chosen[p][i] = idx[x]
			h.load[idx[x]]++
		}
	}
}

// budgets refreshes lo, ceil and hi from the current members' weighted
// shares (as capacities computes them).
func (h *history) budgets() {
	ms, idx := h.members()
	shares := waterFill(ms, h.q, min(h.n, len(ms)))
	h.lo = make([]int, len(h.all))
	h.ceil = make([]int, len(h.all))
	h.hi = make([]int, len(h.all))
	for i, s := range shares {
		x := idx[i]
		h.lo[x] = int(math.Floor(s + 1e-9))
		h.ceil[x] = int(math.Ceil(s - 1e-9))
		h.hi[x] = max(h.ceil[x], int(math.Floor(float64(maxLoad*s)+1e-9)))
	}
}

// excess is how far x's load is above its rounded-up share.
func (h *history) excess(x int) int { return h.load[x] - h.ceil[x] }

// fits reports whether x may take slot i of partition p: x is a member,
// is not a primary of p, and, when zones are spread, no other primary of p
// is in x's zone.
func (h *history) fits(p, i, x int, spread bool) bool {
	if !h.live[x] {
		return false
	}
	for j, y := range h.chosen[p] {
		if y == x || (spread && j != i && h.all[y].Zone == h.all[x].Zone) {
			return false
		}
	}
	return true
}

// remove takes member x out. Each of its slots, in partition order, goes
// to the eligible member with the least excess load, ties to the higher
// rendezvous score, then the smaller ID. With fewer than N members left
// the slot is dropped instead: every member already holds the partition.
func (h *history) remove(x int) {
	h.live[x] = false
	h.count--
	if h.chosen == nil {
		return
	}
	if h.count == 0 {
		h.load[x] = 0
		return
	}
	h.budgets()
	spread := h.spread()
	for p, c := range h.chosen {
		i := slices.Index(c, x)
		if i < 0 {
			continue
		}
		if h.count < h.n {
			h.chosen[p] = slices.Delete(c, i, i+1)
			continue
		}
		if y := h.receiver(p, i, spread); y >= 0 {
			c[i] = y
			h.load[y]++
		} else {
			h.chosen[p] = slices.Delete(c, i, i+1) // unreachable: count >= N
		}
	}
	h.load[x] = 0
	h.rebalance(spread)
}

// receiver returns the member that should take slot i of partition p: the
// eligible one with the least excess, ties to the higher score, then the
// smaller ID; -1 if none is eligible.
func (h *history) receiver(p, i int, spread bool) int {
	best := -1
	for y := range h.all {
		if !h.fits(p, i, y, spread) {
			continue
		}
		if best < 0 || h.excess(y) < h.excess(best) ||
			(h.excess(y) == h.excess(best) && h.s.better(p, y, best)) {
			best = y
		}
	}
	return best
}

// join adds member x. With at most N members it becomes a primary of
// every partition. Otherwise it repeatedly takes a slot from the member
// with the most excess load (ties to the smaller ID), in the donor's
// partition where x scores highest, until x holds at least the floor of
// its share, and up to the ceiling while some member is over its own.
func (h *history) join(x int) {
	h.live[x] = true
	h.count++
	if h.chosen == nil {
		return
	}
	if h.count <= h.n {
		for p := range h.chosen {
			h.chosen[p] = append(h.chosen[p], x)
		}
		h.load[x] = h.q
		return
	}
	h.budgets()
	spread := h.spread()
	// x's partitions best first, ties to the smaller partition: the first
	// that holds a donor and fits x is the donor's partition where x
	// scores highest.
	order := make([]int, h.q)
	for p := range order {
		order[p] = p
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(h.s.score[b*h.s.n+x], h.s.score[a*h.s.n+x]); c != 0 {
			return c
		}
		return a - b
	})
	donors := make([]int, 0, h.count)
	for ok := true; ; {
		donors = donors[:0]
		for y := range h.all {
			if h.live[y] && y != x {
				donors = append(donors, y)
			}
		}
		slices.SortFunc(donors, func(a, b int) int {
			if d := h.excess(b) - h.excess(a); d != 0 {
				return d
			}
			return a - b
		})
		needed := h.load[x] < h.lo[x]
		if !needed && (h.load[x] >= h.ceil[x] || h.excess(donors[0]) <= 0) {
			break
		}
		if order, ok = h.takeFrom(x, donors, order, needed, spread); !ok {
			break
		}
	}
	h.rebalance(spread)
}

// takeFrom moves one slot to x from the first donor that has an eligible
// partition, only from donors over their ceiling unless needed. order
// lists the partitions x does not hold by x's score, best first; the
// partition taken is deleted from it.
func (h *history) takeFrom(x int, donors, order []int, needed, spread bool) ([]int, bool) {
	for _, d := range donors {
		if !needed && h.excess(d) <= 0 {
			return order, false
		}
		for k, p := range order {
			if i := slices.Index(h.chosen[p], d); i >= 0 && h.fits(p, i, x, spread) {
				h.chosen[p][i] = x
				h.load[d]--
				h.load[x]++
				return slices.Delete(order, k, k+1), true
			}
		}
	}
	return order, false
}

// rebalance moves slots off members over their balance ceiling hi, each to
// the receiver with the least excess among those under their own ceiling.
// Joins and leaves taken from and given to the extremes rarely leave one,
// but weights and zones can.
func (h *history) rebalance(spread bool) {
	for x := range h.all {
		for p := 0; p < h.q && h.live[x] && h.load[x] > h.hi[x]; p++ {
			i := slices.Index(h.chosen[p], x)
			if i < 0 {
				continue
			}
			if y := h.receiver(p, i, spread); y >= 0 && h.excess(y) < 0 {
				h.chosen[p][i] = y
				h.load[y]++
				h.load[x]--
			}
		}
	}
}

// lists turns the replayed slots into preference lists over the current
// members live: the primaries in slot order, then every other member in
// rendezvous order.
func (h *history) lists(live []Member) [][]string {
	n := len(live)
	_, idx := h.members()
	local := make([]int, len(h.all)) // record index -> index in live
	ls := scorer{n: n, score: make([]float64, h.q*n)}
	for i, x := range idx {
		local[x] = i
		for p := range h.q {
			ls.score[p*n+i] = h.s.score[p*h.s.n+x] // a score depends only on (p, member)
		}
	}
	rank := ls.ranking(h.q)
	flat := make([]string, h.q*n)
	out := make([][]string, h.q)
	in := make([]bool, n)
	for p, c := range h.chosen {
		clear(in)
		list := flat[p*n : p*n : (p+1)*n]
		for _, x := range c {
			list = append(list, h.all[x].ID)
			in[local[x]] = true
		}
		for _, i := range rank[p] {
			if !in[i] {
				list = append(list, live[i].ID)
			}
		}
		out[p] = list
	}
	return out
}
