package server

import (
	"context"
	"time"

	"github.com/chorusdb/chorus/handoff"
)

// startCleanup drops handed-off partitions (handoff.Manager.DropLeftovers)
// every handoff.LeftoverEvery until Close.
func (n *Node) startCleanup() {
	n.wg.Go(func() {
		t := time.NewTicker(handoff.LeftoverEvery)
		defer t.Stop()
		for {
			select {
			case <-n.life.Done():
				return
			case <-t.C:
				n.dropHandedOff(n.life, handoff.LeftoverSettle)
			}
		}
	})
}

// dropHandedOff deletes this node's copy of every handed-off partition
// whose new owners pulled it at least settle ago.
func (n *Node) dropHandedOff(ctx context.Context, settle time.Duration) {
	n.handoff.DropLeftovers(ctx, n.coord.Ring(), n.db, settle)
}
