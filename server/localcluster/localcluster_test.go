package localcluster

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

func TestStartRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]Config{
		"no directory":       {Nodes: 1},
		"negative nodes":     {Nodes: -1, Dir: t.TempDir()},
		"base port too low":  {Nodes: 1, Dir: t.TempDir(), BasePort: 100},
		"base port too high": {Nodes: 3, Dir: t.TempDir(), BasePort: 64600},
	} {
		if lc, err := Start(ctx, cfg); !errors.Is(err, ErrBadConfig) {
			if lc != nil {
				_ = lc.Close()
			}
			t.Errorf("%s: Start = %v, want ErrBadConfig", name, err)
		}
	}
}

func TestPorts(t *testing.T) {
	if a := Ports(8080, 2); a != (server.Addrs{HTTP: "127.0.0.1:8082", GRPC: "127.0.0.1:9092", Peer: "127.0.0.1:9192", Gossip: "127.0.0.1:7948"}) {
		t.Fatalf("Ports(8080, 2) = %+v", a)
	}
	zero := "127.0.0.1:0"
	if a := Ports(0, 5); a != (server.Addrs{HTTP: zero, GRPC: zero, Peer: zero, Gossip: zero}) {
		t.Fatalf("Ports(0, 5) = %+v, want port 0 for each", a)
	}
}

// A started cluster has every node in every ring, applies Configure, and
// serves a write through one node that another reads with R=N.
func TestStartServesTheWholeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	configured := map[int]bool{}
	lc, err := Start(ctx, Config{Nodes: 3, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Configure: func(i int, c *server.Config) { configured[i] = true }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := lc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if len(lc.Nodes) != 3 || len(configured) != 3 {
		t.Fatalf("%d nodes, %d configured; want 3 and 3", len(lc.Nodes), len(configured))
	}
	for i, n := range lc.Nodes {
		if r := n.Ring(); r == nil || r.Size() != 3 {
			t.Fatalf("node %d sees ring %v, want 3 members", i, r)
		}
	}
	pool, err := transport.NewPool(transport.DefaultPoolConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kv := func(i int) pb.KVClient {
		c, err := pool.KV(lc.Nodes[i].Addrs().GRPC)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := kv(0).Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Quorum: &pb.Quorum{W: 3}}); err != nil {
		t.Fatal(err)
	}
	got, err := kv(2).Get(ctx, &pb.GetRequest{Key: []byte("k"), Quorum: &pb.Quorum{R: 3}})
	if err != nil || !got.Found || len(got.Siblings) != 1 || string(got.Siblings[0].Value) != "v" {
		t.Fatalf("read through node 2 = %v, %v; want v", got, err)
	}
}
