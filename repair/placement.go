package repair

import (
	"slices"

	"github.com/chorusdb/chorus/ring"
)

// Liveness is the failure detector's view, e.g. *gossip.Membership.
type Liveness interface {
	// Alive reports whether node is believed to be up.
	Alive(node string) bool
}

// Filling tells which partitions ownership handoff is still filling on
// this node, e.g. *handoff.Manager.
type Filling interface {
	// Incomplete reports whether this node owns p but is still pulling
	// its data.
	Incomplete(p uint32) bool
}

// Placement is where this node stands in the cluster, as repair needs it:
// the ring it routes by, who is up, and which partitions handoff is still
// filling. Its Pairs and Targets are what Config.Pairs and
// CollectorConfig.Targets take. Every field is required.
type Placement struct {
	// Self is this node's ID.
	Self string
	// Ring returns the ring the node routes by now; nil before it has one.
	Ring     func() *ring.Ring
	Liveness Liveness
	Handoff  Filling
}

// Pairs lists the (partition, peer) pairs this node exchanges: for every
// partition it is a primary of, each other live primary for which
// Initiates picks this node, in partition order. A partition handoff is
// still filling is left out: an exchange would redo that work, against a
// copy that may lack data.
func (pl Placement) Pairs() []Pair {
	return pl.pairs(false)
}

// pairs lists the pairs of Pairs, or with all every pair whichever side
// initiates it.
func (pl Placement) pairs(all bool) []Pair {
	r := pl.Ring()
	if r == nil {
		return nil
	}
	var out []Pair
	for _, p := range r.PrimaryPartitions(pl.Self) {
		if pl.Handoff.Incomplete(p) {
			continue
		}
		for _, peer := range r.Primaries(p) {
			if peer != pl.Self && pl.Liveness.Alive(peer) && (all || Initiates(pl.Self, peer, p)) {
				out = append(out, Pair{Partition: p, Peer: peer})
			}
		}
	}
	return out
}

// StartPairs lists, for a node that just started, every pair of the
// partitions it is a primary of: each other live primary, whichever of
// the two Initiates picks, in partition order, leaving out partitions
// handoff is still filling. Config.StartPairs takes it.
func (pl Placement) StartPairs() []Pair {
	return pl.pairs(true)
}

// Targets lists the partitions this node collects tombstones of: those
// whose first primary it is, that have all N primaries, that it holds
// whole (handoff is not filling them), and whose other primaries are all
// up, since only then can every primary be asked.
func (pl Placement) Targets() []Target {
	r := pl.Ring()
	if r == nil {
		return nil
	}
	var out []Target
	for _, p := range r.PrimaryPartitions(pl.Self) {
		prim := r.Primaries(p)
		if len(prim) < r.Replicas() || prim[0] != pl.Self || pl.Handoff.Incomplete(p) {
			continue
		}
		peers := slices.Clone(prim[1:])
		if !slices.ContainsFunc(peers, func(n string) bool { return !pl.Liveness.Alive(n) }) {
			out = append(out, Target{Partition: p, Peers: peers})
		}
	}
	return out
}
