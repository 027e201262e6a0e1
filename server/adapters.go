package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// The meta keys of gossip's state: the ring state it gossips, and its
// peer book (the members seen alive).
const (
	metaStateName    = "gossip-state"
	metaPeerBookName = "gossip-peers"
)

// metaStore keeps one of gossip's blobs under the meta key name, in the
// storage meta keyspace (gossip.StateStore).
type metaStore struct {
	db   *storage.DB
	name string
}

func (m metaStore) LoadState() ([]byte, error) {
	b, err := m.db.GetMeta(m.name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

func (m metaStore) SaveState(b []byte) error {
	return m.db.SetMeta(context.Background(), m.name, b)
}

// localStore is this node's side of a coordinator (replica.Store).
type localStore struct {
	db      *storage.DB
	hints   *hints.Queue
	handoff *handoff.Manager
	legs    *legRecorder // nil: not recorded
}

// Get reads the local copy; a partition still being handed to this node
// answers its set with a partialError, so that it does not count toward R.
func (l localStore) Get(ctx context.Context, partition uint32, key []byte) (vclock.Set, error) {
	s, err := l.db.Get(ctx, partition, key)
	if errors.Is(err, storage.ErrNotFound) {
		s, err = vclock.Set{}, nil
	}
	if err == nil && l.handoff.Incomplete(partition) {
		err = partialError{partition}
	}
	return s, err
}

// Update writes the coordinator's own copy and records, when its wait
// returns, how long the copy took to count as acknowledged (the local leg
// of the staleness model).
func (l localStore) Update(ctx context.Context, partition uint32, key []byte, clientCtx vclock.Clock, node string, v vclock.Value, durable bool) (vclock.Set, func() error, error) {
	start := time.Now()
	set, wait, err := l.db.UpdateAsync(ctx, partition, key, clientCtx, node, v, durable)
	if err != nil || l.legs == nil {
		return set, wait, err
	}
	return set, func() error {
		err := wait()
		l.legs.noteLocal(time.Since(start))
		return err
	}, nil
}

func (l localStore) Merge(ctx context.Context, partition uint32, key []byte, set vclock.Set, durable bool) error {
	_, _, err := l.db.Merge(ctx, partition, key, set, durable)
	return err
}

func (l localStore) Hint(ctx context.Context, target string, partition uint32, key []byte, set vclock.Set, durable bool) error {
	return l.hints.Add(ctx, hints.Hint{Target: target, Partition: partition, Key: key, Set: set}, durable)
}

// internodeDialer resolves a node ID to a client of its Internode service.
type internodeDialer func(node string) (pb.InternodeClient, error)

// hintSender hands a batch of hints to one node as one Replicate batch,
// to be merged durably there (the transport under hints.Router).
type hintSender struct {
	self string
	dial internodeDialer
}

func (h hintSender) DeliverHints(ctx context.Context, target string, hs []hints.Hint) error {
	cli, err := h.dial(target)
	if err != nil {
		return err
	}
	batch := &pb.ReplicateBatch{From: h.self, Items: make([]*pb.ReplicateItem, len(hs))}
	for i, h := range hs {
		batch.Items[i] = &pb.ReplicateItem{Partition: h.Partition, Key: h.Key, Set: h.Set.Encode(), Durable: true}
	}
	acks, err := cli.Replicate(ctx, batch)
	if err != nil {
		return fmt.Errorf("server: deliver %d hints to %s: %w", len(hs), target, err)
	}
	if len(acks.Errors) != len(hs) {
		return fmt.Errorf("server: deliver hints to %s: %d acks for %d hints", target, len(acks.Errors), len(hs))
	}
	for i, e := range acks.Errors {
		if e != "" {
			return fmt.Errorf("server: deliver hint %d of %d to %s: %s", i+1, len(hs), target, e)
		}
	}
	return nil
}

// forwardNet is replica.ForwardTransport over the node's connections.
type forwardNet struct {
	self  string
	dial  internodeDialer
	ready func(node string) bool
}

func (f forwardNet) Ready(node string) bool { return f.ready(node) }

func (f forwardNet) Ping(ctx context.Context, node string) error {
	c, err := f.dial(node)
	if err != nil {
		return err
	}
	_, err = c.Ping(ctx, &pb.PingRequest{From: f.self})
	return err
}

// hintMembers is the membership as hint routing uses it.
type hintMembers struct{ members membership }

func (m hintMembers) Alive(node string) bool { return m.members.Alive(node) }

// Removed reports whether node's ring record says it was removed.
func (m hintMembers) Removed(node string) bool {
	for _, r := range m.members.Records() {
		if r.ID == node {
			return r.Removed != 0
		}
	}
	return false
}
