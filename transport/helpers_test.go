package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// fakeNode is an InternodeServer that stores sets in a map and counts what
// it receives. Keys starting with "bad" are rejected item by item; Fetch of
// a key starting with "garbage" returns undecodable bytes.
type fakeNode struct {
	pb.UnimplementedInternodeServer

	// block, when not nil, holds every RPC until it is closed or the RPC's
	// context ends; entered gets a value (if there is room) as each RPC
	// starts waiting.
	block   chan struct{}
	entered chan struct{}
	// replicate and fetch, when set, replace the default handlers.
	replicate func(*pb.ReplicateBatch) (*pb.ReplicateAcks, error)
	fetch     func(*pb.FetchBatch) (*pb.FetchReplies, error)

	mu       sync.Mutex
	rpcs     int
	items    int
	maxBatch int
	from     map[string]bool
	seen     map[string]bool
	sets     map[string][]byte
}

func newFakeNode() *fakeNode {
	return &fakeNode{from: map[string]bool{}, seen: map[string]bool{}, sets: map[string][]byte{}}
}

func (f *fakeNode) wait(ctx context.Context) error {
	if f.block == nil {
		return nil
	}
	select {
	case f.entered <- struct{}{}:
	default:
	}
	select {
	case <-f.block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeNode) count(from string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rpcs++
	f.items += n
	f.maxBatch = max(f.maxBatch, n)
	f.from[from] = true
}

func (f *fakeNode) counts() (rpcs, items, maxBatch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rpcs, f.items, f.maxBatch
}

func (f *fakeNode) stored(key string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sets[key]
}

func (f *fakeNode) wasSeen(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[key]
}

func (f *fakeNode) senders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for s := range f.from {
		out = append(out, s)
	}
	return out
}

func (f *fakeNode) Replicate(ctx context.Context, b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.count(b.From, len(b.Items))
	if f.replicate != nil {
		return f.replicate(b)
	}
	acks := &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range b.Items {
		k := string(it.Key)
		f.seen[k] = true
		if strings.HasPrefix(k, "bad") {
			acks.Errors[i] = "reject " + k
			continue
		}
		f.sets[k] = it.Set
	}
	return acks, nil
}

func (f *fakeNode) Fetch(ctx context.Context, b *pb.FetchBatch) (*pb.FetchReplies, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.count(b.From, len(b.Items))
	if f.fetch != nil {
		return f.fetch(b)
	}
	out := &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range b.Items {
		k := string(it.Key)
		switch {
		case strings.HasPrefix(k, "bad"):
			out.Replies[i] = &pb.FetchReply{Error: "cannot read " + k}
		case strings.HasPrefix(k, "garbage"):
			out.Replies[i] = &pb.FetchReply{Set: []byte{0xff, 0x01}}
		case it.DigestOnly:
			out.Replies[i] = &pb.FetchReply{Digest: vclock.DigestEncoded(f.sets[k])}
		default:
			out.Replies[i] = &pb.FetchReply{Set: f.sets[k]}
		}
	}
	return out, nil
}

// startServer serves kv and in on a loopback port until the test ends and
// checks that Serve returns nil after Close.
func startServer(t testing.TB, kv pb.KVServer, in pb.InternodeServer, cfg ServerConfig) (*Server, string) {
	t.Helper()
	srv, err := NewServer(kv, in, cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close, want nil", err)
		}
	})
	return srv, lis.Addr().String()
}

func newTestPool(t testing.TB, cfg PoolConfig) *Pool {
	t.Helper()
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// newTestPeers returns Peers "self" that reaches each node of addrs
// through a pool.
func newTestPeers(t testing.TB, addrs map[string]string, cfg PeersConfig) *Peers {
	t.Helper()
	pool := newTestPool(t, PoolConfig{})
	resolve := func(node string) (string, error) {
		a, ok := addrs[node]
		if !ok {
			return "", fmt.Errorf("unknown node %q", node)
		}
		return a, nil
	}
	p, err := NewPeers("self", pool.Dialer(resolve), cfg)
	if err != nil {
		t.Fatalf("NewPeers: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// startPeer serves f and returns Peers that reach it as node "b".
func startPeer(t testing.TB, f *fakeNode, cfg PeersConfig) *Peers {
	t.Helper()
	_, addr := startServer(t, nil, f, ServerConfig{})
	return newTestPeers(t, map[string]string{"b": addr}, cfg)
}

func waitEntered(t testing.TB, f *fakeNode) {
	t.Helper()
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for an RPC to reach the handler")
	}
}

func queued(p *Peers, node string) int { return p.Stats().Peers[node].Queued }

func testSet(node, data string) vclock.Set {
	return vclock.NewSet(node, vclock.Value{Data: []byte(data), Timestamp: 1})
}

func isRemote(err error, key string) bool {
	return errors.Is(err, ErrRemote) && strings.Contains(err.Error(), key)
}
