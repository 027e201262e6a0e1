package memcluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/memcluster"
	"github.com/chorusdb/chorus/transport/memnet"
	"github.com/chorusdb/chorus/transport/pb"
)

func TestStartRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]memcluster.Config{
		"duplicate IDs":   {Nodes: []string{"a", "b", "a"}},
		"empty ID":        {Nodes: []string{"a", ""}},
		"negative wait":   {WaitTimeout: -time.Second},
		"bad network":     {Network: memnet.Config{MaxMsgSize: -1}},
		"bad node config": {Configure: func(_ string, c *server.Config) { c.Ring.Replicas = -1 }},
	} {
		c, err := memcluster.Start(context.Background(), cfg)
		if c != nil {
			_ = c.Close()
		}
		want := memcluster.ErrBadConfig
		if name == "bad node config" {
			want = server.ErrInvalidConfig
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: Start = %v, want %v", name, err, want)
		}
	}
}

func TestNodeIDs(t *testing.T) {
	if got := memcluster.NodeIDs(3); !slices.Equal(got, []string{"node0", "node1", "node2"}) {
		t.Fatalf("NodeIDs(3) = %v", got)
	}
	if got := memcluster.DefaultConfig().Nodes; len(got) != 3 {
		t.Fatalf("DefaultConfig().Nodes = %v, want 3 nodes", got)
	}
}

// fastHints makes hint delivery retry often, so that a drain is quick.
func fastHints(_ string, c *server.Config) {
	c.Hints.RetryInterval = 20 * time.Millisecond
	c.Hints.MaxBackoff = 100 * time.Millisecond
}

// A started cluster serves through every node, applies Configure to each,
// and its helpers see what was written: the primaries' sets, equal.
func TestStartServesAndSeesReplicas(t *testing.T) {
	ctx := context.Background()
	configured := map[string]bool{}
	c, err := memcluster.Start(ctx, memcluster.Config{Nodes: []string{"a", "b", "c", "d"},
		Network:   memnet.Config{Seed: 7},
		Configure: func(id string, cfg *server.Config) { configured[id] = cfg.NodeID == id }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}()
	if len(c.Nodes) != 4 || len(configured) != 4 || !configured["d"] {
		t.Fatalf("%d nodes, configured %v; want 4 and each with its own ID", len(c.Nodes), configured)
	}
	prims := c.Primaries("k")
	if len(prims) != 3 {
		t.Fatalf("primaries of k: %v, want 3", prims)
	}
	if sets, err := c.ReplicaSets(ctx, "k"); err != nil || len(sets) != 3 || memcluster.Converged(sets) {
		t.Fatalf("before any write: sets %v, %v; want 3 empty sets, not converged", sets, err)
	}
	if _, err := c.Nodes["a"].KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Quorum: &pb.Quorum{W: 3}}); err != nil {
		t.Fatal(err)
	}
	sets, err := c.ReplicaSets(ctx, "k")
	if err != nil || !memcluster.Converged(sets) {
		t.Fatalf("after a W=3 write: sets %v, %v; want equal", sets, err)
	}
	for id, s := range sets {
		if v := s.Values(); len(v) != 1 || string(v[0].Data) != "v" {
			t.Fatalf("%s holds %v, want v", id, v)
		}
	}
	for _, id := range c.IDs {
		s, err := c.Stored(ctx, id, "k")
		if err != nil || s.IsEmpty() != !slices.Contains(prims, id) {
			t.Fatalf("%s: stored %v, %v; want a set exactly on the primaries %v", id, s, err, prims)
		}
	}
	if _, err := c.Stored(ctx, "z", "k"); err == nil {
		t.Fatal("Stored on an unknown node: no error")
	}
}

// DrainHints waits for hints to reach a primary cut off during a write,
// and says which node still holds them while the cut lasts;
// WaitConverged then finds the primaries equal, and names the sets of a
// key that never converges.
func TestDrainHintsAndWaitConverged(t *testing.T) {
	ctx := context.Background()
	ids := []string{"a", "b", "c", "d", "e"}
	c, err := memcluster.Start(ctx, memcluster.Config{Nodes: ids, Network: memnet.Config{Seed: 3}, Configure: fastHints})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prims := c.Primaries("k")
	down := prims[2]
	var others []string
	for _, id := range ids {
		if id != down {
			others = append(others, id)
		}
	}
	c.Net.Partition(others, []string{down})
	resp, err := c.Nodes[prims[0]].KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Quorum: &pb.Quorum{W: 3}})
	if err != nil || !resp.GetInfo().GetSloppy() {
		t.Fatalf("put with %s cut off: %v, %v; want a sloppy success", down, resp, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.DrainHints(short); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "hints pending on") {
		t.Fatalf("drain while %s is cut off = %v; want a deadline error naming the pending hints", down, err)
	}
	c.Net.Heal()
	if err := c.DrainHints(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConverged(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Stored(ctx, down, "k"); err != nil || s.IsEmpty() {
		t.Fatalf("%s after the drain: %v, %v; want the write", down, s, err)
	}
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.WaitConverged(short, "never-written"); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "sets") {
		t.Fatalf("WaitConverged of an unwritten key = %v; want a deadline error showing the sets", err)
	}
}
