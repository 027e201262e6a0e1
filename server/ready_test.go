package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// TestRestartedNodeServesOnlyOnceJoined restarts a node of a 2-node
// loopback cluster while the other is down, so that it has its ring from
// disk but cannot join. Until it joins, its client routes answer 503
// "starting" with a Retry-After, over HTTP and gRPC alike (they used to be
// served with the other node taken for down: 503 "not enough replicas
// up", or a read of possibly stale local data). Once the other node is
// back and the join completes, the same read is served.
func TestRestartedNodeServesOnlyOnceJoined(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-node loopback cluster twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lcfg := localcluster.Config{Nodes: 2, Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Configure: func(_ int, c *server.Config) {
			c.Ring.Replicas = 2
			c.Defaults = replica.Options{N: 2, R: 1, W: 2, Durable: true, Timeout: 2 * time.Second}
		}}
	lc, err := localcluster.Start(ctx, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	if _, err := lc.Nodes[0].KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	addrs := []server.Addrs{lc.Nodes[0].Addrs(), lc.Nodes[1].Addrs()}
	for i := 1; i >= 0; i-- {
		if err := lc.Nodes[i].Close(); err != nil {
			t.Fatal(err)
		}
		lc.Nodes[i] = nil
	}
	restart := func(i int, seed string) server.Config {
		cfg := lcfg.NodeConfig(i, seed)
		cfg.HTTPAddr, cfg.GRPCAddr, cfg.PeerAddr, cfg.GossipAddr = addrs[i].HTTP, addrs[i].GRPC, addrs[i].Peer, addrs[i].Gossip
		cfg.JoinTimeout = -1 // retry until the seed answers
		return cfg
	}
	type started struct {
		n   *server.Node
		err error
	}
	back := make(chan started, 1)
	go func() {
		n, err := server.Start(ctx, restart(1, addrs[0].Gossip))
		back <- started{n, err}
	}()

	httpc := &http.Client{Timeout: 30 * time.Second}
	url := "http://" + addrs[1].HTTP + "/v1/kv/k?r=1"
	var resp *http.Response
	chorustest.Eventually(t, "the restarted node's HTTP listener", func() bool {
		resp, err = httpc.Get(url)
		return err == nil
	})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil ||
		!strings.Contains(e.Error, "node starting") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("GET while joining: %d %q (Retry-After %q), want 503 \"node starting\" with a Retry-After",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	pool, err := transport.NewPool(transport.DefaultPoolConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kv, err := pool.KV(addrs[1].GRPC)
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.Get(ctx, &pb.GetRequest{Key: []byte("k"), Quorum: &pb.Quorum{R: 1}})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "node starting") {
		t.Fatalf("gRPC Get while joining: %v, want Unavailable \"node starting\"", err)
	}

	first, err := server.Start(ctx, restart(0, ""))
	if err != nil {
		t.Fatalf("restart node 0: %v", err)
	}
	lc.Nodes[0] = first
	s := <-back
	if s.err != nil {
		t.Fatalf("restart node 1: %v", s.err)
	}
	lc.Nodes[1] = s.n
	resp, err = httpc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "v" {
		t.Fatalf("GET once joined: %d %q, want 200 v", resp.StatusCode, body)
	}
}
