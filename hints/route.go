package hints

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// Routing hints.
//
// A hint waits for its target to come back. A target that was removed
// (it left, or an operator removed it) never will, and a leaving node
// should not be handed data it is about to leave with, so the hints of a
// removed target go to the keys' current primaries instead: the write then
// reaches the nodes that own the key now, which is what the hint was for.
//
// A fallback keeps the sets it stored for a hint. Nothing exchanges them
// (it is no replica of the key), but a read that falls back to it would
// merge them, and a node that regains the partition later would pull into
// them: a delete collected meanwhile could come back. So once the hints
// are delivered, the fallback's copy is dropped, by a compare-and-delete
// that keeps a write that reached it since.

// Ring is the current ownership of partitions. *ring.Ring satisfies it.
type Ring interface {
	// Primaries returns the nodes that own partition now.
	Primaries(partition uint32) []string
}

// Members is the membership as hint routing sees it, e.g. the gossiped
// ring records with the failure detector.
type Members interface {
	// Alive reports whether node is believed to be up.
	Alive(node string) bool
	// Removed reports whether node left the ring for good. It must stay
	// true once it is: a removed node never comes back under its ID.
	Removed(node string) bool
}

// Local is this node's store as routing uses it: it merges the redirected
// hints of keys this node is a primary of, and drops fallback copies.
// *storage.DB satisfies it.
type Local interface {
	Get(ctx context.Context, partition uint32, key []byte) (vclock.Set, error)
	Merge(ctx context.Context, partition uint32, key []byte, set vclock.Set, durable bool) (vclock.Set, bool, error)
	// DeleteIfEqual deletes key if its stored set still equals expect.
	DeleteIfEqual(ctx context.Context, partition uint32, key []byte, expect vclock.Set) (bool, error)
}

var _ Local = (*storage.DB)(nil)

// RouterConfig wires a Router. Every field is required.
type RouterConfig struct {
	// Self is this node's ID.
	Self string
	// Ring returns the ring the node routes by now, or nil (a nil
	// interface, not a nil *ring.Ring) before it has one.
	Ring func() Ring
	// Members tells live and removed nodes apart.
	Members Members
	// Local is this node's store.
	Local Local
	// Send hands a batch to one node, which merges each set durably (the
	// transport). The node it is called with is where the batch goes: for
	// redirected hints, a current primary, not the hints' Target.
	Send Sender
}

// Router is the Sender and Liveness a node gives its Queue: it delivers
// each batch to its target, or, for a removed target, to the keys' current
// primaries, and once a batch is delivered it drops this node's fallback
// copies of its keys. It holds no state and is safe for concurrent use.
type Router struct{ cfg RouterConfig }

// NewRouter returns a Router, or an error wrapping ErrBadConfig if a field
// is missing.
func NewRouter(cfg RouterConfig) (*Router, error) {
	switch {
	case cfg.Self == "":
		return nil, fmt.Errorf("%w: RouterConfig.Self is required", ErrBadConfig)
	case cfg.Ring == nil || cfg.Members == nil || cfg.Local == nil || cfg.Send == nil:
		return nil, fmt.Errorf("%w: RouterConfig needs Ring, Members, Local and Send", ErrBadConfig)
	}
	return &Router{cfg: cfg}, nil
}

// Alive reports node as up when it is, and when it was removed: the hints
// of a removed node are then delivered (redirected) instead of waiting
// for a node that never comes back.
func (r *Router) Alive(node string) bool {
	return r.cfg.Members.Alive(node) || r.cfg.Members.Removed(node)
}

// DeliverHints delivers hs to target, or to their keys' live primaries if
// target was removed, then drops this node's copies of the keys it is no
// primary of. It fails, keeping every hint queued, if a delivery fails.
func (r *Router) DeliverHints(ctx context.Context, target string, hs []Hint) error {
	var err error
	if r.cfg.Members.Removed(target) {
		err = r.redirect(ctx, target, hs)
	} else {
		err = r.cfg.Send.DeliverHints(ctx, target, hs)
	}
	if err != nil {
		return err
	}
	r.dropDelivered(ctx, hs)
	return nil
}

// errNoRing fails a redirection before the node knows who owns what.
var errNoRing = errors.New("hints: no ring yet")

// redirect delivers the hints of a removed target to every live primary of
// each key in the current ring, this node included (by a local merge).
func (r *Router) redirect(ctx context.Context, target string, hs []Hint) error {
	rg := r.cfg.Ring()
	if rg == nil {
		return fmt.Errorf("hints: redirect hints for removed %s: %w", target, errNoRing)
	}
	plan, err := planRedirect(hs, rg, r.cfg.Members.Alive)
	if err != nil {
		return fmt.Errorf("hints: redirect hints for removed %s: %w", target, err)
	}
	for _, h := range plan[r.cfg.Self] {
		if _, _, err := r.cfg.Local.Merge(ctx, h.Partition, h.Key, h.Set, true); err != nil {
			return fmt.Errorf("hints: redirect hint for removed %s here: %w", target, err)
		}
	}
	for _, node := range sortedNodes(plan) {
		if node == r.cfg.Self {
			continue
		}
		if err := r.cfg.Send.DeliverHints(ctx, node, plan[node]); err != nil {
			return fmt.Errorf("hints: redirect hints for removed %s to %s: %w", target, node, err)
		}
	}
	return nil
}

// planRedirect returns, for each live primary in rg of the hints' keys,
// the hints it is to merge. It fails if a key has no live primary: the
// batch then stays queued until one is up.
func planRedirect(hs []Hint, rg Ring, alive func(node string) bool) (map[string][]Hint, error) {
	plan := map[string][]Hint{}
	for _, h := range hs {
		live := 0
		for _, p := range rg.Primaries(h.Partition) {
			if alive(p) {
				live++
				plan[p] = append(plan[p], h)
			}
		}
		if live == 0 {
			return nil, fmt.Errorf("no primary of partition %d is up", h.Partition)
		}
	}
	return plan, nil
}

func sortedNodes(plan map[string][]Hint) []string {
	nodes := make([]string, 0, len(plan))
	for n := range plan {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	return nodes
}

// dropDelivered deletes this node's copies of the delivered keys it is no
// primary of (in the current ring), each only if the hints delivered carry
// all of its stored set. Failures leave the copy; it is harmless but for
// the space, and the next delivery of the key retries.
func (r *Router) dropDelivered(ctx context.Context, hs []Hint) {
	rg := r.cfg.Ring()
	if rg == nil {
		return
	}
	for k, sent := range deliveredCopies(hs, rg, r.cfg.Self) {
		key := []byte(k.key)
		cur, err := r.cfg.Local.Get(ctx, k.partition, key)
		if err != nil {
			continue // absent already, or unreadable: nothing to drop
		}
		if vclock.Sync(cur, sent).Equal(sent) {
			_, _ = r.cfg.Local.DeleteIfEqual(ctx, k.partition, key, cur)
		}
	}
}

// copyKey names a key of a partition.
type copyKey struct {
	partition uint32
	key       string
}

// deliveredCopies returns, for each key of hs that self is no primary of
// in rg, the join of the sets delivered for it: a stored copy covered by
// that join holds nothing the owners were not given.
func deliveredCopies(hs []Hint, rg Ring, self string) map[copyKey]vclock.Set {
	out := map[copyKey]vclock.Set{}
	for _, h := range hs {
		if slices.Contains(rg.Primaries(h.Partition), self) {
			continue
		}
		k := copyKey{h.Partition, string(h.Key)}
		out[k] = vclock.Sync(out[k], h.Set)
	}
	return out
}
