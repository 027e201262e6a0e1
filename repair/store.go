package repair

import (
	"context"
	"errors"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/vclock"
)

// ErrNotReady is what Local and Remote return (wrapped) while a tree is
// being rebuilt; the exchange is skipped and retried later.
var ErrNotReady = errors.New("repair: tree not ready")

// Local is this node's store as an exchange uses it.
type Local interface {
	// TreeRoot returns the root hash of partition p's tree, or an error
	// wrapping ErrNotReady while trees are being rebuilt. It must be cheap
	// (no copy of the tree): the Scheduler reads it for every pair it
	// considers, to tell which partitions changed.
	TreeRoot(p uint32) (uint64, error)
	// TreeSnapshot returns a copy of partition p's tree, or an error
	// wrapping ErrNotReady while trees are being rebuilt.
	TreeSnapshot(p uint32) (*antientropy.Tree, error)
	// ScanSegments calls fn for every key of partition p in the given
	// segments, with its set.
	ScanSegments(ctx context.Context, p uint32, segments []int, fn func(key []byte, s vclock.Set) error) error
	// Merge joins s into the stored set of key and reports whether the
	// stored set changed.
	Merge(ctx context.Context, p uint32, key []byte, s vclock.Set) (changed bool, err error)
}

// KeyHash is one key of a remote segment with its antientropy.KeyHash.
type KeyHash struct {
	Key  []byte
	Hash uint64
}

// Remote is a peer's replica as an exchange uses it. Every method is one
// round trip. Methods return an error wrapping ErrNotReady when the peer's
// trees are not built yet.
type Remote interface {
	// Root returns the root hash of the peer's tree of partition p.
	Root(ctx context.Context, peer string, p uint32) (uint64, error)
	// Branches returns all branch hashes of the peer's tree.
	Branches(ctx context.Context, peer string, p uint32) ([]uint64, error)
	// Segments returns the segment hashes of the given branches,
	// concatenated in the order asked.
	Segments(ctx context.Context, peer string, p uint32, branches []int) ([]uint64, error)
	// Keys returns the keys of the given segments with their hashes.
	Keys(ctx context.Context, peer string, p uint32, segments []int) ([]KeyHash, error)
	// Fetch returns the peer's sets of keys, in order (an empty set for a
	// key it does not have).
	Fetch(ctx context.Context, peer string, p uint32, keys [][]byte) ([]vclock.Set, error)
	// Push merges sets into the peer's stored sets of keys.
	Push(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set) error
}
