package gossip

// StateStore persists what a node must remember across restarts: its node
// ID and the last ring state it accepted, as one opaque blob. The server
// implements it on top of the storage engine's meta keyspace; gossip
// cannot import storage.
//
// Contract: SaveState must be durable when it returns nil (the node
// broadcasts a change only after saving it). LoadState returns what the
// last successful SaveState saved, or (nil, nil) if nothing was ever
// saved. Neither may retain or modify the slices passed or returned
// after the call. Calls are serialised by Membership: SaveState is never
// called concurrently with itself.
type StateStore interface {
	LoadState() ([]byte, error)
	SaveState([]byte) error
}
