package replica

import (
	"slices"

	"github.com/chorusdb/chorus/ring"
)

// target is one replica a request is sent to.
type target struct {
	node string
	// primary is true for one of the key's first N nodes.
	primary bool
	// hintFor names the primary a fallback stands in for; empty for a
	// primary.
	hintFor string
}

// plan is the replica set of one request: Dynamo's "first N healthy nodes
// of the preference list". Each primary that is alive (or is this node)
// is a target; each one that is down is replaced by the next live
// fallback, which holds the write as a hint for it. Fallbacks left over
// are spares that replace primaries failing or answering late during the
// request.
//
// A digest read starts only the targets its quorum needs; the others are
// standbys (see standBy), which replace started targets before any spare
// does.
type plan struct {
	partition uint32
	targets   []target
	// standbys are targets held back, in preference-list order.
	standbys []target
	spares   []string
	// unfilled lists the primaries that are down and found no fallback;
	// a write's coordinator keeps a hint for each.
	unfilled []string
}

// makePlan computes the plan of key for n replicas on r, as seen from node
// self with the liveness alive. It is pure. When self is not a primary but
// a primary is down, self takes the first free fallback place: the
// coordinator then stores its own write without a network hop.
func makePlan(r *ring.Ring, key []byte, n int, self string, alive func(string) bool) plan {
	p := r.Partition(key)
	pref := r.PartitionPreferenceList(p, r.Size())
	n = min(n, len(pref))
	pl := plan{partition: p, targets: make([]target, 0, n)}
	var down []string
	for _, node := range pref[:n] {
		if node == self || alive(node) {
			pl.targets = append(pl.targets, target{node: node, primary: true})
		} else {
			down = append(down, node)
		}
	}
	for _, node := range pref[n:] {
		if node == self || alive(node) {
			pl.spares = append(pl.spares, node)
		}
	}
	if i := slices.Index(pl.spares, self); i > 0 && len(down) > 0 {
		pl.spares = slices.Insert(slices.Delete(pl.spares, i, i+1), 0, self)
	}
	for _, primary := range down {
		f, ok := pl.nextSpare()
		if !ok {
			pl.unfilled = append(pl.unfilled, primary)
			continue
		}
		pl.targets = append(pl.targets, target{node: f, hintFor: primary})
	}
	return pl
}

// addLeavers puts the live nodes of leavers (nodes that left the ring
// but hold the partition whole until its new owners have pulled it; see
// Coordinator.SetLeavers) first among the spares. A target that answers
// partially (a new owner still pulling the partition) or fails is then
// replaced by a node holding every write the partition had, before any
// fallback, which holds none of them: a leave costs reads no replica. They
// are never targets, so once the new owners answer whole they are not
// asked. It is pure.
func (pl *plan) addLeavers(leavers []string, alive func(string) bool) {
	var add []string
	for _, n := range leavers {
		if _, ok := pl.find(n); ok || slices.Contains(pl.spares, n) || slices.Contains(add, n) || !alive(n) {
			continue
		}
		add = append(add, n)
	}
	if len(add) > 0 {
		pl.spares = append(add, pl.spares...)
	}
}

// standBy keeps as targets only those a read of r replies, pr from
// primaries, starts with: self when it is a target (its copy costs no
// message), then the next targets in preference-list order up to r in
// all, then more primaries while fewer than pr are among them. The other
// targets become standbys, asked (by nextStandby) when a started one
// fails, answers a partial reply or is silent. It is pure.
func (pl *plan) standBy(self string, r, pr int) {
	if r >= len(pl.targets) {
		return
	}
	start := make([]target, 0, max(r, pr)+1)
	rest := make([]target, 0, len(pl.targets)-r)
	if t, ok := pl.find(self); ok {
		start = append(start, t)
	}
	prim := 0
	for _, t := range pl.targets {
		switch {
		case t.node == self:
			continue
		case len(start) < r:
			start = append(start, t)
		default:
			rest = append(rest, t)
			continue
		}
		if t.primary {
			prim++
		}
	}
	if len(start) > 0 && start[0].node == self && start[0].primary {
		prim++
	}
	// Targets list the primaries first, so the primaries held back lead
	// rest: start them until pr is within reach.
	for prim < pr && len(rest) > 0 && rest[0].primary {
		start = append(start, rest[0])
		rest = rest[1:]
		prim++
	}
	pl.targets, pl.standbys = start, rest
}

// nextStandby takes the next standby: a primary while any is left, as the
// standbys list them first.
func (pl *plan) nextStandby() (target, bool) {
	if len(pl.standbys) == 0 {
		return target{}, false
	}
	t := pl.standbys[0]
	pl.standbys = pl.standbys[1:]
	return t, true
}

// nextSpare takes the next unused fallback.
func (pl *plan) nextSpare() (string, bool) {
	if len(pl.spares) == 0 {
		return "", false
	}
	f := pl.spares[0]
	pl.spares = pl.spares[1:]
	return f, true
}

// counts returns how many targets are primaries and how many fallbacks.
func (pl *plan) counts() (primaries, fallbacks int) {
	for _, t := range pl.targets {
		if t.primary {
			primaries++
		} else {
			fallbacks++
		}
	}
	return primaries, fallbacks
}

// find returns the target of node, if node is one.
func (pl *plan) find(node string) (target, bool) {
	for _, t := range pl.targets {
		if t.node == node {
			return t, true
		}
	}
	return target{}, false
}
