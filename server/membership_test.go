package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// seedKeys writes count keys with W=3 through node0 and returns them.
func (g *growCluster) seedKeys(prefix string, count int) []string {
	g.t.Helper()
	c := g.kv(g.nodes["node0"])
	keys := make([]string, count)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s-%04d", prefix, i)
		ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
		_, err := c.Put(ctx, &pb.PutRequest{Key: []byte(keys[i]), Value: []byte("v"), Quorum: &pb.Quorum{W: 3}})
		cancel()
		if err != nil {
			g.t.Fatalf("put %s: %v", keys[i], err)
		}
	}
	return keys
}

// A node that leaves reports what it handed off and ends with every
// handoff delivered; every key stays readable with R=3 on the rest.
func TestLeaveReportsHandoff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 4)
	keys := g.seedKeys("leave", 200)
	leaver := g.nodes["node3"]
	if err := leaver.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	st := leaver.LeaveStatus()
	if !st.Left || st.InRing || st.Owed == 0 || st.Delivered != st.Owed || st.Partitions == 0 || st.Keys == 0 || st.Bytes == 0 {
		t.Fatalf("LeaveStatus after Leave = %+v, want left with every handoff delivered and keys and bytes counted", st)
	}
	if st.ElapsedMS <= 0 {
		t.Errorf("LeaveStatus.ElapsedMS = %v, want the leave's duration", st.ElapsedMS)
	}
	_ = leaver.Close()
	delete(g.nodes, "node3")
	g.settle(3)
	c := g.kv(g.nodes["node1"])
	for _, k := range keys {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		rep, err := c.Get(rctx, &pb.GetRequest{Key: []byte(k), Quorum: &pb.Quorum{R: 3}})
		rcancel()
		if err != nil || !rep.Found {
			t.Fatalf("get %s with R=3 after the leave: found %v, err %v", k, rep.GetFound(), err)
		}
	}
}

// A node that leaves just after joining, while it still pulls its
// partitions, hands off the writes it took meanwhile: the new owner of a
// partition it was pulling merges its partial copy.
func TestLeaveRightAfterJoinKeepsItsWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 3)
	g.seedKeys("seed", 600)
	configure := g.lcfg.Configure
	g.lcfg.Configure = func(i int, c *server.Config) {
		configure(i, c)
		if i == 3 { // pull so slowly that the partitions stay pending
			c.Handoff.KeysPerSecond, c.Handoff.PageKeys = 1, 1
		}
	}
	n3 := g.add(3)
	var r4 *ring.Ring
	deadline := time.Now().Add(30 * time.Second)
	for r4 == nil || r4.Size() < 4 {
		if time.Now().After(deadline) {
			t.Fatal("node3 never saw the 4-node ring")
		}
		time.Sleep(20 * time.Millisecond)
		r4 = n3.Ring()
	}
	pending := map[uint32]bool{}
	for _, ts := range n3.Transfers().Transfers {
		pending[ts.Partition] = true
	}
	// A write only node3 holds, in a partition it is still pulling: a
	// write it took as a primary that the other replicas missed.
	var key string
	var part uint32
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("only-on-node3-%d", i)
		if p := r4.Partition([]byte(k)); pending[p] {
			key, part = k, p
		}
	}
	set := vclock.NewSet("node3", vclock.Value{Data: []byte("late")})
	if _, _, err := n3.Storage().Merge(ctx, part, []byte(key), set, true); err != nil {
		t.Fatal(err)
	}
	if err := n3.Leave(ctx); err != nil {
		t.Fatalf("leave: %v (status %+v)", err, n3.LeaveStatus())
	}
	_ = n3.Close()
	delete(g.nodes, "node3")
	r3 := g.nodes["node0"].Ring()
	var newOwners []string
	for _, mv := range ring.Moves(r4, r3) {
		if mv.Partition == part && mv.From == "node3" && mv.To != "" {
			newOwners = append(newOwners, mv.To)
		}
	}
	if len(newOwners) == 0 {
		t.Fatalf("partition %d has no new owner after node3 left: primaries %v then %v", part, r4.Primaries(part), r3.Primaries(part))
	}
	g.settle(3)
	for _, id := range newOwners {
		if !slices.Contains(r3.Primaries(part), id) {
			continue
		}
		got, err := g.nodes[id].Storage().Get(ctx, part, []byte(key))
		if err != nil {
			t.Errorf("%s, new owner of partition %d, lacks %s that only node3 held: %v", id, part, key, err)
			continue
		}
		if len(got.Values()) == 0 {
			t.Errorf("%s holds %s without its value", id, key)
		}
	}
}
