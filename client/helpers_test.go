package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

// fakeCluster is a set of fake nodes serving the KV service on loopback
// ports, all answering ClusterInfo with the same (mutable) description.
type fakeCluster struct {
	nodes []*fakeNode

	mu    sync.Mutex
	info  *pb.ClusterInfoResponse
	infos int // ClusterInfo calls served
}

// fakeNode records what it receives and answers from handler functions.
type fakeNode struct {
	pb.UnimplementedKVServer
	id      string
	addr    string
	srv     *grpc.Server
	cluster *fakeCluster

	mu   sync.Mutex
	gets []*pb.GetRequest
	puts []*pb.PutRequest
	dels []*pb.DeleteRequest
	// get, put and del replace the default answers when set.
	get func(*pb.GetRequest) (*pb.GetResponse, error)
	put func(*pb.PutRequest) (*pb.PutResponse, error)
	del func(*pb.DeleteRequest) (*pb.DeleteResponse, error)
	// paused, when set, holds ClusterInfo until it is closed or the
	// call's context ends: with put and friends blocking too, the node
	// is silent, as a paused process is.
	paused chan struct{}
}

// newFakeCluster starts n nodes with q partitions and the given
// replicas; partition p has primaries p%n, (p+1)%n, ... .
func newFakeCluster(t *testing.T, n, q, replicas int) *fakeCluster {
	t.Helper()
	fc := &fakeCluster{}
	info := &pb.ClusterInfoResponse{Partitions: uint32(q), Replicas: uint32(replicas),
		RingVersion: 1, RingSize: uint32(n)}
	for i := range n {
		f := &fakeNode{id: fmt.Sprintf("n%d", i), cluster: fc}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		f.addr = lis.Addr().String()
		f.srv = grpc.NewServer()
		pb.RegisterKVServer(f.srv, f)
		go f.srv.Serve(lis)
		t.Cleanup(f.srv.Stop)
		fc.nodes = append(fc.nodes, f)
		info.Members = append(info.Members, &pb.Member{Id: f.id, Zone: fmt.Sprintf("z%d", i%2),
			GrpcAddr: f.addr, HttpAddr: fmt.Sprintf("127.0.0.1:%d", 8000+i), Status: "active", Alive: true})
	}
	for p := range q {
		for j := range min(replicas, n) {
			info.Owners = append(info.Owners, uint32((p+j)%n))
		}
	}
	fc.info = info
	return fc
}

// update changes the cluster description under the lock.
func (fc *fakeCluster) update(f func(*pb.ClusterInfoResponse)) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	f(fc.info)
}

func (fc *fakeCluster) infoCalls() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.infos
}

// primaries returns the nodes the cluster lists for key's partition.
func (fc *fakeCluster) primaries(t *testing.T, c *Client, key []byte) []*fakeNode {
	t.Helper()
	var out []*fakeNode
	for _, m := range c.table.Load().primaries(key) {
		for _, n := range fc.nodes {
			if n.id == m.GetId() {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no primaries for %q", key)
	}
	return out
}

func (fc *fakeCluster) endpoints() []string { return []string{fc.nodes[0].addr} }

// newClient connects a client to fc with fast settings and closes it at
// the end of the test.
func newClient(t *testing.T, fc *fakeCluster, edit func(*Config)) *Client {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Endpoints = fc.endpoints()
	cfg.DialTimeout = time.Second
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (f *fakeNode) ClusterInfo(ctx context.Context, _ *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	f.mu.Lock()
	paused := f.paused
	f.mu.Unlock()
	if paused != nil {
		select {
		case <-paused:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.cluster.mu.Lock()
	defer f.cluster.mu.Unlock()
	f.cluster.infos++
	return proto.Clone(f.cluster.info).(*pb.ClusterInfoResponse), nil
}

func (f *fakeNode) Get(_ context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	f.mu.Lock()
	f.gets = append(f.gets, r)
	h := f.get
	f.mu.Unlock()
	if h != nil {
		return h(r)
	}
	return &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: []byte("v@" + f.id)}},
		Context: "ctx@" + f.id, Info: &pb.QuorumInfo{Replicas: []string{f.id}}}, nil
}

func (f *fakeNode) Put(_ context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	f.mu.Lock()
	f.puts = append(f.puts, r)
	h := f.put
	f.mu.Unlock()
	if h != nil {
		return h(r)
	}
	return &pb.PutResponse{Context: "put@" + f.id, Info: &pb.QuorumInfo{Replicas: []string{f.id}}}, nil
}

func (f *fakeNode) Delete(_ context.Context, r *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	f.mu.Lock()
	f.dels = append(f.dels, r)
	h := f.del
	f.mu.Unlock()
	if h != nil {
		return h(r)
	}
	return &pb.DeleteResponse{Context: "del@" + f.id, Info: &pb.QuorumInfo{Replicas: []string{f.id}}}, nil
}

// counts returns how many Gets, Puts and Deletes f received.
func (f *fakeNode) counts() (gets, puts, dels int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.gets), len(f.puts), len(f.dels)
}

func (f *fakeNode) lastPut() *pb.PutRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.puts) == 0 {
		return nil
	}
	return f.puts[len(f.puts)-1]
}

func (f *fakeNode) lastGet() *pb.GetRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.gets) == 0 {
		return nil
	}
	return f.gets[len(f.gets)-1]
}

func (f *fakeNode) setHandlers(edit func(f *fakeNode)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f)
}

// mustValue returns res's one value as a string, failing the test when
// Value does.
func mustValue(t *testing.T, res *Result) string {
	t.Helper()
	v, err := res.Value()
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	return string(v)
}
