package memnet

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

// fakeKV answers Get with the key as the single sibling's value and keeps
// every request it saw and every response it returned.
type fakeKV struct {
	pb.UnimplementedKVServer
	mu    sync.Mutex
	reqs  []*pb.GetRequest
	resps []*pb.GetResponse
}

func (f *fakeKV) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	resp := &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: req.Key}}, Context: "ctx"}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	f.resps = append(f.resps, resp)
	return resp, nil
}

// fakeInternode counts Replicate calls (the side effect) and answers one
// empty ack per item. Fetch, when block is set, waits for its context or
// for release, then records that it finished.
type fakeInternode struct {
	pb.UnimplementedInternodeServer
	applied  atomic.Int64
	block    bool
	ignore   bool // Fetch ignores its context and waits for release only
	entered  chan struct{}
	release  chan struct{}
	finished atomic.Bool
}

func newFakeInternode() *fakeInternode {
	return &fakeInternode{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (f *fakeInternode) Replicate(ctx context.Context, b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	f.applied.Add(1)
	return &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}, nil
}

func (f *fakeInternode) Fetch(ctx context.Context, b *pb.FetchBatch) (*pb.FetchReplies, error) {
	defer f.finished.Store(true)
	if !f.block {
		return &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}, nil
	}
	f.entered <- struct{}{}
	if f.ignore {
		<-f.release
		return &pb.FetchReplies{}, nil
	}
	select {
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-f.release:
		return &pb.FetchReplies{}, nil
	}
}

func batch() *pb.ReplicateBatch {
	return &pb.ReplicateBatch{From: "a", Items: []*pb.ReplicateItem{{Partition: 7, Key: []byte("k"), Set: []byte{1, 2}}}}
}

// replicate sends one Replicate from -> to and returns its error.
func replicate(ctx context.Context, n *Network, from, to string) error {
	_, err := n.Internode(from, to).Replicate(ctx, batch())
	return err
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: code %v (err %v), want %v", what, got, err, want)
	}
}

// newNet returns a network with nodes a, b and c registered, closed at the
// end of the test.
func newNet(t *testing.T, cfg Config) (*Network, map[string]*fakeInternode) {
	t.Helper()
	n := New(cfg)
	t.Cleanup(func() { n.Close() })
	fakes := make(map[string]*fakeInternode)
	for _, node := range []string{"a", "b", "c"} {
		fakes[node] = newFakeInternode()
		n.Register(node, &fakeKV{}, fakes[node])
	}
	return n, fakes
}
