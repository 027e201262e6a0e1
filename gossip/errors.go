package gossip

import "errors"

// Errors returned by this package. Check them with errors.Is: most are
// wrapped with context.
var (
	// ErrClosed is returned by operations on a closed Membership.
	ErrClosed = errors.New("gossip: closed")

	// ErrInvalidConfig is wrapped by Config.Validate's errors.
	ErrInvalidConfig = errors.New("gossip: invalid config")

	// ErrRemoved is returned when a change would touch a node that has
	// been removed from the ring, and by New when the persisted state
	// says this node was removed: a removed node ID never comes back (give
	// the machine a fresh data directory and so a new ID).
	ErrRemoved = errors.New("gossip: node was removed from the ring")

	// ErrUnknownNode is returned by SetStatus and Remove for a node ID
	// that has no record in the ring.
	ErrUnknownNode = errors.New("gossip: unknown node")

	// ErrNodeIDMismatch is returned by New when Config.NodeID differs
	// from the node ID persisted in the store.
	ErrNodeIDMismatch = errors.New("gossip: node ID differs from the persisted one")

	// ErrNoSeeds is returned by Join when it is given no seed address.
	ErrNoSeeds = errors.New("gossip: no seed addresses to join")
)
