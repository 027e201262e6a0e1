package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/memcluster"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

var three = []string{"a", "b", "c"}

// manualRepair makes anti-entropy and tombstone collection run only when a
// test asks, with the collector's clock shifted by *skew.
func manualRepair(skew *atomic.Int64) func(*server.Config) {
	return func(cfg *server.Config) {
		cfg.AntiEntropy.Manual = true
		cfg.Tombstones.Manual = true
		cfg.Tombstones.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}
}

// repairAll runs one anti-entropy round on every node; together they cover
// every (partition, replica pair) once.
func (c *testCluster) repairAll() repair.Result {
	c.t.Helper()
	return c.repairAllCtx(ctxT(c.t))
}

func (c *testCluster) repairAllCtx(ctx context.Context) repair.Result {
	c.t.Helper()
	var sum repair.Result
	for _, id := range c.IDs {
		res, err := c.Nodes[id].RepairRound(ctx)
		if err != nil {
			c.t.Fatalf("%s: repair round: %v", id, err)
		}
		sum.KeysCompared += res.KeysCompared
		sum.KeysDiffering += res.KeysDiffering
		sum.RepairedHere += res.RepairedHere
		sum.RepairedThere += res.RepairedThere
	}
	return sum
}

// storedSet returns node's stored set of key (empty when absent).
func (c *testCluster) storedSet(node, key string) vclock.Set {
	c.t.Helper()
	s, err := c.Stored(context.Background(), node, key)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// writeDirect writes v to node's storage alone, as if the other replicas
// had missed the write.
func (c *testCluster) writeDirect(node, key string, v vclock.Value) vclock.Set {
	c.t.Helper()
	cur := c.storedSet(node, key)
	p := c.Nodes[node].Ring().Partition([]byte(key))
	s, _, err := c.Nodes[node].Storage().Update(context.Background(), p, []byte(key), cur.Context(), node, v, false)
	if err != nil {
		c.t.Fatalf("%s: direct write of %q: %v", node, key, err)
	}
	return s
}

func (c *testCluster) mergeDirect(node, key string, s vclock.Set) {
	c.t.Helper()
	p := c.Nodes[node].Ring().Partition([]byte(key))
	if _, _, err := c.Nodes[node].Storage().Merge(context.Background(), p, []byte(key), s, false); err != nil {
		c.t.Fatalf("%s: direct merge of %q: %v", node, key, err)
	}
}

func (c *testCluster) waitTreesReady() {
	c.t.Helper()
	chorustest.Eventually(c.t, "every node's trees ready", func() bool {
		for _, n := range c.Nodes {
			if !n.Storage().TreeProgress().Ready {
				return false
			}
		}
		return true
	})
}

var allW = &pb.Quorum{W: 3}

// Writes that reached one replica only, bypassing the coordinator, reach
// every replica after one anti-entropy round, and the cost of that round
// follows the number of diverged keys.
func TestAntiEntropyRepairsDirectWrites(t *testing.T) {
	var skew atomic.Int64
	c := newTestClusterWith(t, 1, manualRepair(&skew), three...)
	c.waitTreesReady()
	const keys = 300
	for i := range keys {
		if _, err := c.put("a", fmt.Sprintf("k%03d", i), "v1", "", allW); err != nil {
			t.Fatal(err)
		}
	}
	if res := c.repairAll(); res.KeysDiffering != 0 {
		t.Fatalf("replicas written with W=3 differ: %+v", res)
	}
	// 20 keys overwritten on c alone, 10 created on b alone.
	for i := range 20 {
		c.writeDirect("c", fmt.Sprintf("k%03d", i*7), vclock.Value{Data: []byte("on-c")})
	}
	for i := range 10 {
		c.writeDirect("b", fmt.Sprintf("new%02d", i), vclock.Value{Data: []byte("on-b")})
	}
	res := c.repairAll()
	t.Logf("repair round: compared %d keys, %d differed, repaired %d here and %d there",
		res.KeysCompared, res.KeysDiffering, res.RepairedHere, res.RepairedThere)
	if res.KeysDiffering < 30 || res.KeysCompared > 200 {
		t.Errorf("round compared %d keys and found %d differing; want >= 30 differing and compared on the order of 30",
			res.KeysCompared, res.KeysDiffering)
	}
	for i := range keys {
		key := fmt.Sprintf("k%03d", i)
		if sets := c.replicaSets(key); !memcluster.Converged(sets) {
			t.Fatalf("%s did not converge: %v", key, sets)
		}
	}
	for i := range 10 {
		key := fmt.Sprintf("new%02d", i)
		if sets := c.replicaSets(key); !memcluster.Converged(sets) {
			t.Fatalf("%s did not reach every replica: %v", key, sets)
		}
	}
	r, err := c.get("a", "k007", &pb.Quorum{R: 3})
	if err != nil || len(values(r)) != 1 || values(r)[0] != "on-c" {
		t.Fatalf("k007 = %v, %v; want the write made on c", values(r), err)
	}
	if res := c.repairAll(); res.KeysCompared != 0 {
		t.Fatalf("second round compared %d keys; converged trees should agree at the root", res.KeysCompared)
	}
}

// A key deleted on two replicas and live on the third: anti-entropy spreads
// the delete, collection after the grace period removes the key everywhere,
// and later rounds do not bring it back.
func TestDeleteSpreadsAndCollectedDeleteStaysDeleted(t *testing.T) {
	var skew atomic.Int64
	c := newTestClusterWith(t, 2, manualRepair(&skew), three...)
	c.waitTreesReady()
	for _, key := range []string{"gone", "held"} {
		if _, err := c.put("a", key, "old", "", allW); err != nil {
			t.Fatal(err)
		}
		tomb := c.writeDirect("a", key, vclock.Value{Tombstone: true, Timestamp: time.Now().UnixNano()})
		c.mergeDirect("b", key, tomb)
	}
	if s := c.storedSet("c", "gone"); s.Deleted() {
		t.Fatal("c should still hold the live value")
	}

	// Before anti-entropy, c holds a different set: nothing may be
	// collected even long after the grace period.
	skew.Store(int64(2 * time.Hour))
	for _, id := range c.IDs {
		if n, err := c.Nodes[id].CollectTombstones(ctxT(t)); err != nil || n != 0 {
			t.Fatalf("%s collected %d keys (%v) while c holds a live value", id, n, err)
		}
	}
	if s := c.storedSet("a", "gone"); !s.Deleted() {
		t.Fatalf("a's tombstone was removed before every primary held it: %v", s)
	}

	skew.Store(0)
	c.repairAll()
	for _, id := range c.IDs {
		if s := c.storedSet(id, "gone"); !s.Deleted() {
			t.Fatalf("%s holds %v after anti-entropy, want the tombstone", id, s)
		}
	}
	// Within the grace period, nothing is collected.
	for _, id := range c.IDs {
		if n, _ := c.Nodes[id].CollectTombstones(ctxT(t)); n != 0 {
			t.Fatalf("%s collected %d keys within the grace period", id, n)
		}
	}

	skew.Store(int64(2 * time.Hour))
	collected := 0
	for _, id := range c.IDs {
		n, err := c.Nodes[id].CollectTombstones(ctxT(t))
		if err != nil {
			t.Fatalf("%s: collect: %v", id, err)
		}
		collected += n
	}
	if collected != 2 {
		t.Fatalf("collected %d keys on the leaders, want 2", collected)
	}
	for _, id := range c.IDs {
		for _, key := range []string{"gone", "held"} {
			if s := c.storedSet(id, key); !s.IsEmpty() {
				t.Fatalf("%s still holds %q: %v", id, key, s)
			}
		}
	}
	for range 2 {
		c.repairAll()
	}
	c.healAndDrain()
	for _, id := range c.IDs {
		if s := c.storedSet(id, "gone"); !s.IsEmpty() {
			t.Fatalf("collected delete came back on %s: %v", id, s)
		}
	}
	if r, err := c.get("b", "gone", &pb.Quorum{R: 3}); err != nil || r.Found {
		t.Fatalf("get after collection = %v, %v; want not found", values(r), err)
	}
}

// A tombstone is not collected while one of its primaries is down.
func TestTombstoneKeptWhileAPrimaryIsDown(t *testing.T) {
	var skew atomic.Int64
	c := newTestClusterWith(t, 3, manualRepair(&skew), three...)
	put, err := c.put("a", "k", "v", "", allW)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.del("a", "k", put.Context, allW); err != nil {
		t.Fatal(err)
	}
	c.Net.Partition([]string{"a", "b"}, []string{"c"})
	skew.Store(int64(2 * time.Hour))
	for _, id := range []string{"a", "b"} {
		if n, err := c.Nodes[id].CollectTombstones(ctxT(t)); n != 0 {
			t.Fatalf("%s collected %d keys (%v) with c down", id, n, err)
		}
	}
	c.Net.Heal()
	total := 0
	for _, id := range c.IDs {
		n, _ := c.Nodes[id].CollectTombstones(ctxT(t))
		total += n
	}
	if total != 1 {
		t.Fatalf("collected %d keys once every primary was back, want 1", total)
	}
}

// A fallback that stored a write for an unreachable primary drops its copy
// once the hint is delivered: it owns no part of the key.
func TestFallbackCopyDroppedAfterHandoff(t *testing.T) {
	c := newTestCluster(t, 5, five...)
	key := "fallback-key"
	prim := c.Primaries(key)
	down := prim[2]
	var others []string
	for _, id := range five {
		if id != down {
			others = append(others, id)
		}
	}
	c.Net.Partition(others, []string{down})
	if _, err := c.put(prim[0], key, "v", "", &pb.Quorum{W: 3}); err != nil {
		t.Fatalf("sloppy put: %v", err)
	}
	r := c.Nodes[prim[0]].Ring()
	p := r.Partition([]byte(key))
	var holders []string
	for _, id := range others {
		if slices.Contains(prim, id) {
			continue
		}
		if s, err := c.Nodes[id].Storage().Get(context.Background(), p, []byte(key)); err == nil && !s.IsEmpty() {
			holders = append(holders, id)
		}
	}
	if len(holders) == 0 {
		t.Fatal("no fallback stored the write; the test proves nothing")
	}
	c.healAndDrain()
	c.waitConverged(key)
	for _, id := range holders {
		if _, err := c.Nodes[id].Storage().Get(context.Background(), p, []byte(key)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("fallback %s still holds its copy after the hint was delivered (%v)", id, err)
		}
	}
}
