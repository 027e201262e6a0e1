package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/transport/pb"
)

// TestSmallClustersTakeDefaultWrites: a 1-node and a 2-node cluster with
// every default (N=3, R=W=2 on a ring of 3 replicas) take reads, writes
// and deletes that set no quorum, over gRPC and HTTP, and say what they
// used: N and R or W capped at the ring's size. A request that asks for
// more than the ring has still fails, naming the count.
func TestSmallClustersTakeDefaultWrites(t *testing.T) {
	for size := 1; size <= 2; size++ {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			ids := []string{"a", "b"}[:size]
			c := newTestCluster(t, 1, ids...)
			put, err := c.put("a", "k", "v", "", nil)
			if err != nil {
				t.Fatalf("put with defaults: %v", err)
			}
			if i := put.Info; i.N != uint32(size) || i.W != uint32(size) || i.R != 0 {
				t.Errorf("put ran with n=%d w=%d (r=%d), want n=w=%d", i.N, i.W, i.R, size)
			}
			get, err := c.get(ids[size-1], "k", nil)
			if err != nil || !get.Found || values(get)[0] != "v" {
				t.Fatalf("get with defaults: %v, %v", get, err)
			}
			if i := get.Info; i.N != uint32(size) || i.R != uint32(size) || i.W != 0 {
				t.Errorf("get ran with n=%d r=%d (w=%d), want n=r=%d", i.N, i.R, i.W, size)
			}
			if _, err := c.put("a", "k", "v", "", &pb.Quorum{N: 3}); err == nil || !strings.Contains(err.Error(), "n=3 exceeds") {
				t.Errorf("put with an explicit n=3: %v, want it refused naming n=3", err)
			}
			h := c.Nodes["a"].HTTPHandler()
			if rec := server.DoHTTP(t, h, "GET", "/readyz", nil, nil); rec.Code != http.StatusOK {
				t.Errorf("/readyz of a serving %d-node cluster: %d %s", size, rec.Code, rec.Body)
			}
			rec := server.DoHTTP(t, h, "PUT", "/v1/kv/h", strings.NewReader("x"), nil)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("HTTP PUT: %d %s", rec.Code, rec.Body)
			}
			n := fmt.Sprint(size)
			if hd := rec.Header(); hd.Get("X-Chorus-N") != n || hd.Get("X-Chorus-W") != n || hd.Get("X-Chorus-R") != "" {
				t.Errorf("HTTP PUT headers N=%q W=%q R=%q, want N=W=%s and no R", hd.Get("X-Chorus-N"), hd.Get("X-Chorus-W"), hd.Get("X-Chorus-R"), n)
			}
			rec = server.DoHTTP(t, h, "GET", "/v1/kv/h?r=1", nil, nil)
			if rec.Code != http.StatusOK || rec.Header().Get("X-Chorus-N") != n || rec.Header().Get("X-Chorus-R") != "1" {
				t.Errorf("HTTP GET r=1: %d, N=%q R=%q, want 200, N=%s R=1", rec.Code, rec.Header().Get("X-Chorus-N"), rec.Header().Get("X-Chorus-R"), n)
			}
			rec = server.DoHTTP(t, h, "GET", "/v1/kv/h?r=3", nil, nil)
			if rec.Code != http.StatusBadRequest || !strings.Contains(server.ErrorOf(t, rec), "the default n=3 capped at the") {
				t.Errorf("HTTP GET r=3: %d %s, want 400 explaining the capped n", rec.Code, rec.Body)
			}
			rec = server.DoHTTP(t, h, "DELETE", "/v1/kv/h", nil, nil)
			if rec.Code != http.StatusNoContent || rec.Header().Get("X-Chorus-N") != n {
				t.Errorf("HTTP DELETE: %d N=%q, want 204 N=%s", rec.Code, rec.Header().Get("X-Chorus-N"), n)
			}
		})
	}
}

// TestOneNodeGrowsToThree: a single node takes default writes (N=1); two
// nodes join; the default N=3 applies again, and handoff fills the new
// replicas, so reads with R=3 see every write made on one node.
func TestOneNodeGrowsToThree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 1)
	kv := g.kv(g.nodes["node0"])
	var keys []string
	for i := range 50 {
		key := fmt.Sprintf("small-%03d", i)
		r, err := kv.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key)})
		if err != nil {
			t.Fatalf("put %s on one node with defaults: %v", key, err)
		}
		if r.Info.N != 1 || r.Info.W != 1 {
			t.Fatalf("put on one node ran with n=%d w=%d, want 1/1", r.Info.N, r.Info.W)
		}
		keys = append(keys, key)
	}
	g.add(1)
	g.add(2)
	g.settle(3)
	g.checkAll(g.nodes["node2"], keys) // R=3
	r, err := g.kv(g.nodes["node1"]).Put(ctx, &pb.PutRequest{Key: []byte("after"), Value: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.N != 3 || r.Info.W != 2 {
		t.Errorf("put on three nodes ran with n=%d w=%d, want the defaults 3/2", r.Info.N, r.Info.W)
	}
}
