package transport

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

// fakeKV answers Get with the key as the value.
type fakeKV struct {
	pb.UnimplementedKVServer
}

func (fakeKV) Get(_ context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	return &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: r.Key}}}, nil
}

func TestPoolKV(t *testing.T) {
	_, addr := startServer(t, fakeKV{}, nil, ServerConfig{})
	pool := newTestPool(t, PoolConfig{})
	ctx := context.Background()
	get := func() (*pb.GetResponse, error) {
		kv, err := pool.KV(addr)
		if err != nil {
			return nil, err
		}
		return kv.Get(ctx, &pb.GetRequest{Key: []byte("hello")})
	}
	resp, err := get()
	if err != nil || !resp.Found || len(resp.Siblings) != 1 || string(resp.Siblings[0].Value) != "hello" {
		t.Fatalf("Get = %v, %v; want found with value hello", resp, err)
	}
	// The Internode service was not registered.
	in, err := pool.Internode(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Replicate(ctx, &pb.ReplicateBatch{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("Replicate on a KV-only server: got %v, want Unimplemented", err)
	}
	// Forget closes the connection; the next call makes a new one.
	kv1, _ := pool.KV(addr)
	pool.Forget(addr)
	if _, err := kv1.Get(ctx, &pb.GetRequest{}); err == nil {
		t.Error("Get on a forgotten connection: got nil error")
	}
	if _, err := get(); err != nil {
		t.Errorf("Get after Forget: %v", err)
	}
	if err := pool.Close(); err != nil {
		t.Fatalf("Pool.Close: %v", err)
	}
	if _, err := pool.KV(addr); !errors.Is(err, ErrClosed) {
		t.Errorf("KV after Close: got %v, want ErrClosed", err)
	}
}

// TestServerCloseGraceful closes the server while a call is in its
// handler: the call completes and Close returns.
func TestServerCloseGraceful(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	srv, addr := startServer(t, nil, f, ServerConfig{StopTimeout: time.Minute})
	in, err := newTestPool(t, PoolConfig{}).Internode(addr)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := in.Replicate(context.Background(), &pb.ReplicateBatch{Items: []*pb.ReplicateItem{{Key: []byte("k")}}})
		res <- err
	}()
	waitEntered(t, f)
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	close(f.block)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-res; err != nil {
		t.Errorf("in-flight call: got %v, want success", err)
	}
	if rpcs, _, _ := f.counts(); rpcs != 1 {
		t.Errorf("handler finished %d RPCs, want 1", rpcs)
	}
}

// TestServerCloseForced closes the server while a handler never returns
// by itself: after StopTimeout the connection is cut, the handler's
// context ends, the call fails and Close returns.
func TestServerCloseForced(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	defer close(f.block)
	srv, addr := startServer(t, nil, f, ServerConfig{StopTimeout: 50 * time.Millisecond})
	in, err := newTestPool(t, PoolConfig{}).Internode(addr)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := in.Replicate(context.Background(), &pb.ReplicateBatch{})
		res <- err
	}()
	waitEntered(t, f)
	var wg sync.WaitGroup
	for range 3 { // Close is idempotent and concurrent calls all wait
		wg.Go(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	if err := <-res; err == nil {
		t.Error("call cut by Close: got nil error")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(lis); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: got %v, want ErrClosed", err)
	}
}

// TestServerClosesSilentConnections: a connection that never sends the
// HTTP/2 preface is closed after HandshakeTimeout instead of being held
// (gRPC's own default is two minutes).
func TestServerClosesSilentConnections(t *testing.T) {
	_, addr := startServer(t, fakeKV{}, nil, ServerConfig{HandshakeTimeout: 100 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A generous bound, so that a server holding the connection fails the
	// test rather than hanging it.
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for {
		// The server may send its own settings before giving up on ours.
		if _, err := c.Read(buf); err != nil {
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				t.Fatalf("a silent connection is still open: %v", err)
			}
			return
		}
	}
}

// ServerConfig.Options reach the gRPC server: an interceptor there sees
// every call before the service does.
func TestServerOptions(t *testing.T) {
	deny := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == pb.KV_Put_FullMethodName {
			return nil, status.Error(codes.PermissionDenied, "no puts here")
		}
		return h(ctx, req)
	}
	_, addr := startServer(t, fakeKV{}, nil, ServerConfig{Options: []grpc.ServerOption{grpc.ChainUnaryInterceptor(deny)}})
	pool := newTestPool(t, PoolConfig{})
	kv, err := pool.KV(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Put through the interceptor: %v, want PermissionDenied", err)
	}
	if _, err := kv.Get(ctx, &pb.GetRequest{Key: []byte("k")}); err != nil {
		t.Errorf("Get through the interceptor: %v", err)
	}
}
