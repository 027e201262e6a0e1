package server

import (
	"context"
	"fmt"

	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/transport/pb"
)

// Hints for a node that left the ring.
//
// A hint waits for its target to come back. A target that was removed
// (it left, or an operator removed it) never will, and a leaving node
// should not be handed data it is about to leave with, so hints for a
// removed node go to the key's current primaries instead: the write then
// reaches the nodes that own the key now, which is what the hint was for.

// removed reports whether node is a removed ring member.
func (n *Node) removed(node string) bool {
	for _, r := range n.members.Records() {
		if r.ID == node {
			return r.Removed != 0
		}
	}
	return false
}

// hintLiveness is the node's liveness for hint delivery: a removed
// target counts as up, so that its hints are delivered (redirected).
type hintLiveness struct{ n *Node }

func (l hintLiveness) Alive(node string) bool {
	return l.n.members.Alive(node) || l.n.removed(node)
}

// redirect delivers hints meant for a removed node to every live primary
// of each key in the current ring (this node included, by a local merge).
// It fails if some key has no live primary, or a primary fails; the batch
// is then retried.
func (n *Node) redirect(ctx context.Context, dial internodeDialer, target string, hs []hints.Hint) error {
	coord := n.coordReady.Load()
	if coord == nil || coord.Ring() == nil {
		return fmt.Errorf("server: redirect hints for %s: no ring yet", target)
	}
	r := coord.Ring()
	self := n.ID()
	batches := map[string]*pb.ReplicateBatch{}
	for _, h := range hs {
		live := 0
		for _, p := range r.Primaries(h.Partition) {
			if !n.members.Alive(p) {
				continue
			}
			live++
			if p == self {
				if _, _, err := n.db.Merge(ctx, h.Partition, h.Key, h.Set, true); err != nil {
					return fmt.Errorf("server: redirect hint for %s here: %w", target, err)
				}
				continue
			}
			b := batches[p]
			if b == nil {
				b = &pb.ReplicateBatch{From: self}
				batches[p] = b
			}
			b.Items = append(b.Items, &pb.ReplicateItem{Partition: h.Partition, Key: h.Key, Set: h.Set.Encode(), Durable: true})
		}
		if live == 0 {
			return fmt.Errorf("server: redirect hint for removed %s: no primary of partition %d is up", target, h.Partition)
		}
	}
	for p, b := range batches {
		c, err := dial(p)
		if err != nil {
			return err
		}
		acks, err := c.Replicate(ctx, b)
		if err != nil {
			return fmt.Errorf("server: redirect hints for removed %s to %s: %w", target, p, err)
		}
		for _, e := range acks.Errors {
			if e != "" {
				return fmt.Errorf("server: redirect hints for removed %s to %s: %s", target, p, e)
			}
		}
	}
	return nil
}
