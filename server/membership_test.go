package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
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
		var err error
		// A loaded machine (-race) can make a forward look silent; a
		// retried seed write only adds a sibling.
		for try := 0; try < 5; try++ {
			ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
			_, err = c.Put(ctx, &pb.PutRequest{Key: []byte(keys[i]), Value: []byte("v"), Quorum: &pb.Quorum{W: 3}})
			cancel()
			if err == nil {
				break
			}
		}
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
	leaver := g.nodes["node1"]
	// node1's partitions each gain one new primary; the handoffs node1
	// delivered when node2 and node3 joined are not the leave's.
	want := len(leaver.Ring().PrimaryPartitions("node1"))
	if err := leaver.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	st := leaver.LeaveStatus()
	if !st.Left || st.InRing || st.Owed != want || st.Delivered != st.Owed || st.Partitions != want || st.Waiting != 0 ||
		st.Keys == 0 || st.Bytes == 0 {
		t.Fatalf("LeaveStatus after Leave = %+v, want left with %d partitions handed off and keys and bytes counted", st, want)
	}
	if st.ElapsedMS <= 0 {
		t.Errorf("LeaveStatus.ElapsedMS = %v, want the leave's duration", st.ElapsedMS)
	}
	_ = leaver.Close()
	delete(g.nodes, "node1")
	g.settle(3)
	c := g.kv(g.nodes["node0"])
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

// While a node leaves, the new owners of its partitions answer reads
// partially until they have pulled them; the leaving node stands in for
// them, so a read with R=N still succeeds and sees the data. Once the
// handoff is done, reads no longer ask it.
func TestLeaverCountsTowardRDuringLeave(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 4)
	keys := g.seedKeys("during", 300)
	// Slow pulls from here on keep the new owners partial for seconds.
	for _, n := range g.live() {
		n.SetHandoffRate(20)
	}
	leaver := g.nodes["node3"]
	left := make(chan error, 1)
	go func() { left <- leaver.Leave(ctx) }()
	c := g.kv(g.nodes["node0"])
	read := func(k string) *pb.GetResponse {
		// A generous deadline: a loaded machine must not fail the test.
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		defer rcancel()
		rep, err := c.Get(rctx, &pb.GetRequest{Key: []byte(k), Quorum: &pb.Quorum{N: 3, R: 3, TimeoutMs: 15000}})
		if err != nil || !rep.Found {
			t.Fatalf("get %s with R=N=3 during the leave: found %v, err %v", k, rep.GetFound(), err)
		}
		return rep
	}
	// Wait for the ring without node3 to reach node0, then read while
	// the new owners pull.
	chorustest.Eventually(t, "node0 to see node3 leave", func() bool {
		return !slices.Contains(memberIDs(g.nodes["node0"].Ring()), "node3")
	})
	asked := 0
	for _, k := range keys {
		if slices.Contains(read(k).GetInfo().GetReplicas(), "node3") {
			asked++
		}
	}
	if asked == 0 {
		t.Errorf("no read during the leave was answered by node3 (pending: %+v)", g.nodes["node0"].Transfers())
	}
	if err := <-left; err != nil {
		t.Fatalf("leave: %v", err)
	}
	g.settleWithout("node3", 3)
	for _, k := range keys {
		if reps := read(k).GetInfo().GetReplicas(); slices.Contains(reps, "node3") {
			t.Fatalf("get %s after the handoff asked node3: replicas %v", k, reps)
		}
	}
	t.Logf("%d of %d reads during the leave were answered by the leaving node", asked, len(keys))
}

func memberIDs(r *ring.Ring) []string {
	var out []string
	if r != nil {
		for _, m := range r.Members() {
			out = append(out, m.ID)
		}
	}
	return out
}

// settleWithout is settle for the nodes other than skip (which left but
// still runs).
func (g *growCluster) settleWithout(skip string, size int) {
	g.t.Helper()
	chorustest.EventuallyOK(g.t, "the others to settle", func() error {
		for _, n := range g.live() {
			if n.ID() == skip {
				continue
			}
			r, st := n.Ring(), n.Transfers()
			if r == nil || r.Size() != size || st.Waiting+st.InFlight+st.Stalled > 0 {
				return fmt.Errorf("%s: ring %d, transfers %+v", n.ID(), r.Size(), st)
			}
		}
		return nil
	})
}
