package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metaHandoff holds the handoff manager's saved state.
const metaHandoff = "server.handoff"

// Limits of one Scan page served to a new owner.
const (
	maxScanKeys  = 2048
	maxScanBytes = 4 << 20
)

// startHandoff starts the ownership handoff manager.
func (n *Node) startHandoff(dial internodeDialer) error {
	hc := n.cfg.Handoff
	hc.Self, hc.Liveness = n.members.ID(), n.members
	hc.Store = handoffStore{n.db}
	hc.Source = handoffSource{self: n.members.ID(), dial: dial}
	hc.Logger = n.log.With("component", "handoff")
	// A partition just received is walked by anti-entropy at once: its
	// other primaries may hold writes taken while the ring moved that no
	// holder this node pulled from had.
	hc.OnComplete = func(uint32) {
		if r := n.repairReady.Load(); r != nil {
			r.Notify()
		}
	}
	m, err := handoff.New(hc)
	if err != nil {
		return fmt.Errorf("server: start handoff: %w", err)
	}
	n.handoff = m
	n.onClose(m.Close)
	return nil
}

// updateHandoff plans the transfers of a ring change.
func (n *Node) updateHandoff(prev, next *ring.Ring, recs []gossip.MemberRecord) {
	err := n.handoff.UpdateFromHistory(context.Background(), prev, next, ringMembers(recs), n.cfg.Ring)
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		n.log.Error("handoff: ring change not saved", "err", err)
	}
}

// Transfers returns the node's handoff state: what it still pulls, and
// what it owes.
func (n *Node) Transfers() handoff.Status { return n.handoff.Status() }

// handoffStore is the node's storage as handoff uses it.
type handoffStore struct{ db *storage.DB }

func (s handoffStore) Merge(ctx context.Context, p uint32, key []byte, set vclock.Set) error {
	_, _, err := s.db.Merge(ctx, p, key, set, false)
	return err
}

func (s handoffStore) LoadState() ([]byte, error) {
	b, err := s.db.GetMeta(metaHandoff)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// SaveState is a durable meta write: its sync covers the merges before it.
func (s handoffStore) SaveState(ctx context.Context, b []byte) error {
	return s.db.SetMeta(ctx, metaHandoff, b)
}

// handoffSource pulls pages over the Internode service.
type handoffSource struct {
	self string
	dial internodeDialer
}

func (s handoffSource) Scan(ctx context.Context, node string, p uint32, after []byte, limit int) (handoff.Page, error) {
	c, err := s.dial(node)
	if err != nil {
		return handoff.Page{}, err
	}
	rep, err := c.Scan(ctx, &pb.ScanRequest{From: s.self, Partition: p, After: after, Limit: uint32(limit)})
	if err != nil {
		return handoff.Page{}, err
	}
	page := handoff.Page{Done: rep.Done, Complete: rep.Complete, Items: make([]handoff.Item, len(rep.Items))}
	for i, it := range rep.Items {
		set, err := vclock.Decode(it.Set)
		if err != nil {
			return handoff.Page{}, fmt.Errorf("server: scan of %s: %w", node, err)
		}
		page.Items[i] = handoff.Item{Key: it.Key, Set: set, Size: len(it.Set)}
	}
	return page, nil
}

// errPageFull stops a scan at the page's limit.
var errPageFull = errors.New("page full")

// Scan serves one page of a partition to a node pulling it.
func (s *internode) Scan(ctx context.Context, req *pb.ScanRequest) (*pb.ScanReply, error) {
	limit := int(req.Limit)
	if limit <= 0 || limit > maxScanKeys {
		limit = maxScanKeys
	}
	maxBytes := int(req.MaxBytes)
	if maxBytes <= 0 || maxBytes > maxScanBytes {
		maxBytes = maxScanBytes
	}
	rep := &pb.ScanReply{Complete: s.handoff.SourceComplete(req.Partition)}
	size := 0
	err := s.db.ScanPartitionAfter(ctx, req.Partition, req.After, func(key []byte, set vclock.Set) error {
		if len(rep.Items) >= limit || size >= maxBytes {
			return errPageFull
		}
		enc := set.Encode()
		size += len(key) + len(enc)
		rep.Items = append(rep.Items, &pb.ScanItem{Key: key, Set: enc})
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
	case errors.Is(err, storage.ErrBadPartition):
		return nil, status.Error(codes.InvalidArgument, err.Error())
	case err != nil:
		return nil, toStatus(err)
	default:
		rep.Done = true
	}
	s.handoff.NotePage(req.Partition, req.From, len(rep.Items), size, rep.Done)
	return rep, nil
}

// partialError marks a local read of a partition this node is still
// receiving: the coordinator merges the set but does not count it toward R.
type partialError struct{ partition uint32 }

func (e partialError) Error() string {
	return fmt.Sprintf("server: partition %d is still being handed to this node", e.partition)
}

// Partial tells the coordinator the reply is partial.
func (partialError) Partial() bool { return true }
