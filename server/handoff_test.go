package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// growCluster is a loopback cluster (real gossip and gRPC) that grows and
// shrinks, with anti-entropy off so that only handoff moves data.
type growCluster struct {
	t     *testing.T
	ctx   context.Context
	lcfg  localcluster.Config
	nodes map[string]*server.Node
	pool  *transport.Pool
}

func newGrowCluster(t *testing.T, ctx context.Context, n int) *growCluster {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lcfg := localcluster.Config{Nodes: n, Dir: t.TempDir(), Logger: quiet, Configure: func(_ int, c *server.Config) {
		c.NoAntiEntropy = true
		c.Hints.RetryInterval = 50 * time.Millisecond
		c.Hints.MaxBackoff = 200 * time.Millisecond
		c.Handoff.RetryAfter = 50 * time.Millisecond
		c.Handoff.StallAfter = 5 * time.Second
	}}
	lc, err := localcluster.Start(ctx, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := transport.NewPool(transport.DefaultPoolConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := &growCluster{t: t, ctx: ctx, lcfg: lcfg, nodes: map[string]*server.Node{}, pool: pool}
	for _, nd := range lc.Nodes {
		g.nodes[nd.ID()] = nd
	}
	t.Cleanup(func() {
		for _, nd := range g.nodes {
			_ = nd.Close()
		}
		_ = pool.Close()
	})
	return g
}

// add starts node i, joining node0.
func (g *growCluster) add(i int) *server.Node {
	g.t.Helper()
	n, err := server.Start(g.ctx, g.lcfg.NodeConfig(i, g.nodes["node0"].Addrs().Gossip))
	if err != nil {
		g.t.Fatalf("start node%d: %v", i, err)
	}
	g.nodes[n.ID()] = n
	return n
}

func (g *growCluster) live() []*server.Node {
	var out []*server.Node
	for _, id := range slices.Sorted(maps.Keys(g.nodes)) {
		out = append(out, g.nodes[id])
	}
	return out
}

// settle waits until every node's ring has size members and no node has a
// transfer left.
func (g *growCluster) settle(size int) {
	g.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, n := range g.live() {
			r := n.Ring()
			st := n.Transfers()
			done = done && r != nil && r.Size() == size && st.Waiting+st.InFlight+st.Stalled == 0
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range g.live() {
		g.t.Logf("%s: ring %d, transfers %+v", n.ID(), n.Ring().Size(), n.Transfers())
	}
	g.t.Fatalf("cluster did not settle at %d members with every transfer done", size)
}

// drainHints waits until no live node holds hints.
func (g *growCluster) drainHints() {
	g.t.Helper()
	chorustest.EventuallyOK(g.t, "hints to drain", func() error {
		pending := 0
		for _, n := range g.live() {
			n.NotifyHints()
			pending += n.HintsPending()
		}
		if pending > 0 {
			return fmt.Errorf("%d hints pending", pending)
		}
		return nil
	})
}

func (g *growCluster) kv(n *server.Node) pb.KVClient {
	c, err := g.pool.KV(n.Addrs().GRPC)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

// writer puts keys through random live nodes until stopped and returns
// the acknowledged ones.
type writer struct {
	mu    sync.Mutex
	acked []string
	stop  chan struct{}
	done  chan struct{}
}

func (g *growCluster) startWriter(seed uint64) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	targets := func() []pb.KVClient {
		var out []pb.KVClient
		for _, n := range g.live() {
			out = append(out, g.kv(n))
		}
		return out
	}
	clients := targets()
	go func() {
		defer close(w.done)
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			key := fmt.Sprintf("w%d-%06d", seed, i)
			ctx, cancel := context.WithTimeout(g.ctx, 2*time.Second)
			_, err := clients[rng.IntN(len(clients))].Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key),
				Quorum: &pb.Quorum{W: 2}})
			cancel()
			if err == nil {
				w.mu.Lock()
				w.acked = append(w.acked, key)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// writesPerStep is how many acknowledged writes a phase of
// TestJoinJoinLeaveUnderWrites waits for before, and after, its change.
const writesPerStep = 200

// count returns how many writes were acknowledged so far.
func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitAcked waits until n writes were acknowledged.
func (w *writer) waitAcked(t *testing.T, n int) {
	t.Helper()
	chorustest.Eventually(t, fmt.Sprintf("%d acknowledged writes", n), func() bool { return w.count() >= n })
}

// finish stops the writer and returns the keys it got acknowledged.
func (w *writer) finish() []string {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// checkAll reads every key with R=N through node via and fails on any
// acknowledged write that is missing.
func (g *growCluster) checkAll(via *server.Node, keys []string) {
	g.t.Helper()
	c := g.kv(via)
	for _, key := range keys {
		r, err := c.Get(g.ctx, &pb.GetRequest{Key: []byte(key), Quorum: &pb.Quorum{R: 3}})
		if err != nil {
			g.t.Fatalf("get %s with R=3: %v", key, err)
		}
		if !r.Found || len(r.Siblings) != 1 || string(r.Siblings[0].Value) != "v-"+key {
			g.t.Fatalf("acknowledged write %s lost: found=%v siblings=%d", key, r.Found, len(r.Siblings))
		}
	}
}

// checkBalanced fails if some ring member is a primary of a share of the
// partitions far from N/size.
func (g *growCluster) checkBalanced() {
	g.t.Helper()
	r := g.live()[0].Ring()
	want := float64(r.Partitions()*r.Replicas()) / float64(r.Size())
	for _, n := range g.live() {
		got := float64(len(r.PrimaryPartitions(n.ID())))
		if got < 0.75*want || got > 1.25*want {
			g.t.Errorf("%s is a primary of %.0f partitions, want about %.0f", n.ID(), got, want)
		}
	}
}

// Under continuous writes, a 3-node cluster grows to 4, then 5, then one
// node leaves: no acknowledged write is lost, the ring is balanced and
// every transfer completed. Anti-entropy is off: handoff alone moves data.
func TestJoinJoinLeaveUnderWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 5-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 3)
	var acked []string
	phase := func(seed uint64, change func()) {
		w := g.startWriter(seed)
		w.waitAcked(t, writesPerStep) // writes before the change
		change()
		w.waitAcked(t, w.count()+writesPerStep) // and during its handoff
		acked = append(acked, w.finish()...)
	}
	phase(1, func() { g.add(3) })
	g.settle(4)
	phase(2, func() { g.add(4) })
	g.settle(5)
	for _, n := range g.live() {
		if n.ID() == "node3" || n.ID() == "node4" {
			if st := n.Transfers(); st.Done == 0 || st.Keys == 0 {
				t.Fatalf("%s joined without pulling data: %+v", n.ID(), st)
			}
		}
	}
	phase(3, func() {
		leaver := g.nodes["node1"]
		if err := leaver.Leave(ctx); err != nil {
			t.Fatalf("leave: %v", err)
		}
		if st := leaver.Transfers(); st.Owed == 0 || st.Owed != st.Delivered {
			t.Fatalf("node1 left with %d of %d handoffs delivered", st.Delivered, st.Owed)
		}
		_ = leaver.Close()
		delete(g.nodes, "node1")
	})
	g.settle(4)
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged; the test proves little", len(acked))
	}
	t.Logf("%d acknowledged writes across two joins and a leave", len(acked))
	g.checkAll(g.nodes["node0"], acked)
	g.checkBalanced()

	// The old owners' copies of the partitions they handed off, and the
	// fallbacks' copies once their hints are delivered, are leftovers:
	// dropped, they leave every acknowledged write readable.
	g.drainHints()
	dropped := 0
	for _, n := range g.live() {
		n.DropHandedOff(ctx, 0)
		r := n.Ring()
		for p := range uint32(r.Partitions()) {
			if slices.Contains(r.Primaries(p), n.ID()) {
				continue
			}
			keys := 0
			if err := n.Storage().ScanPartition(ctx, p, func([]byte, vclock.Set) error {
				keys++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if keys > 0 {
				t.Errorf("%s still holds %d keys of partition %d, which it handed off", n.ID(), keys, p)
			}
		}
		dropped += int(n.Transfers().Owed) // what it handed off since start
	}
	if dropped == 0 {
		t.Fatal("no node handed anything off")
	}
	g.checkAll(g.nodes["node2"], acked)
}

// A node that is gone for good is removed; the remaining replicas restore N
// copies of every key from each other.
func TestRemoveDeadNodeRestoresCopies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 4)
	c := g.kv(g.nodes["node0"])
	const keys = 400
	for i := range keys {
		key := fmt.Sprintf("r-%04d", i)
		if _, err := c.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key), Quorum: &pb.Quorum{W: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	dead := g.nodes["node3"]
	_ = dead.Close()
	delete(g.nodes, "node3")
	// Writes while it is down leave hints for it on the others; once it is
	// removed they go to the keys' new primaries instead.
	const during = 200
	for i := range during {
		key := fmt.Sprintf("r-%04d", keys+i)
		if _, err := c.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key), Quorum: &pb.Quorum{W: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	held := 0
	for _, n := range g.live() {
		held += n.HintsPending()
	}
	if held == 0 {
		t.Fatal("no hints for the dead node; the test proves nothing about them")
	}
	if err := g.nodes["node0"].Remove(ctx, "node3"); err != nil {
		t.Fatal(err)
	}
	g.settle(3)
	g.drainHints()
	// Every key must now be on all three remaining nodes, in storage.
	r := g.nodes["node0"].Ring()
	for i := range keys + during {
		key := []byte(fmt.Sprintf("r-%04d", i))
		p := r.Partition(key)
		for _, id := range r.Primaries(p) {
			s, err := g.nodes[id].Storage().Get(ctx, p, key)
			if err != nil || s.IsEmpty() {
				t.Fatalf("%s lacks %s after the removal: %v", id, key, err)
			}
		}
		if len(r.Primaries(p)) != 3 {
			t.Fatalf("partition %d has %d primaries", p, len(r.Primaries(p)))
		}
	}
}

// A node restarted in the middle of its transfers resumes them and
// completes.
func TestTransferResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 3)
	// Slow transfers, so that the restart lands in the middle.
	g.lcfg.Configure = func(i int, c *server.Config) {
		c.NoAntiEntropy = true
		c.Handoff.KeysPerSecond = 1000
		c.Handoff.PageKeys = 100
		c.Handoff.RetryAfter = 50 * time.Millisecond
	}
	c := g.kv(g.nodes["node0"])
	const keys = 3000
	for i := range keys {
		key := fmt.Sprintf("t-%05d", i)
		if _, err := c.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v-" + key), Quorum: &pb.Quorum{W: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	n3 := g.add(3)
	chorustest.Eventually(t, "node3 to pull 1000 keys", func() bool { return n3.Transfers().Keys > 1000 })
	before := n3.Transfers().Keys
	if st := n3.Transfers(); st.Waiting+st.InFlight == 0 {
		t.Fatalf("transfers finished before the restart; slow them further: %+v", st)
	}
	_ = n3.Close()
	delete(g.nodes, "node3")
	n3 = g.add(3)
	g.settle(4)
	st := n3.Transfers()
	r := n3.Ring()
	owned := 0
	for i := range keys {
		if slices.Contains(r.Primaries(r.Partition([]byte(fmt.Sprintf("t-%05d", i)))), "node3") {
			owned++
		}
	}
	t.Logf("node3 owns %d keys: pulled %d before the restart and %d after, %d transfers done after",
		owned, before, st.Keys, st.Done)
	if st.Keys > uint64(owned)-200 {
		t.Errorf("after the restart node3 pulled %d of its %d keys: it started over instead of resuming", st.Keys, owned)
	}
	for i := range keys {
		key := []byte(fmt.Sprintf("t-%05d", i))
		p := r.Partition(key)
		if !slices.Contains(r.Primaries(p), "node3") {
			continue
		}
		if s, err := n3.Storage().Get(ctx, p, key); err != nil || s.IsEmpty() {
			if err == storage.ErrNotFound || err == nil {
				t.Fatalf("node3 lacks %s after resuming", key)
			}
			t.Fatal(err)
		}
	}
}
