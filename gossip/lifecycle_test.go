package gossip

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	nodes := make([]*Membership, 3)
	for i := range nodes {
		m, err := New(testConfig(t, fmt.Sprint("g", i)))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = m
		if i > 0 {
			join(t, m, nodes[0].GossipAddr())
		}
	}
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	sub, _ := nodes[0].Subscribe()
	for i := len(nodes) - 1; i >= 0; i-- {
		if err := nodes[i].Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if _, ok := <-sub; ok {
		// One pending notification may be buffered; then it must close.
		if _, ok := <-sub; ok {
			t.Error("subscription channel not closed by Close")
		}
	}
	chorustest.EventuallyOK(t, "goroutines wind down after Close", func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}

func TestCloseIsIdempotentAndStopsOperations(t *testing.T) {
	m, err := New(testConfig(t, "solo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := m.Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close = %v, want ErrClosed", err)
	}
	if err := m.Leave(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Close = %v, want ErrClosed", err)
	}
	if ch, cancel := m.Subscribe(); true {
		if _, ok := <-ch; ok {
			t.Error("Subscribe after Close returned an open channel")
		}
		cancel()
	}
}

func TestSingleNodeChanges(t *testing.T) {
	store := &memStore{}
	c := testConfig(t, "one")
	c.Store = store
	c.InitialStatus = StatusJoining
	m := startNode(t, c)
	if got := m.Local(); got.Status != StatusJoining || got.Version != 1 || got.Weight != 1 {
		t.Fatalf("Local() = %+v, want joining, version 1, weight 1", got)
	}
	if !m.Alive("one") || len(m.LiveMembers()) != 1 {
		t.Errorf("a node does not see itself alive: %v", m.LiveMembers())
	}
	ch, cancel := m.Subscribe()
	ctx := context.Background()
	h := m.RingHash()
	if err := m.SetStatus(ctx, "one", StatusActive); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	if got := m.Local(); got.Status != StatusActive || got.Version != 2 || m.RingHash() == h {
		t.Errorf("after SetStatus(active): %+v, hash changed %v", got, m.RingHash() != h)
	}
	if _, st := store.state(t); !st.Equal(m.Ring()) {
		t.Errorf("store %v, node %v", st.Records(), m.Ring().Records())
	}
	select {
	case <-ch:
	default:
		t.Error("no notification after a ring change")
	}
	saves := store.saves
	if err := m.SetStatus(ctx, "one", StatusActive); err != nil || store.saves != saves {
		t.Errorf("setting the same status: err %v, %d saves, want no-op", err, store.saves-saves)
	}
	if err := m.SetStatus(ctx, "one", StatusRemoved); err == nil {
		t.Error("SetStatus(removed) accepted; Remove is the way")
	}
	if err := m.SetStatus(ctx, "ghost", StatusActive); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("SetStatus(ghost) = %v, want ErrUnknownNode", err)
	}
	// Persistence before broadcast: a failed save changes nothing.
	store.failWith(errInjected)
	before := m.Ring()
	if err := m.Leave(ctx); !errors.Is(err, errInjected) {
		t.Errorf("Leave with a failing store = %v, want the store's error", err)
	}
	if !m.Ring().Equal(before) || m.Local().Status != StatusActive {
		t.Errorf("a change that was not saved took effect: %+v", m.Local())
	}
	store.failWith(nil)
	cancel()
	if _, ok := <-ch; ok {
		if _, ok := <-ch; ok {
			t.Error("cancel did not close the channel")
		}
	}
	cancel() // idempotent
}

func TestNewErrors(t *testing.T) {
	t.Run("ID mismatch", func(t *testing.T) {
		store := &memStore{data: encodePersisted("x", NewState(rec("x", StatusActive, 4)))}
		c := testConfig(t, "y")
		c.Store = store
		if _, err := New(c); !errors.Is(err, ErrNodeIDMismatch) {
			t.Errorf("New = %v, want ErrNodeIDMismatch", err)
		}
	})
	t.Run("corrupt store", func(t *testing.T) {
		c := testConfig(t, "y")
		c.Store = &memStore{data: []byte("garbage")}
		if _, err := New(c); err == nil || !strings.HasPrefix(err.Error(), "gossip: decode") {
			t.Errorf("New = %v, want a gossip: decode error", err)
		}
	})
	t.Run("removed", func(t *testing.T) {
		c := testConfig(t, "")
		c.Store = &memStore{data: encodePersisted("x", NewState(rec("x", StatusRemoved, 4)))}
		if _, err := New(c); !errors.Is(err, ErrRemoved) {
			t.Errorf("New = %v, want ErrRemoved", err)
		}
	})
	t.Run("save fails", func(t *testing.T) {
		store := &memStore{}
		store.failWith(errInjected)
		c := testConfig(t, "y")
		c.Store = store
		if _, err := New(c); !errors.Is(err, errInjected) {
			t.Errorf("New = %v, want the store's error", err)
		}
	})
	t.Run("restart keeps status, adopts new zone", func(t *testing.T) {
		store := &memStore{data: encodePersisted("x", NewState(
			MemberRecord{ID: "x", Zone: "old", Weight: 2, Status: StatusLeaving, Version: 4}, rec("y", StatusActive, 1)))}
		c := testConfig(t, "")
		c.Store = store
		c.Zone = "new"
		c.Weight = 0
		m := startNode(t, c)
		if got := m.Local(); got.ID != "x" || got.Zone != "new" || got.Weight != 2 || got.Status != StatusLeaving || got.Version != 5 {
			t.Errorf("Local() = %+v, want x, zone new, weight 2, leaving, version 5", got)
		}
		if m.Ring().Len() != 2 {
			t.Errorf("ring lost the persisted record of y: %v", m.Ring().Records())
		}
	})
}

// TestReassertSelf checks that a node whose own record arrives with stale
// addresses (an older incarnation's that won on version) writes a newer
// one with its current addresses, keeping the winning status.
func TestReassertSelf(t *testing.T) {
	m := startNode(t, testConfig(t, "me"))
	stale := m.Local()
	stale.GRPCAddr, stale.Status, stale.Version = "10.9.9.9:1", StatusLeaving, 40
	m.enqueue(NewState(stale))
	chorustest.EventuallyOK(t, "own record reasserted", func() error {
		got := m.Local()
		if got.Version != 41 || got.Status != StatusLeaving || got.GRPCAddr != "127.0.0.1:7me" {
			return fmt.Errorf("Local() = %+v, want version 41, leaving, own address", got)
		}
		return nil
	})
}
