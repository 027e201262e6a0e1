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
type plan struct {
	partition uint32
	targets   []target
	spares    []string
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
