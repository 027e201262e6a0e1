package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Limits of one Tree request, so a reply stays far below the message size
// limit: the segment hashes of at most maxTreeBranches branches, the keys of
// at most maxTreeSegments segments.
const (
	maxTreeBranches = 64
	maxTreeSegments = 256
)

// startRepair starts the anti-entropy scheduler, unless it is turned off.
func (n *Node) startRepair(dial internodeDialer) error {
	if n.cfg.NoAntiEntropy {
		return nil
	}
	rc := n.cfg.AntiEntropy
	rc.Pairs = n.placement().Pairs
	rc.StartPairs = n.placement().StartPairs
	rc.Logger = n.log.With("component", "anti-entropy")
	if rc.ForegroundP99 == nil {
		rc.ForegroundP99 = n.metrics.recentP99
	}
	s, err := repair.NewScheduler(rc, repairLocal{n.db}, repairRemote{self: n.members.ID(), dial: dial,
		shape: n.db.TreeConfig()})
	if err != nil {
		return fmt.Errorf("server: start anti-entropy: %w", err)
	}
	n.repair = s
	n.repairReady.Store(s)
	// The scheduler sleeps while nothing changes; a write wakes it.
	n.db.OnTreeChange(s.Notify)
	n.onClose(func() error {
		n.db.OnTreeChange(nil)
		return s.Close()
	})
	n.metrics.registry().MustRegister(repairCollector{stats: s.Stats, trees: n.db.TreeProgress})
	return nil
}

// placement is this node's place in the cluster, as repair walks it.
func (n *Node) placement() repair.Placement {
	return repair.Placement{Self: n.ID(), Ring: n.coord.Ring, Liveness: n.members, Handoff: n.handoff}
}

// RepairRound runs one anti-entropy round now over every pair this node
// initiates and returns the summed result. For tests and tools; the
// background scheduler does the same continuously.
func (n *Node) RepairRound(ctx context.Context) (repair.Result, error) {
	if n.repair == nil {
		return repair.Result{}, errors.New("server: anti-entropy is turned off")
	}
	return n.repair.Round(ctx)
}

// repairLocal is the node's storage as the exchange uses it.
type repairLocal struct{ db *storage.DB }

func (l repairLocal) TreeRoot(p uint32) (uint64, error) {
	r, err := l.db.TreeRoot(p)
	if errors.Is(err, storage.ErrTreesNotReady) {
		return 0, fmt.Errorf("%w: %w", repair.ErrNotReady, err)
	}
	return r, err
}

func (l repairLocal) TreeSnapshot(p uint32) (*antientropy.Tree, error) {
	t, err := l.db.TreeSnapshot(p)
	if errors.Is(err, storage.ErrTreesNotReady) {
		return nil, fmt.Errorf("%w: %w", repair.ErrNotReady, err)
	}
	return t, err
}

func (l repairLocal) ScanSegments(ctx context.Context, p uint32, segments []int, fn func([]byte, vclock.Set) error) error {
	return l.db.ScanSegments(ctx, p, segments, fn)
}

// Merge stores repairs without a sync of their own: a repair lost in a
// machine crash is found again by the next exchange.
func (l repairLocal) Merge(ctx context.Context, p uint32, key []byte, s vclock.Set) (bool, error) {
	_, changed, err := l.db.Merge(ctx, p, key, s, false)
	return changed, err
}

// repairRemote reaches a peer's trees and data over the Internode service.
type repairRemote struct {
	self  string
	dial  internodeDialer
	shape antientropy.Config
}

func (r repairRemote) tree(ctx context.Context, peer string, req *pb.TreeRequest) (*pb.TreeReply, error) {
	c, err := r.dial(peer)
	if err != nil {
		return nil, err
	}
	req.From, req.TreeSegments, req.TreeBranches = r.self, uint32(r.shape.Segments), uint32(r.shape.Branches)
	rep, err := c.Tree(ctx, req)
	if err != nil {
		return nil, err
	}
	if !rep.Ready {
		return nil, fmt.Errorf("%w: %s is rebuilding its trees", repair.ErrNotReady, peer)
	}
	return rep, nil
}

func (r repairRemote) Root(ctx context.Context, peer string, p uint32) (uint64, error) {
	rep, err := r.tree(ctx, peer, &pb.TreeRequest{Partition: p, Level: pb.TreeLevel_TREE_LEVEL_ROOT})
	if err != nil {
		return 0, err
	}
	return rep.Root, nil
}

func (r repairRemote) Branches(ctx context.Context, peer string, p uint32) ([]uint64, error) {
	rep, err := r.tree(ctx, peer, &pb.TreeRequest{Partition: p, Level: pb.TreeLevel_TREE_LEVEL_BRANCHES})
	if err != nil {
		return nil, err
	}
	return rep.Hashes, nil
}

func (r repairRemote) Segments(ctx context.Context, peer string, p uint32, branches []int) ([]uint64, error) {
	rep, err := r.tree(ctx, peer, &pb.TreeRequest{Partition: p, Level: pb.TreeLevel_TREE_LEVEL_SEGMENTS,
		Branches: toUint32s(branches)})
	if err != nil {
		return nil, err
	}
	return rep.Hashes, nil
}

func (r repairRemote) Keys(ctx context.Context, peer string, p uint32, segments []int) ([]repair.KeyHash, error) {
	rep, err := r.tree(ctx, peer, &pb.TreeRequest{Partition: p, Level: pb.TreeLevel_TREE_LEVEL_KEYS,
		Segments: toUint32s(segments)})
	if err != nil {
		return nil, err
	}
	out := make([]repair.KeyHash, len(rep.Keys))
	for i, k := range rep.Keys {
		out[i] = repair.KeyHash{Key: k.Key, Hash: k.Hash}
	}
	return out, nil
}

func (r repairRemote) Fetch(ctx context.Context, peer string, p uint32, keys [][]byte) ([]vclock.Set, error) {
	c, err := r.dial(peer)
	if err != nil {
		return nil, err
	}
	b := &pb.FetchBatch{From: r.self, Items: make([]*pb.FetchItem, len(keys))}
	for i, k := range keys {
		b.Items[i] = &pb.FetchItem{Partition: p, Key: k}
	}
	rep, err := c.Fetch(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(rep.Replies) != len(keys) {
		return nil, fmt.Errorf("server: fetch of %d keys from %s answered %d", len(keys), peer, len(rep.Replies))
	}
	out := make([]vclock.Set, len(keys))
	for i, it := range rep.Replies {
		if it.Error != "" {
			return nil, fmt.Errorf("server: fetch from %s: %s", peer, it.Error)
		}
		if it.Incomplete {
			// Its copy may lack data the old owner still holds: neither
			// a repair nor a tombstone collection may rely on it.
			return nil, fmt.Errorf("%w: %s is still receiving partition %d", repair.ErrNotReady, peer, p)
		}
		if len(it.Set) == 0 {
			continue
		}
		if out[i], err = vclock.Decode(it.Set); err != nil {
			return nil, fmt.Errorf("server: fetch from %s: %w", peer, err)
		}
	}
	return out, nil
}

func (r repairRemote) Push(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set) error {
	c, err := r.dial(peer)
	if err != nil {
		return err
	}
	b := &pb.ReplicateBatch{From: r.self, Items: make([]*pb.ReplicateItem, len(keys))}
	for i, k := range keys {
		b.Items[i] = &pb.ReplicateItem{Partition: p, Key: k, Set: sets[i].Encode()}
	}
	acks, err := c.Replicate(ctx, b)
	if err != nil {
		return err
	}
	for _, e := range acks.Errors {
		if e != "" {
			return fmt.Errorf("server: push to %s: %s", peer, e)
		}
	}
	return nil
}

func toUint32s(xs []int) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = uint32(x)
	}
	return out
}

// Tree serves one level of this node's anti-entropy tree of a partition.
func (s *internode) Tree(ctx context.Context, req *pb.TreeRequest) (*pb.TreeReply, error) {
	shape := s.db.TreeConfig()
	if req.TreeSegments != uint32(shape.Segments) || req.TreeBranches != uint32(shape.Branches) {
		return nil, status.Errorf(codes.InvalidArgument,
			"server: tree shape %d segments / %d branches differs from this node's %d / %d; every node must use the same",
			req.TreeSegments, req.TreeBranches, shape.Segments, shape.Branches)
	}
	if len(req.Branches) > maxTreeBranches || len(req.Segments) > maxTreeSegments {
		return nil, status.Errorf(codes.InvalidArgument, "server: tree request for %d branches / %d segments, limits %d / %d",
			len(req.Branches), len(req.Segments), maxTreeBranches, maxTreeSegments)
	}
	if s.handoff.Incomplete(req.Partition) {
		return &pb.TreeReply{Ready: false}, nil // still being handed over
	}
	rep, err := s.treeLevel(ctx, req)
	switch {
	case errors.Is(err, storage.ErrTreesNotReady):
		return &pb.TreeReply{Ready: false}, nil
	case errors.Is(err, storage.ErrBadSegment), errors.Is(err, storage.ErrBadPartition):
		return nil, status.Error(codes.InvalidArgument, err.Error())
	case err != nil:
		return nil, toStatus(err)
	}
	rep.Ready = true
	return rep, nil
}

func (s *internode) treeLevel(ctx context.Context, req *pb.TreeRequest) (*pb.TreeReply, error) {
	p := req.Partition
	switch req.Level {
	case pb.TreeLevel_TREE_LEVEL_ROOT:
		root, err := s.db.TreeRoot(p)
		return &pb.TreeReply{Root: root}, err
	case pb.TreeLevel_TREE_LEVEL_BRANCHES:
		hs, err := s.db.TreeBranches(p)
		return &pb.TreeReply{Hashes: hs}, err
	case pb.TreeLevel_TREE_LEVEL_SEGMENTS:
		hs, err := s.db.TreeSegments(p, toInts(req.Branches))
		return &pb.TreeReply{Hashes: hs}, err
	case pb.TreeLevel_TREE_LEVEL_KEYS:
		if _, err := s.db.TreeRoot(p); err != nil {
			return nil, err // not ready, or a bad partition
		}
		rep := &pb.TreeReply{}
		err := s.db.ScanSegments(ctx, p, toInts(req.Segments), func(key []byte, set vclock.Set) error {
			rep.Keys = append(rep.Keys, &pb.KeyHash{Key: key, Hash: antientropy.KeyHash(key, set)})
			return nil
		})
		return rep, err
	}
	return nil, status.Errorf(codes.InvalidArgument, "server: unknown tree level %d", req.Level)
}

func toInts(xs []uint32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}
