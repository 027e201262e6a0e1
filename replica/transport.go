package replica

import (
	"context"

	"github.com/chorusdb/chorus/vclock"
)

// Transport carries a coordinator's requests to the other replicas. The
// signatures use leaf types only, so transport.Peers (gRPC, batched per
// peer) and the in-memory test network satisfy it without importing this
// package. Implementations must be safe for concurrent use, must return
// once ctx ends, and may coalesce calls to the same node into one message.
type Transport interface {
	// Replicate merges set into node's copy of key (a sibling-set merge,
	// never an overwrite) and returns nil once node has stored it (synced
	// when durable). hintFor, when not empty, names the primary that node
	// stands in for: node keeps the set as a hint and hands it to hintFor
	// when that one is back.
	Replicate(ctx context.Context, node string, partition uint32, key []byte, set vclock.Set, durable bool, hintFor string) error
	// Fetch returns node's sibling set of key, empty (IsEmpty) when node
	// has none.
	//
	// A node that owns the key's partition but is still receiving its
	// data (ownership handoff) answers with a partial reply: its set,
	// valid but possibly lacking writes, and a non-nil error that has, or
	// wraps one that has (errors.As), a method Partial() bool reporting
	// true. transport.IncompleteError is such an error. A read merges the
	// set but does not count the reply toward R or PR. Any other error
	// means the set is to be ignored.
	Fetch(ctx context.Context, node string, partition uint32, key []byte) (vclock.Set, error)
}

// DigestFetcher is an optional capability of a Transport, discovered by
// type assertion (as database/sql discovers a driver's): a Transport that
// has it lets reads take the set from one replica and digests from the
// others (ReadRepairDigest); without it every read fetches every set.
// transport.Peers has it.
type DigestFetcher interface {
	// FetchDigest returns the digest of node's sibling set of key
	// (vclock.Set.Digest of what Fetch would return: 0 when node has
	// none). A node still receiving the key's partition answers its digest
	// with a partial error, as Fetch does; any other error means the
	// digest is to be ignored.
	FetchDigest(ctx context.Context, node string, partition uint32, key []byte) (uint64, error)
}

// Liveness is the failure detector's view; *gossip.Membership satisfies it.
type Liveness interface {
	Alive(node string) bool
}
