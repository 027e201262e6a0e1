package server

import (
	"context"
	"slices"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// Leftover copies.
//
// A node holds data it does not own in two cases: a fallback keeps the
// sets it stored for a hint, and an old owner keeps a partition it handed
// off. Nothing exchanges them, but a read that falls back to such a node
// would merge them, and a node that regains the partition later would pull
// into them: a delete collected meanwhile could come back. So they are
// dropped: a fallback's copy once its hint is delivered, a handed-off
// partition once every new owner pulled it and has had time to save it.
// Both use compare-and-delete, so a write that reached the node since is
// kept.

// Cleanup timing: how often handed-off partitions are looked at, and how
// long after the last pull a copy is kept (new owners save their progress
// every half second, so their copy is synced well within this).
const (
	cleanupEvery  = 10 * time.Second
	cleanupSettle = 30 * time.Second
)

// startCleanup runs the handed-off partition cleanup until Close.
func (n *Node) startCleanup() {
	n.wg.Go(func() {
		t := time.NewTicker(cleanupEvery)
		defer t.Stop()
		for {
			select {
			case <-n.life.Done():
				return
			case <-t.C:
				n.dropHandedOff(n.life, cleanupSettle)
			}
		}
	})
}

// dropHandedOff deletes this node's copy of every handed-off partition
// whose new owners pulled it at least settle ago.
func (n *Node) dropHandedOff(ctx context.Context, settle time.Duration) {
	r := n.coord.Ring()
	if r == nil {
		return
	}
	for _, p := range n.handoff.Droppable(settle) {
		if slices.Contains(r.Primaries(p), n.ID()) {
			continue // owned again: not a leftover
		}
		ok, err := n.handoff.MarkDropped(ctx, p)
		if err != nil || !ok {
			continue
		}
		removed, err := n.dropPartition(ctx, p)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("handoff: dropping a handed-off partition failed; its copy stays", "partition", p, "err", err)
			continue
		}
		n.log.Info("handoff: dropped a handed-off partition", "partition", p, "keys", removed)
	}
}

// dropPartition deletes every key of p whose set is still the one read.
func (n *Node) dropPartition(ctx context.Context, p uint32) (int, error) {
	removed := 0
	err := n.db.ScanPartition(ctx, p, func(key []byte, s vclock.Set) error {
		ok, err := n.db.DeleteIfEqual(ctx, p, key, s)
		if ok {
			removed++
		}
		return err
	})
	return removed, err
}
