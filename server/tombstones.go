package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrDownTooLong is returned by Start when the node's data is older than
// the tombstone grace period and Config.ForceRejoin is not set.
var ErrDownTooLong = repair.ErrDownTooLong

// metaLastAlive holds the last time the node was known to be running
// (repair.EncodeAliveMark), refreshed every repair.AliveMarkEvery.
const metaLastAlive = "server.last_alive"

// checkDowntime refuses to start a node whose last-alive mark is older than
// the grace period (repair.CheckDowntime), unless forced.
func (n *Node) checkDowntime() error {
	if n.cfg.InMemory {
		return nil
	}
	b, err := n.db.GetMeta(metaLastAlive)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // first start
	}
	if err != nil {
		return fmt.Errorf("server: read last-alive mark: %w", err)
	}
	last, err := repair.DecodeAliveMark(b)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	err = repair.CheckDowntime(last, n.wallNow(), n.cfg.Tombstones.Grace)
	if err == nil {
		return nil
	}
	if n.cfg.ForceRejoin {
		n.log.Warn("rejoining anyway (forced): deletes collected meanwhile may come back", "err", err)
		return nil
	}
	return fmt.Errorf("server: %w. Deletes the cluster has since forgotten may still be live values here, and "+
		"anti-entropy would bring them back. Wipe the data directory and start the node empty (anti-entropy and "+
		"handoff refill it), or start with --force-rejoin to accept that risk", err)
}

// markAlive writes the last-alive mark now and then every
// repair.AliveMarkEvery until the node closes.
func (n *Node) markAlive() error {
	if n.cfg.InMemory {
		return nil
	}
	write := func() error {
		return n.db.SetMeta(context.Background(), metaLastAlive, repair.EncodeAliveMark(n.wallNow()))
	}
	if err := write(); err != nil {
		return fmt.Errorf("server: write last-alive mark: %w", err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(repair.AliveMarkEvery(n.cfg.Tombstones.Grace))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := write(); err != nil && !errors.Is(err, storage.ErrClosed) {
					n.log.Warn("server: write last-alive mark", "err", err)
				}
			}
		}
	}()
	// Registered after storage, so it runs before storage closes.
	n.onClose(func() error { close(stop); <-done; return nil })
	return nil
}

// startCollector starts tombstone collection.
func (n *Node) startCollector(dial internodeDialer) error {
	cc := n.cfg.Tombstones
	cc.Targets = n.placement().Targets
	// A pass reads the deleted keys of the partitions it leads (storage's
	// tombstone index); with no tombstone written or left since the last,
	// it is skipped.
	cc.TombstoneWrites = n.db.TombstoneWrites
	cc.Logger = n.log.With("component", "tombstones")
	if n.faults != nil && cc.Now == nil {
		cc.Now = n.faults.Now // the grace is wall time
	}
	rr := repairRemote{self: n.members.ID(), dial: dial, shape: n.db.TreeConfig()}
	c, err := repair.NewCollector(cc, tombstoneLocal{n.db}, tombstoneRemote{rr})
	if err != nil {
		return fmt.Errorf("server: start tombstone collection: %w", err)
	}
	n.collector = c
	n.onClose(c.Close)
	n.metrics.registry().MustRegister(handoffCollector{status: n.handoff.Status, tombstones: c.Stats})
	n.metrics.registry().MustRegister(tombstoneScanCollector{c.Stats})
	return nil
}

// tombstoneScanCollector exports how many deleted keys collection passes
// looked at: with storage's tombstone index, a pass's cost.
type tombstoneScanCollector struct{ stats func() repair.CollectStats }

var descTombstonesScanned = prometheus.NewDesc("chorus_tombstones_scanned_total",
	"Deleted keys tombstone collection looked at (it reads storage's tombstone index, not every key).", nil, nil)

func (c tombstoneScanCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descTombstonesScanned }

func (c tombstoneScanCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descTombstonesScanned, prometheus.CounterValue, float64(c.stats().Scanned))
}

// CollectTombstones runs one tombstone collection pass now and returns how
// many keys this node removed. For tests and tools.
func (n *Node) CollectTombstones(ctx context.Context) (int, error) {
	return n.collector.Pass(ctx)
}

// tombstoneLocal is the node's storage as the collector reads it: a
// partition's "scan" walks storage's tombstone index, not the partition,
// so a pass costs in proportion to the deleted keys, not to all keys. The
// collector only ever considers deleted keys, so it sees the same
// candidates; its Scanned count becomes the deleted keys looked at.
type tombstoneLocal struct{ db *storage.DB }

func (l tombstoneLocal) ScanPartition(ctx context.Context, p uint32, fn func([]byte, vclock.Set) error) error {
	return l.db.ScanTombstones(ctx, p, fn)
}

func (l tombstoneLocal) DeleteTombstone(ctx context.Context, p uint32, key []byte, expect vclock.Set) (bool, error) {
	return l.db.DeleteTombstone(ctx, p, key, expect)
}

// tombstoneRemote reaches the other primaries for collection.
type tombstoneRemote struct{ repairRemote }

func (r tombstoneRemote) Collect(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set) ([]bool, error) {
	c, err := r.dial(peer)
	if err != nil {
		return nil, err
	}
	b := &pb.CollectBatch{From: r.self, Items: make([]*pb.CollectItem, len(keys))}
	for i, k := range keys {
		b.Items[i] = &pb.CollectItem{Partition: p, Key: k, Set: sets[i].Encode()}
	}
	acks, err := c.Collect(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(acks.Removed) != len(keys) {
		return nil, fmt.Errorf("server: collect of %d keys on %s answered %d", len(keys), peer, len(acks.Removed))
	}
	for _, e := range acks.Errors {
		if e != "" {
			return nil, fmt.Errorf("server: collect on %s: %s", peer, e)
		}
	}
	return acks.Removed, nil
}

// Collect removes each tombstone whose stored set still equals the one
// given.
func (s *internode) Collect(ctx context.Context, b *pb.CollectBatch) (*pb.CollectAcks, error) {
	if len(b.Items) > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "server: collect batch of %d items, limit %d", len(b.Items), maxBatchItems)
	}
	out := &pb.CollectAcks{Removed: make([]bool, len(b.Items)), Errors: make([]string, len(b.Items))}
	for i, it := range b.Items {
		set, err := vclock.Decode(it.Set)
		if err != nil {
			out.Errors[i] = "server: collect: " + err.Error()
			continue
		}
		removed, err := s.db.DeleteTombstone(ctx, it.Partition, it.Key, set)
		if err != nil {
			out.Errors[i] = err.Error()
			continue
		}
		out.Removed[i] = removed
	}
	return out, nil
}
