package replica

import (
	"context"

	"github.com/chorusdb/chorus/vclock"
)

// Store is the coordinator's own node: its storage and its hint queue. The
// server adapts *storage.DB and *hints.Queue to it. Methods must be safe for
// concurrent use.
type Store interface {
	// Get returns the local sibling set of key, empty (IsEmpty) and nil
	// when there is none. While this node is still receiving the key's
	// partition from its previous owner, Get returns the set it has with
	// an error whose Partial() bool method reports true, as
	// Transport.Fetch does: the set is used, the reply does not count
	// toward R or PR.
	Get(ctx context.Context, partition uint32, key []byte) (vclock.Set, error)
	// Update applies a coordinator write atomically: it drops the siblings
	// clientCtx covers, adds v under a new dot of node and returns the
	// stored set as soon as later reads and writes see it. wait blocks
	// until the write is on disk when durable (the coordinator replicates
	// meanwhile) and returns the sync's error. Dots must never repeat, even
	// across a crash that lost writes other replicas have (storage's
	// incarnations).
	Update(ctx context.Context, partition uint32, key []byte, clientCtx vclock.Clock, node string, v vclock.Value, durable bool) (set vclock.Set, wait func() error, err error)
	// Merge merges set into the local copy of key (read repair of this
	// node).
	Merge(ctx context.Context, partition uint32, key []byte, set vclock.Set, durable bool) error
	// Hint keeps set for node target, which is down, and hands it over
	// when target is back (hinted handoff).
	Hint(ctx context.Context, target string, partition uint32, key []byte, set vclock.Set, durable bool) error
}
