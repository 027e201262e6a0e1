package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// TestLoopbackNodeDownAndBack runs a 3-node cluster on real loopback
// sockets, started as `chorus demo` starts it. One node stops; writes
// with W=2 go on; the node restarts from its data directory; the hints
// the others kept for it drain to zero and it then holds every write it
// missed.
func TestLoopbackNodeDownAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lcfg := localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: quiet, Configure: func(_ int, c *server.Config) {
		c.Hints.RetryInterval = 50 * time.Millisecond
		c.Hints.MaxBackoff = 200 * time.Millisecond
	}}
	lc, err := localcluster.Start(ctx, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
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
	put := func(i int, key string) {
		t.Helper()
		_, err := kv(i).Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key), Quorum: &pb.Quorum{W: 2}})
		if err != nil {
			t.Fatalf("put %s via node%d: %v", key, i, err)
		}
	}
	for i := range 30 {
		put(i%3, fmt.Sprintf("before-%d", i))
	}

	victim := lc.Nodes[2]
	addrs, id := victim.Addrs(), victim.ID()
	if err := victim.Close(); err != nil {
		t.Fatalf("stop %s: %v", id, err)
	}
	var missed []string
	for i := range 100 {
		key := fmt.Sprintf("during-%d", i)
		put(i%2, key)
		if slices.Contains(lc.Nodes[0].Ring().PreferenceList([]byte(key), 3), id) {
			missed = append(missed, key)
		}
	}
	if len(missed) == 0 {
		t.Fatalf("%s is a primary of none of the 100 keys; the test proves nothing", id)
	}

	held := lc.Nodes[0].HintsPending() + lc.Nodes[1].HintsPending()
	if held < len(missed) {
		t.Fatalf("the live nodes hold %d hints for %d writes %s missed", held, len(missed), id)
	}

	cfg := lcfg.NodeConfig(2, lc.Nodes[0].Addrs().Gossip)
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.PeerAddr, cfg.GossipAddr = addrs.HTTP, addrs.GRPC, addrs.Peer, addrs.Gossip
	back, err := server.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart %s: %v", id, err)
	}
	lc.Nodes[2] = back
	if back.ID() != id {
		t.Fatalf("restarted node has ID %q, want %q (kept from its data directory)", back.ID(), id)
	}

	chorustest.Eventually(t, "hints to drain", func() bool {
		pending := 0
		for _, n := range lc.Nodes[:2] {
			pending += n.HintsPending()
		}
		return pending == 0
	})
	r := back.Ring()
	for _, key := range missed {
		s, err := back.Storage().Get(ctx, r.Partition([]byte(key)), []byte(key))
		if err != nil {
			t.Fatalf("%s after restart: key %s it missed: %v", id, key, err)
		}
		if vs := s.Values(); len(vs) != 1 || string(vs[0].Data) != "v-"+key {
			t.Fatalf("%s after restart: key %s holds %v, want [v-%s]", id, key, vs, key)
		}
	}
}
