package gossip

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/chorusdb/chorus/chorustest"
)

func TestClusterConverges(t *testing.T) {
	nodes := startCluster(t, 4, func(i int, c *Config) { c.Zone = "z" + string(rune('a'+i%2)) })
	start := time.Now()
	chorustest.EventuallyOK(t, "4 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	t.Logf("converged in %v", time.Since(start))
	r, _ := nodes[3].Ring().Get("n1")
	if r.Zone != "zb" || r.GRPCAddr != "127.0.0.1:7n1" || r.HTTPAddr != "127.0.0.1:8n1" || r.Weight != 1 {
		t.Errorf("n3's record of n1 = %+v, want zone zb, its addresses, weight 1", r)
	}
	live := nodes[2].LiveMembers()
	if len(live) != 4 || live[1].NodeID != "n1" || live[1].GRPCAddr != "127.0.0.1:7n1" || live[1].Zone != "zb" {
		t.Errorf("n2 LiveMembers = %+v, want 4 with n1's metadata second", live)
	}
}

func TestFailureDetectionKeepsRing(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	before := nodes[0].Ring()
	start := time.Now()
	if err := nodes[2].halt(); err != nil { // no leave: a crash
		t.Fatal(err)
	}
	chorustest.EventuallyOK(t, "survivors see n2 dead", func() error {
		for _, m := range nodes[:2] {
			if m.Alive("n2") {
				return errors.New(m.ID() + " still reports n2 alive")
			}
		}
		return nil
	})
	t.Logf("n2 reported dead by both survivors after %v", time.Since(start))
	for _, m := range nodes[:2] {
		if !m.Ring().Equal(before) {
			t.Errorf("%s ring changed on a failure: %v, was %v", m.ID(), m.Ring().Records(), before.Records())
		}
		if !m.Alive("n0") || !m.Alive("n1") {
			t.Errorf("%s lost sight of a live node", m.ID())
		}
	}
}

func TestRestartKeepsIdentityAndRing(t *testing.T) {
	store := &memStore{}
	nodes := startCluster(t, 3, func(i int, c *Config) {
		if i == 1 {
			c.NodeID = "" // generated, then persisted
			c.Store = store
			c.Zone = "zone-x"
		}
	})
	id := nodes[1].ID()
	if len(id) != 32 {
		t.Fatalf("generated ID %q, want 32 hex digits", id)
	}
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	oldVersion := nodes[1].Local().Version
	// Persistence before broadcast: the store holds what the node holds.
	if sid, st := store.state(t); sid != id || !st.Equal(nodes[1].Ring()) {
		t.Fatalf("store holds %q %v, node holds %q %v", sid, st.Records(), id, nodes[1].Ring().Records())
	}
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	chorustest.EventuallyOK(t, "others see the closed node gone", func() error {
		if nodes[0].Alive(id) || nodes[2].Alive(id) {
			return errors.New("still alive")
		}
		return nil
	})

	c := testConfig(t, "")
	c.Store = store // same store, no ID, no zone: both come from the store
	c.GRPCAddr = "127.0.0.1:9999"
	nodes[1] = startNode(t, c)
	if got := nodes[1].ID(); got != id {
		t.Fatalf("restarted node ID = %q, want %q", got, id)
	}
	local := nodes[1].Local()
	if local.Zone != "zone-x" || local.Status != StatusActive || local.Version != oldVersion+1 || local.GRPCAddr != "127.0.0.1:9999" {
		t.Errorf("restarted record = %+v, want zone-x, active, version %d, new gRPC address", local, oldVersion+1)
	}
	if local.Version <= oldVersion || nodes[1].Ring().Len() != 3 {
		t.Errorf("restarted ring has %d records, want 3 (persisted)", nodes[1].Ring().Len())
	}
	join(t, nodes[1], nodes[2].GossipAddr())
	chorustest.EventuallyOK(t, "restarted node rejoins and the ring converges", func() error {
		if err := converged(nodes, StatusActive, ids(nodes)...); err != nil {
			return err
		}
		if r, _ := nodes[0].Ring().Get(id); r.GRPCAddr != "127.0.0.1:9999" {
			return errors.New("n0 has not seen the new address")
		}
		return nil
	})
}

func TestRemovePropagates(t *testing.T) {
	store := &memStore{}
	nodes := startCluster(t, 3, func(i int, c *Config) {
		if i == 2 {
			c.Store = store
		}
	})
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	ch, cancel := nodes[2].Subscribe()
	defer cancel()
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := nodes[0].Remove(ctx, "n2"); err != nil {
		t.Fatalf("Remove(n2): %v", err)
	}
	chorustest.EventuallyOK(t, "removal reaches every node", func() error {
		return converged(nodes, StatusRemoved, "n2")
	})
	select {
	case <-ch:
	default:
		t.Error("n2's subscriber was not notified of its removal")
	}
	if err := nodes[2].SetStatus(ctx, "n2", StatusActive); !errors.Is(err, ErrRemoved) {
		t.Errorf("SetStatus on a removed node = %v, want ErrRemoved", err)
	}
	if err := nodes[0].Remove(ctx, "n2"); err != nil {
		t.Errorf("removing again = %v, want nil (no-op)", err)
	}
	if err := nodes[0].Remove(ctx, "nobody"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("Remove(unknown) = %v, want ErrUnknownNode", err)
	}
	// Liveness is separate: n2 is removed but still alive.
	if !nodes[0].Alive("n2") {
		t.Error("n0 reports the removed (but running) n2 dead")
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, "n2")
	c.Store = store
	if m, err := New(c); !errors.Is(err, ErrRemoved) {
		if m != nil {
			m.Close()
		}
		t.Fatalf("New on a removed node's store = %v, want ErrRemoved", err)
	}
}

func TestLeavePropagates(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := nodes[1].Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	chorustest.EventuallyOK(t, "leaving status reaches every node", func() error {
		return converged(nodes, StatusLeaving, "n1")
	})
	if err := nodes[1].Remove(ctx, nodes[1].ID()); err != nil {
		t.Fatalf("Remove(self): %v", err)
	}
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	chorustest.EventuallyOK(t, "removal reaches the others, n1 gone", func() error {
		if err := converged([]*Membership{nodes[0], nodes[2]}, StatusRemoved, "n1"); err != nil {
			return err
		}
		if nodes[0].Alive("n1") || nodes[2].Alive("n1") {
			return errors.New("n1 still alive")
		}
		return nil
	})
}

func TestJoinRetriesUntilSeedAnswers(t *testing.T) {
	port := freePort(t)
	cb := testConfig(t, "b")
	failed := &countRecords{msg: "join attempt failed"}
	cb.Logger = slog.New(failed)
	b := startNode(t, cb)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc <- b.Join(ctx, []string{"127.0.0.1:" + itoa(port)})
	}()
	// The scenario: the seed comes up after b's joins began to fail.
	chorustest.Eventually(t, "a failed join attempt", func() bool { return failed.n.Load() >= 2 })
	c := testConfig(t, "a")
	c.BindPort = port
	a := startNode(t, c)
	if err := <-errc; err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Logf("joined %v after starting", time.Since(start))
	chorustest.EventuallyOK(t, "a and b converge", func() error {
		return converged([]*Membership{a, b}, StatusActive, "a", "b")
	})
}

func TestJoinFailsClearly(t *testing.T) {
	m := startNode(t, testConfig(t, "lonely"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	seed := "127.0.0.1:" + itoa(freePort(t))
	err := m.Join(ctx, []string{seed})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "gossip: join") ||
		!strings.Contains(err.Error(), seed) {
		t.Errorf("Join with no seed up = %v, want a gossip: join error naming %s and wrapping DeadlineExceeded", err, seed)
	}
	if err := m.Join(context.Background(), nil); !errors.Is(err, ErrNoSeeds) {
		t.Errorf("Join(nil) = %v, want ErrNoSeeds", err)
	}
	if err := m.Join(context.Background(), []string{m.GossipAddr()}); err != nil {
		t.Errorf("Join(self only) = %v, want nil (first node)", err)
	}
}

func TestEncryption(t *testing.T) {
	key := []byte("0123456789abcdef")
	other := []byte("fedcba9876543210")
	nodes := startCluster(t, 2, func(i int, c *Config) { c.SecretKey = key })
	chorustest.EventuallyOK(t, "two nodes with the same key converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	c := testConfig(t, "intruder")
	c.SecretKey = other
	intruder := startNode(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := intruder.Join(ctx, []string{nodes[0].GossipAddr()}); err == nil {
		t.Fatal("a node with a different key joined")
	}
	if nodes[0].Alive("intruder") || nodes[0].Ring().Len() != 2 {
		t.Errorf("n0 admitted the intruder: live %v, ring %v", nodes[0].LiveMembers(), nodes[0].Ring().Records())
	}
}

func TestMockNetworkTransport(t *testing.T) {
	var mn memberlist.MockNetwork
	// MockNetwork's maps are not synchronised: make every transport
	// before any node runs.
	ta, tb := mn.NewTransport("a"), mn.NewTransport("b")
	ca, cb := testConfig(t, "a"), testConfig(t, "b")
	ca.Transport, cb.Transport = ta, tb
	a, b := startNode(t, ca), startNode(t, cb)
	join(t, b, a.GossipAddr())
	chorustest.EventuallyOK(t, "two nodes on a mock network converge", func() error {
		return converged([]*Membership{a, b}, StatusActive, "a", "b")
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// countRecords is a slog.Handler that counts the records whose message is
// msg and drops every record.
type countRecords struct {
	msg string
	n   atomic.Int64
}

func (h *countRecords) Enabled(context.Context, slog.Level) bool { return true }

func (h *countRecords) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}

func (h *countRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countRecords) WithGroup(string) slog.Handler      { return h }

// TestCompressionMixed checks that nodes with and without memberlist
// compression (DefaultMemberlistConfig turns it off; older nodes had it
// on) form one cluster: a node reads compressed messages either way.
func TestCompressionMixed(t *testing.T) {
	if DefaultMemberlistConfig().EnableCompression {
		t.Error("DefaultMemberlistConfig compresses, want it off")
	}
	nodes := startCluster(t, 3, func(i int, c *Config) { c.Memberlist.EnableCompression = i%2 == 0 })
	chorustest.EventuallyOK(t, "3 nodes, compressing or not, converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
}
