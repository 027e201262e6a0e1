package gossip

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

// epochs is what ring.New needs of a record.
type epochs struct {
	ID      string
	Placed  bool
	Joined  uint64
	Removed uint64
}

func epochsOf(s State) []epochs {
	var out []epochs
	for _, r := range s.Records() {
		out = append(out, epochs{r.ID, r.Placed, r.Joined, r.Removed})
	}
	return out
}

// epochsAgree reports whether every node holds the same records, with
// the same epochs, and every one of ids is placed.
func epochsAgree(nodes []*Membership, ids ...string) error {
	want := fmt.Sprint(epochsOf(nodes[0].Ring()))
	for _, m := range nodes {
		if got := fmt.Sprint(epochsOf(m.Ring())); got != want || m.RingHash() != nodes[0].RingHash() {
			return fmt.Errorf("%s holds %s, %s holds %s", m.ID(), got, nodes[0].ID(), want)
		}
		for _, id := range ids {
			if r, _ := m.Ring().Get(id); !r.Placed {
				return fmt.Errorf("%s: %s is not placed: %+v", m.ID(), id, r)
			}
		}
	}
	return nil
}

func TestBootstrapPlacesFirstNodeAtZero(t *testing.T) {
	store := &memStore{}
	c := testConfig(t, "first")
	c.Store = store
	m := startNode(t, c)
	if got := m.Local(); got.Placed || got.Joined != 0 || got.Removed != 0 || got.Version != 1 {
		t.Fatalf("fresh node: Local() = %+v, want not placed, version 1", got)
	}
	ctx := context.Background()
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if got := m.Local(); !got.Placed || got.Joined != 0 || got.Version != 2 {
		t.Fatalf("after Bootstrap: Local() = %+v, want placed at epoch 0, version 2", got)
	}
	if _, st := store.state(t); !st.Equal(m.Ring()) {
		t.Errorf("store holds %v, node %v", st.Records(), m.Ring().Records())
	}
	saves, h := store.saves, m.RingHash()
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatalf("second Bootstrap: %v", err)
	}
	if err := m.Join(ctx, []string{m.GossipAddr()}); err != nil {
		t.Fatalf("Join(self): %v", err)
	}
	if store.saves != saves || m.RingHash() != h {
		t.Errorf("Bootstrap and Join(self) of a placed node changed the ring (%d saves)", store.saves-saves)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = startNode(t, c)
	if got := m.Local(); !got.Placed || got.Joined != 0 || got.Version != 3 {
		t.Errorf("restarted: Local() = %+v, want still placed at epoch 0, version 3", got)
	}
}

func TestJoinSelfOnlyBootstraps(t *testing.T) {
	m := startNode(t, testConfig(t, "solo"))
	if err := m.Join(context.Background(), []string{m.GossipAddr()}); err != nil {
		t.Fatalf("Join(self): %v", err)
	}
	if got := m.Local(); !got.Placed || got.Joined != 0 {
		t.Errorf("Local() = %+v, want placed at epoch 0", got)
	}
}

// TestBootstrapAfterOthers checks that Bootstrap uses maxEpoch+1 when the
// state already holds a placed record, tombstones included.
func TestBootstrapAfterOthers(t *testing.T) {
	m := startNode(t, testConfig(t, "late"))
	m.enqueue(NewState(placedRec("old", StatusRemoved, 2, 3, 5)))
	chorustest.EventuallyOK(t, "tombstone merged", func() error {
		if _, ok := m.Ring().Get("old"); !ok {
			return errors.New("no record of old")
		}
		return nil
	})
	if err := m.Bootstrap(context.Background()); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if got := m.Local(); !got.Placed || got.Joined != 6 {
		t.Errorf("Local() = %+v, want placed at epoch 6", got)
	}
}

// TestClusterEpochs runs a 3-node loopback cluster through joins, a
// removal and a restart, and checks that every node ends up with the
// same epochs.
func TestClusterEpochs(t *testing.T) {
	seedCfg := testConfig(t, "a")
	a := startNode(t, seedCfg)
	join(t, a, a.GossipAddr())
	if got := a.Local(); !got.Placed || got.Joined != 0 {
		t.Fatalf("seed: Local() = %+v, want placed at epoch 0", got)
	}
	// History the joiners must see before they pick an epoch: the seed's
	// state, merged during the push/pull, counts.
	a.enqueue(NewState(placedRec("old", StatusRemoved, 2, 1, 6)))
	chorustest.EventuallyOK(t, "seed holds the tombstone", func() error {
		if _, ok := a.Ring().Get("old"); !ok {
			return errors.New("no record of old")
		}
		return nil
	})

	store := &memStore{}
	bc := testConfig(t, "b")
	bc.Store = store
	b := startNode(t, bc)
	c := startNode(t, testConfig(t, "c"))
	for _, m := range []*Membership{b, c} {
		if m.Local().Placed {
			t.Fatalf("%s placed before joining: %+v", m.ID(), m.Local())
		}
	}
	join(t, b, a.GossipAddr())
	if got := b.Local(); !got.Placed || got.Joined != 7 {
		t.Fatalf("b: Local() = %+v, want placed at epoch 7 (after the seed's 6)", got)
	}
	join(t, c, a.GossipAddr())
	if got := c.Local(); !got.Placed || got.Joined < 7 {
		t.Fatalf("c: Local() = %+v, want placed at epoch 7 or 8", got)
	}
	nodes := []*Membership{a, b, c}
	chorustest.EventuallyOK(t, "3 nodes agree on the epochs", func() error {
		if err := converged(nodes, StatusActive, "a", "b", "c"); err != nil {
			return err
		}
		return epochsAgree(nodes, "a", "b", "c")
	})
	t.Logf("epochs: %v", epochsOf(a.Ring()))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Remove(ctx, "c"); err != nil {
		t.Fatalf("Remove(c): %v", err)
	}
	removed, _ := a.Ring().Get("c")
	for _, r := range a.Ring().Records() {
		if removed.Removed <= r.Joined || (r.ID != "c" && removed.Removed <= r.Removed) {
			t.Errorf("c removed at epoch %d, not after %+v", removed.Removed, r)
		}
	}
	chorustest.EventuallyOK(t, "removal epoch reaches every node", func() error {
		if err := converged(nodes, StatusRemoved, "c"); err != nil {
			return err
		}
		return epochsAgree(nodes, "a", "b", "c")
	})
	if r, _ := c.Ring().Get("c"); r.Removed != removed.Removed || r.Joined != removed.Joined || !r.Placed {
		t.Errorf("c's own record %+v, want %+v", r, removed)
	}
	if err := c.Bootstrap(ctx); !errors.Is(err, ErrRemoved) {
		t.Errorf("Bootstrap of a removed node = %v, want ErrRemoved", err)
	}

	// Restart b with its store: it keeps its epoch, and joining again
	// does not move it.
	bJoined := b.Local().Joined
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, bc)
	if got := b.Local(); !got.Placed || got.Joined != bJoined {
		t.Fatalf("restarted b: Local() = %+v, want placed at epoch %d", got, bJoined)
	}
	join(t, b, a.GossipAddr())
	nodes = []*Membership{a, b, c}
	chorustest.EventuallyOK(t, "restarted b rejoins with its epoch", func() error {
		if r, _ := a.Ring().Get("b"); r.Version != b.Local().Version {
			return fmt.Errorf("a holds b at version %d, b at %d", r.Version, b.Local().Version)
		}
		return epochsAgree(nodes, "a", "b", "c")
	})
	if got := b.Local(); got.Joined != bJoined {
		t.Errorf("b's epoch moved from %d to %d on rejoin", bJoined, got.Joined)
	}
}

func TestRemoveEpochs(t *testing.T) {
	m := startNode(t, testConfig(t, "me"))
	ctx := context.Background()
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	m.enqueue(NewState(placedRec("p", StatusActive, 1, 4, 0), rec("u", StatusJoining, 1)))
	chorustest.EventuallyOK(t, "records merged", func() error {
		if m.Ring().Len() != 3 {
			return fmt.Errorf("ring %v", m.Ring().Records())
		}
		return nil
	})
	if err := m.Remove(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Ring().Get("u"); r.Status != StatusRemoved || r.Placed || r.Removed != 0 {
		t.Errorf("removed unplaced record = %+v, want removed, not placed, Removed 0", r)
	}
	if err := m.Remove(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Ring().Get("p"); r.Status != StatusRemoved || !r.Placed || r.Joined != 4 || r.Removed != 5 {
		t.Errorf("removed placed record = %+v, want joined 4, removed 5", r)
	}
	if err := m.Remove(ctx, "me"); err != nil {
		t.Fatal(err)
	}
	if r := m.Local(); r.Joined != 0 || r.Removed != 6 {
		t.Errorf("removed self = %+v, want joined 0, removed 6", r)
	}
	if err := m.Bootstrap(ctx); !errors.Is(err, ErrRemoved) {
		t.Errorf("Bootstrap after Remove = %v, want ErrRemoved", err)
	}
}

// TestReassertKeepsPlacement checks that a record of this node that won
// a merge without its placement (a same-version change made elsewhere
// from the unplaced record) is replaced by one that restores it.
func TestReassertKeepsPlacement(t *testing.T) {
	m := startNode(t, testConfig(t, "me"))
	if err := m.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	placed := m.Local()
	lost := placed
	lost.Placed, lost.Joined, lost.Status = false, 0, StatusLeaving // wins the tie on status
	if Compare(lost, placed) <= 0 {
		t.Fatalf("test setup: %+v does not beat %+v", lost, placed)
	}
	m.enqueue(NewState(lost))
	chorustest.EventuallyOK(t, "placement restored", func() error {
		got := m.Local()
		if !got.Placed || got.Joined != placed.Joined || got.Status != StatusLeaving || got.Version != placed.Version+1 {
			return fmt.Errorf("Local() = %+v, want placed at %d, leaving, version %d", got, placed.Joined, placed.Version+1)
		}
		return nil
	})
}

// TestReassertAdoptsPlacement checks that an unplaced node whose own
// record arrives placed (an older incarnation's) keeps that epoch while
// it reasserts its addresses, and is not placed again.
func TestReassertAdoptsPlacement(t *testing.T) {
	m := startNode(t, testConfig(t, "me"))
	m.enqueue(NewState(placedRec("me", StatusActive, 10, 7, 0))) // stale addresses
	chorustest.EventuallyOK(t, "placement adopted", func() error {
		got := m.Local()
		if !got.Placed || got.Joined != 7 || got.Version != 11 || got.GRPCAddr != "127.0.0.1:7me" {
			return fmt.Errorf("Local() = %+v, want placed at 7, version 11, own address", got)
		}
		return nil
	})
	if err := m.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m.Local(); got.Joined != 7 || got.Version != 11 {
		t.Errorf("Bootstrap of an adopted placement changed it: %+v", got)
	}
}
