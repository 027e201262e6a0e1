package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// TestPeerListenerAndNames runs two nodes on loopback that advertise a
// DNS name and join by it: they form a ring, a write through one is read
// through the other (a forwarded or replicated request reaches the peer
// listener by name), and the client gRPC port does not serve internode
// RPCs, which only the peer port answers.
func TestPeerListenerAndNames(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-node loopback cluster")
	}
	if _, err := net.LookupIP("localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 2, Dir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Configure: func(i int, c *server.Config) {
			c.Advertise = "localhost"
			c.Defaults.N, c.Defaults.R, c.Defaults.W = 2, 2, 2
			if len(c.Join) > 0 {
				_, port, _ := net.SplitHostPort(c.Join[0])
				c.Join = []string{net.JoinHostPort("localhost", port)}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	a := lc.Nodes[0].Addrs()
	if host, _, _ := net.SplitHostPort(a.Peer); host != "localhost" || a.Peer == a.GRPC {
		t.Fatalf("addresses %+v: want a peer address of its own on the advertised name", a)
	}
	pool, err := transport.NewPool(transport.DefaultPoolConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kv0, _ := pool.KV(lc.Nodes[0].Addrs().GRPC)
	kv1, _ := pool.KV(lc.Nodes[1].Addrs().GRPC)
	if _, err := kv0.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("put: %v", err)
	}
	got, err := kv1.Get(ctx, &pb.GetRequest{Key: []byte("k")})
	if err != nil || len(got.GetSiblings()) != 1 || string(got.GetSiblings()[0].GetValue()) != "v" {
		t.Fatalf("get through the other node = %v, %v", got, err)
	}
	onClient, _ := pool.Internode(a.GRPC)
	if _, err := onClient.Ping(ctx, &pb.PingRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("internode Ping on the client port: %v, want Unimplemented", err)
	}
	onPeer, _ := pool.Internode(a.Peer)
	if _, err := onPeer.Ping(ctx, &pb.PingRequest{}); err != nil {
		t.Errorf("internode Ping on the peer port: %v", err)
	}
}
