package server

import (
	"context"
	"time"

	"github.com/chorusdb/chorus/transport"
)

// Hooks for the tests of package server_test, which drive whole clusters
// through server/localcluster (an internal test cannot import it: it
// imports server).

// DropHandedOff drops the node's handed-off partitions now, as its
// cleanup loop does every handoff.LeftoverEvery.
func (n *Node) DropHandedOff(ctx context.Context, settle time.Duration) { n.dropHandedOff(ctx, settle) }

// PeerStats returns the node's internode client figures.
func (n *Node) PeerStats() transport.Stats { return n.peers.Stats() }
