package server

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxBatchItems bounds the items of one internode message.
const maxBatchItems = 4096

// internode serves this node's replica side to its peers: it merges the
// sets coordinators send (storing a hint too when this node stands in for
// a primary) and reads local sets for their reads.
type internode struct {
	pb.UnimplementedInternodeServer
	db      *storage.DB
	hints   *hints.Queue
	handoff *handoff.Manager
}

// Replicate applies the items concurrently, so that one batch becomes one
// group commit (one sync) in storage, and acks each in order. The answer
// is stamped with when the last item became visible here (before the
// sync), so that the sender can tell the write leg from the ack leg.
func (s *internode) Replicate(ctx context.Context, b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	if len(b.Items) > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "server: replicate batch of %d items, limit %d", len(b.Items), maxBatchItems)
	}
	errs := make([]string, len(b.Items))
	visible := make([]int64, len(b.Items))
	if len(b.Items) == 1 {
		errs[0], visible[0] = s.apply(ctx, b.Items[0])
	} else {
		var wg sync.WaitGroup
		for i, it := range b.Items {
			wg.Go(func() { errs[i], visible[i] = s.apply(ctx, it) })
		}
		wg.Wait()
	}
	var at int64
	if len(visible) > 0 {
		at = slices.Max(visible)
	}
	return &pb.ReplicateAcks{Errors: errs, AtUnixNano: at, VisibleUnixNanos: visible}, nil
}

// apply merges one item and returns its error text, "" when stored, and
// when it became visible (Unix nanoseconds; 0 if it did not).
func (s *internode) apply(ctx context.Context, it *pb.ReplicateItem) (string, int64) {
	set, err := vclock.Decode(it.Set)
	if err != nil {
		return "server: replicate: " + err.Error(), 0
	}
	if set.IsEmpty() {
		return "server: replicate: empty sibling set", 0
	}
	_, _, synced, err := s.db.MergeAsync(ctx, it.Partition, it.Key, set, it.Durable)
	if err != nil {
		return err.Error(), 0
	}
	visible := time.Now().UnixNano()
	if it.HintFor != "" {
		h := hints.Hint{Target: it.HintFor, Partition: it.Partition, Key: it.Key, Set: set}
		if err := s.hints.Add(ctx, h, it.Durable); err != nil {
			_ = synced()
			return err.Error(), visible
		}
	}
	if err := synced(); err != nil {
		return err.Error(), visible
	}
	return "", visible
}

// Fetch reads each item's local set, or only its digest when the item
// asks for that (a digest read: computed from the stored bytes, never
// decoded); an absent key answers an empty set or digest 0. A partition
// still being handed to this node marks the reply incomplete either way.
func (s *internode) Fetch(ctx context.Context, b *pb.FetchBatch) (*pb.FetchReplies, error) {
	if len(b.Items) > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "server: fetch batch of %d items, limit %d", len(b.Items), maxBatchItems)
	}
	out := &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}
	for i, it := range b.Items {
		r := &pb.FetchReply{}
		var err error
		if it.DigestOnly {
			r.Digest, _, err = s.db.Digest(ctx, it.Partition, it.Key)
		} else {
			var set vclock.Set
			set, err = s.db.Get(ctx, it.Partition, it.Key)
			if err == nil {
				r.Set = set.Encode()
			}
		}
		r.Incomplete = s.handoff.Incomplete(it.Partition)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			r.Error = err.Error()
		}
		out.Replies[i] = r
	}
	out.AtUnixNano = time.Now().UnixNano()
	return out, nil
}

// Ping answers at once: a node that forwarded a write here and is waiting
// asks it to learn whether this node is slow or silent.
func (s *internode) Ping(context.Context, *pb.PingRequest) (*pb.PingReply, error) {
	return &pb.PingReply{}, nil
}
