package handoff

import (
	"context"
	"slices"
	"time"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/vclock"
)

// Leftover partitions.
//
// An old owner keeps the partitions it handed off. Nothing exchanges them,
// but a read that falls back to such a node would merge them, and a node
// that regains the partition later would pull into them: a delete
// collected meanwhile could come back. So a handed-off partition is
// dropped once every new owner pulled it and has had time to save it; so
// is a partition lost while still being pulled (its new owners merge its
// part, see Manager.pull). The
// deletes are compare-and-delete, so a write that reached the node since
// is kept.

// Leftover timing: how often a node looks for leftovers, and how long
// after the last pull it keeps one. New owners save their progress every
// saveEvery (half a second), so their copy is synced well within
// LeftoverSettle.
const (
	LeftoverEvery  = 10 * time.Second
	LeftoverSettle = 30 * time.Second
)

// PartitionStore is the local store as dropping leftovers uses it.
// *storage.DB satisfies it.
type PartitionStore interface {
	// ScanPartition calls fn for every key of partition p with its set.
	ScanPartition(ctx context.Context, p uint32, fn func(key []byte, s vclock.Set) error) error
	// DeleteIfEqual deletes key if its stored set still equals expect.
	DeleteIfEqual(ctx context.Context, p uint32, key []byte, expect vclock.Set) (bool, error)
}

// DropLeftovers deletes this node's copy of every partition Droppable
// lists for settle, except those it is a primary of again in the current
// ring r (a ring change the Manager has not been told of yet). Each is
// marked dropped (and saved) before its keys are deleted, so that no
// puller reads a half-deleted partition as whole. It returns how many
// partitions it dropped; a failure leaves that partition's remaining keys
// in place and is logged. A nil r drops nothing.
func (m *Manager) DropLeftovers(ctx context.Context, r *ring.Ring, store PartitionStore, settle time.Duration) int {
	if r == nil {
		return 0
	}
	dropped := 0
	for _, p := range m.Droppable(settle) {
		if slices.Contains(r.Primaries(p), m.cfg.Self) {
			continue // owned again: not a leftover
		}
		ok, err := m.MarkDropped(ctx, p)
		if err != nil || !ok {
			continue
		}
		removed, err := dropPartition(ctx, store, p)
		if err != nil && ctx.Err() == nil {
			m.cfg.Logger.Warn("handoff: dropping a handed-off partition failed; its copy stays", "partition", p, "err", err)
			continue
		}
		m.cfg.Logger.Info("handoff: dropped a handed-off partition", "partition", p, "keys", removed)
		dropped++
	}
	return dropped
}

// dropPartition deletes every key of p whose set is still the one read.
func dropPartition(ctx context.Context, store PartitionStore, p uint32) (int, error) {
	removed := 0
	err := store.ScanPartition(ctx, p, func(key []byte, s vclock.Set) error {
		ok, err := store.DeleteIfEqual(ctx, p, key, s)
		if ok {
			removed++
		}
		return err
	})
	return removed, err
}
