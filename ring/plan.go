package ring

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrBadChange is wrapped by ApplyChanges' errors.
var ErrBadChange = errors.New("ring: change refused")

// Change is one membership change of a plan: a node joins, leaves (hands
// its data off first) or is removed (gone for good). For the ring the
// last two are the same: the node's record is removed at a new epoch.
type Change struct {
	Op   string `json:"op"` // "join", "leave" or "remove"
	Node string `json:"node"`
	// Zone and Weight describe a joining node; zero Weight is 1.
	Zone   string  `json:"zone,omitempty"`
	Weight float64 `json:"weight,omitempty"`
}

// The change operations.
const (
	OpJoin   = "join"
	OpLeave  = "leave"
	OpRemove = "remove"
)

// ApplyChanges returns the membership history after changes, in order,
// as the cluster would record them: each change takes the epoch after
// every Joined and Removed in the history so far (the epochs gossip
// assigns). It refuses a join of a node already known (removed IDs are
// never reused), a leave or remove of a node that is not a member, and a
// plan that would leave the ring empty. history is not modified.
func ApplyChanges(history []Member, changes []Change) ([]Member, error) {
	out := slices.Clone(history)
	for _, ch := range changes {
		epoch := uint64(0)
		for _, m := range out {
			epoch = max(epoch, m.Joined, m.Removed)
		}
		epoch++
		i := slices.IndexFunc(out, func(m Member) bool { return m.ID == ch.Node })
		switch ch.Op {
		case OpJoin:
			if i >= 0 {
				return nil, fmt.Errorf("%w: %s is already known to the ring (a removed node's ID is not reused)", ErrBadChange, ch.Node)
			}
			if ch.Node == "" {
				return nil, fmt.Errorf("%w: a joining node needs an ID", ErrBadChange)
			}
			out = append(out, Member{ID: ch.Node, Zone: ch.Zone, Weight: ch.Weight, Joined: epoch})
		case OpLeave, OpRemove:
			if i < 0 || out[i].Removed != 0 {
				return nil, fmt.Errorf("%w: %s is not a member of the ring", ErrBadChange, ch.Node)
			}
			out[i].Removed = max(epoch, out[i].Joined+1)
		default:
			return nil, fmt.Errorf("%w: unknown operation %q (want join, leave or remove)", ErrBadChange, ch.Op)
		}
	}
	if !slices.ContainsFunc(out, func(m Member) bool { return m.Removed == 0 }) {
		return nil, fmt.Errorf("%w: the plan leaves no member in the ring", ErrBadChange)
	}
	return out, nil
}

// Size is the data of one partition on one node.
type Size struct {
	Keys  uint64 `json:"keys"`
	Bytes uint64 `json:"bytes"`
}

// PlannedMove is one partition copy a ring change makes: To becomes a
// primary of Partition in place of From (empty when it gains one without
// losing one), and pulls about Keys keys and Bytes bytes.
type PlannedMove struct {
	Partition uint32 `json:"partition"`
	From      string `json:"from,omitempty"`
	To        string `json:"to"`
	Size
}

// NodeFlow sums the moves into and out of one node.
type NodeFlow struct {
	Node          string `json:"node"`
	PartitionsIn  int    `json:"partitions_in"`
	PartitionsOut int    `json:"partitions_out"`
	In            Size   `json:"in"`
	Out           Size   `json:"out"`
}

// MovePlan is what a ring change would move.
type MovePlan struct {
	Moves []PlannedMove `json:"moves"`
	// Nodes lists every node that sends or receives, by ID.
	Nodes []NodeFlow `json:"nodes"`
	// Partitions counts the distinct partitions that move; Total sums
	// every move.
	Partitions int  `json:"partitions"`
	Total      Size `json:"total"`
}

// PlanMoves lists what the change from prev to next moves, each move
// sized by size: the copy on From, or, when From holds none (or is
// empty), the largest copy among prev's primaries of the partition, which
// the new owner pulls from in that case. size reports false for a copy it
// does not know. It is pure.
func PlanMoves(prev, next *Ring, size func(node string, p uint32) (Size, bool)) MovePlan {
	plan := MovePlan{Moves: []PlannedMove{}, Nodes: []NodeFlow{}}
	flows := map[string]*NodeFlow{}
	flow := func(id string) *NodeFlow {
		if flows[id] == nil {
			flows[id] = &NodeFlow{Node: id}
		}
		return flows[id]
	}
	parts := map[uint32]bool{}
	for _, mv := range Moves(prev, next) {
		if mv.To == "" {
			continue // a copy dropped, nothing pulled
		}
		pm := PlannedMove{Partition: mv.Partition, From: mv.From, To: mv.To}
		s, ok := Size{}, false
		if mv.From != "" {
			s, ok = size(mv.From, mv.Partition)
		}
		if !ok && prev != nil {
			for _, id := range prev.Primaries(mv.Partition) {
				if o, have := size(id, mv.Partition); have && o.Keys >= s.Keys {
					s = o
				}
			}
		}
		pm.Size = s
		plan.Moves = append(plan.Moves, pm)
		parts[mv.Partition] = true
		plan.Total.Keys += s.Keys
		plan.Total.Bytes += s.Bytes
		in := flow(mv.To)
		in.PartitionsIn++
		in.In.Keys += s.Keys
		in.In.Bytes += s.Bytes
		if mv.From != "" {
			out := flow(mv.From)
			out.PartitionsOut++
			out.Out.Keys += s.Keys
			out.Out.Bytes += s.Bytes
		}
	}
	plan.Partitions = len(parts)
	for _, f := range flows {
		plan.Nodes = append(plan.Nodes, *f)
	}
	slices.SortFunc(plan.Nodes, func(a, b NodeFlow) int { return cmp.Compare(a.Node, b.Node) })
	return plan
}
