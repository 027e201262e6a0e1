package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/memcluster"
	"github.com/chorusdb/chorus/transport/memnet"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// testCluster is a cluster of in-memory nodes on the in-memory network,
// running the production handlers (server/memcluster), whose helpers fail
// the test instead of returning errors.
type testCluster struct {
	*memcluster.Cluster
	t testing.TB
}

func newTestCluster(t *testing.T, seed int64, ids ...string) *testCluster {
	t.Helper()
	return newTestClusterWith(t, seed, nil, ids...)
}

// newTestClusterWith is newTestCluster with configure applied to every
// node's config before it starts.
func newTestClusterWith(t testing.TB, seed int64, configure func(*server.Config), ids ...string) *testCluster {
	t.Helper()
	mc, err := memcluster.Start(context.Background(), memcluster.Config{Nodes: ids, Network: memnet.Config{Seed: seed},
		Configure: func(_ string, cfg *server.Config) {
			cfg.Hints.RetryInterval = 20 * time.Millisecond
			cfg.Hints.MaxBackoff = 100 * time.Millisecond
			if configure != nil {
				configure(cfg)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mc.Close(); err != nil {
			t.Error(err)
		}
	})
	return &testCluster{Cluster: mc, t: t}
}

func (c *testCluster) put(node, key, value, context string, q *pb.Quorum) (*pb.PutResponse, error) {
	return c.Nodes[node].KV().Put(ctxT(c.t), &pb.PutRequest{Key: []byte(key), Value: []byte(value), Context: context, Quorum: q})
}

func (c *testCluster) get(node, key string, q *pb.Quorum) (*pb.GetResponse, error) {
	return c.Nodes[node].KV().Get(ctxT(c.t), &pb.GetRequest{Key: []byte(key), Quorum: q})
}

func (c *testCluster) del(node, key, context string, q *pb.Quorum) (*pb.DeleteResponse, error) {
	return c.Nodes[node].KV().Delete(ctxT(c.t), &pb.DeleteRequest{Key: []byte(key), Context: context, Quorum: q})
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func values(r *pb.GetResponse) []string {
	var out []string
	for _, s := range r.Siblings {
		out = append(out, string(s.Value))
	}
	slices.Sort(out)
	return out
}

// healAndDrain heals the network and waits (bounded) until no node holds
// hints.
func (c *testCluster) healAndDrain() {
	c.t.Helper()
	c.Net.Heal()
	if err := c.DrainHints(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// replicaSets returns each primary's stored set of key.
func (c *testCluster) replicaSets(key string) map[string]vclock.Set {
	c.t.Helper()
	sets, err := c.ReplicaSets(context.Background(), key)
	if err != nil {
		c.t.Fatal(err)
	}
	return sets
}

// waitConverged waits (bounded) until every primary of key holds the same
// non-empty set.
func (c *testCluster) waitConverged(key string) {
	c.t.Helper()
	if err := c.WaitConverged(context.Background(), key); err != nil {
		c.t.Fatal(err)
	}
}

var five = []string{"a", "b", "c", "d", "e"}

func TestReadYourWritesWithStrictQuorum(t *testing.T) {
	const seed = 1
	c := newTestCluster(t, seed, five...)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 200 {
		key, val := fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i)
		w, r := five[rng.IntN(5)], five[rng.IntN(5)]
		if _, err := c.put(w, key, val, "", nil); err != nil {
			t.Fatalf("seed %d: put %s via %s: %v", seed, key, w, err)
		}
		got, err := c.get(r, key, nil)
		if err != nil {
			t.Fatalf("seed %d: get %s via %s: %v", seed, key, r, err)
		}
		if !got.Found || !slices.Equal(values(got), []string{val}) {
			t.Fatalf("seed %d: get %s via %s after put via %s = %v (found %v), want [%s]", seed, key, r, w, values(got), got.Found, val)
		}
	}
}

func TestPartitionBothSidesWriteAndConverge(t *testing.T) {
	const seed = 2
	c := newTestCluster(t, seed, five...)
	left, right := []string{"a", "b"}, []string{"c", "d", "e"}
	c.Net.Partition(left, right)
	var keys []string
	sloppy := 0
	for i := range 60 {
		side := left
		if i%2 == 1 {
			side = right
		}
		key := fmt.Sprintf("part-%d", i)
		resp, err := c.put(side[i%len(side)], key, "v", "", nil)
		if err != nil {
			t.Fatalf("seed %d: put %s on side %v during the partition: %v", seed, key, side, err)
		}
		if resp.Info.Sloppy {
			sloppy++
		}
		keys = append(keys, key)
	}
	if sloppy == 0 {
		t.Fatalf("seed %d: no write was sloppy during a partition", seed)
	}
	c.healAndDrain()
	for _, key := range keys {
		c.waitConverged(key)
	}
}

func TestPartitionConcurrentWritesBecomeSiblings(t *testing.T) {
	const seed = 3
	c := newTestCluster(t, seed, five...)
	c.Net.Partition([]string{"a", "b"}, []string{"c", "d", "e"})
	if _, err := c.put("a", "k", "left", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put("d", "k", "right", "", nil); err != nil {
		t.Fatal(err)
	}
	c.healAndDrain()
	c.waitConverged("k")
	got, err := c.get("e", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(values(got), []string{"left", "right"}) {
		t.Fatalf("after heal: siblings %v, want [left right]", values(got))
	}
	if _, err := c.put("b", "k", "merged", got.Context, nil); err != nil {
		t.Fatal(err)
	}
	got, err = c.get("c", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(values(got), []string{"merged"}) {
		t.Fatalf("after a write with the read's context: %v, want [merged]", values(got))
	}
}

func TestDeleteThenReadAndConcurrentWrite(t *testing.T) {
	c := newTestCluster(t, 4, five...)
	if _, err := c.put("a", "k", "v1", "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.get("b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.del("c", "k", got.Context, nil); err != nil {
		t.Fatal(err)
	}
	gone, err := c.get("d", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if gone.Found || gone.Context == "" {
		t.Fatalf("after delete: found=%v context=%q, want not found with a context", gone.Found, gone.Context)
	}

	// A write that did not see the delete's version survives beside it.
	if _, err := c.put("a", "k2", "base", "", nil); err != nil {
		t.Fatal(err)
	}
	base, err := c.get("a", "k2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.del("b", "k2", base.Context, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put("e", "k2", "concurrent", "", nil); err != nil {
		t.Fatal(err)
	}
	after, err := c.get("c", "k2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Found || !slices.Equal(values(after), []string{"concurrent"}) {
		t.Fatalf("concurrent write beside a delete: found=%v values=%v, want [concurrent]", after.Found, values(after))
	}
}

func TestStrictPrimaryQuorumWithPrimaryDown(t *testing.T) {
	c := newTestCluster(t, 5, five...)
	key := "pw-key"
	prims := c.Primaries(key)
	down := prims[2]
	c.Net.Unregister(down)
	coord := prims[0]

	_, err := c.put(coord, key, "v", "", &pb.Quorum{W: 3, Pw: 3})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("PW=3 with primary %s down: err %v, want Unavailable", down, err)
	}
	var want = "3 required primaries"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("PW=3 error %q does not say %q", err, want)
	}
	if got, err := c.get(coord, key, nil); err != nil || got.Found {
		t.Fatalf("a write refused for PW=3 must write nothing: found=%v err=%v", got.GetFound(), err)
	}
	resp, err := c.put(coord, key, "v", "", &pb.Quorum{W: 3, Pw: 0})
	if err != nil {
		t.Fatalf("PW=0 with a primary down: %v", err)
	}
	if !resp.Info.Sloppy {
		t.Fatalf("PW=0 with a primary down: answer not marked sloppy: %+v", resp.Info)
	}
}

func TestInvalidQuorumIsInvalidArgument(t *testing.T) {
	c := newTestCluster(t, 6, five...)
	for _, q := range []*pb.Quorum{{N: 3, R: 4}, {N: 6}, {W: 2, Pw: 3}} {
		if _, err := c.put("a", "k", "v", "", q); status.Code(err) != codes.InvalidArgument {
			t.Errorf("quorum %+v: err %v, want InvalidArgument", q, err)
		}
		if _, err := c.get("a", "k", q); status.Code(err) != codes.InvalidArgument && q.R > q.N {
			t.Errorf("get quorum %+v: err %v, want InvalidArgument", q, err)
		}
	}
	if _, err := c.put("a", "", "v", "", nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty key: %v, want InvalidArgument", err)
	}
	if _, err := c.put("a", "k", "v", "not a context!", nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad context: %v, want InvalidArgument", err)
	}
	if _, err := c.get("a", "k", nil); err != nil {
		t.Fatalf("nothing may have been written: %v", err)
	}
}
