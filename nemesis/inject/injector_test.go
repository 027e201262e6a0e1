package inject

import (
	"context"
	"strings"
	"testing"
	"time"
)

func newTestInjector(t *testing.T) (*Injector, *fakeTarget, *fakeNet, *fakeAdmin) {
	t.Helper()
	ft, fn := newFakeTarget(5), &fakeNet{}
	fa := &fakeAdmin{t: ft}
	in, err := New(Config{Target: ft, Net: fn, Admin: fa, Members: 5,
		Sleep:  func(context.Context, time.Duration) error { return nil },
		Exited: func(i int) bool { ft.mu.Lock(); defer ft.mu.Unlock(); return ft.dead[i] }})
	if err != nil {
		t.Fatal(err)
	}
	return in, ft, fn, fa
}

func TestEachFaultStartsAndHeals(t *testing.T) {
	ctx := context.Background()
	for _, f := range []Fault{
		{Kind: Kill, Variant: "one", Nodes: []int{2}},
		{Kind: Kill, Variant: "minority", Nodes: []int{0, 3}},
		{Kind: Pause, Nodes: []int{4}},
		{Kind: Partition, Variant: "majority", Nodes: []int{1, 2}},
		{Kind: Partition, Variant: "isolate", Nodes: []int{0}},
		{Kind: Partition, Variant: "bridge"},
		{Kind: Clock, Nodes: []int{1}, ClockOffset: -2 * time.Hour},
		{Kind: Disk, Variant: "full", Nodes: []int{3}},
		{Kind: Disk, Variant: "slow", Nodes: []int{3}},
		{Kind: Membership},
	} {
		in, ft, fn, fa := newTestInjector(t)
		if err := in.Start(ctx, &f); err != nil {
			t.Fatalf("%s: start: %v", f, err)
		}
		if !in.Active() {
			t.Fatalf("%s: no fault in force after Start", f)
		}
		switch f.Kind {
		case Partition:
			if fn.cut.Empty() {
				t.Fatalf("%s: no cut applied", f)
			}
			if f.Variant == "bridge" && (fn.cut.Blocks("127.0.0.4", "127.0.0.2") || !fn.cut.Blocks("127.0.0.2", "127.0.0.5")) {
				t.Fatalf("bridge cut %s: want node 2 (127.0.0.4) to reach all, 0 cut from 3", fn.cut)
			}
		case Clock:
			if fa.faults[1].ClockOffset != "-2h0m0s" {
				t.Fatalf("clock fault posted %+v", fa.faults[1])
			}
		case Membership:
			if len(f.Nodes) != 1 || f.Nodes[0] != 5 {
				t.Fatalf("membership fault's node %v, want the new node 5", f.Nodes)
			}
		}
		if err := in.Heal(ctx, f); err != nil {
			t.Fatalf("%s: heal: %v", f, err)
		}
		if in.Active() || !ft.healthy() || !fn.cut.Empty() || !fa.clean() {
			t.Fatalf("%s: after Heal: active %v, target healthy %v, cut %s, node faults %v (log %v)",
				f, in.Active(), ft.healthy(), fn.cut, fa.faults, ft.log)
		}
		if f.Kind == Disk && f.Variant == "full" && !strings.Contains(strings.Join(ft.log, ","), "kill 3,restart 3") {
			t.Fatalf("a full disk healed without a restart: %v", ft.log)
		}
		if f.Kind == Membership && (len(fa.left) != 1 || fa.left[0] != 5) {
			t.Fatalf("the joined node did not leave: %v", fa.left)
		}
	}
}

// TestHealAllUndoesEverything leaves several faults in force and a step
// of the heal failing: HealAll still undoes every other one.
func TestHealAllUndoesEverything(t *testing.T) {
	ctx := context.Background()
	in, ft, fn, fa := newTestInjector(t)
	faults := []Fault{
		{Kind: Kill, Nodes: []int{0}},
		{Kind: Pause, Nodes: []int{1}},
		{Kind: Partition, Variant: "isolate", Nodes: []int{2}},
		{Kind: Clock, Nodes: []int{3}, ClockOffset: time.Hour},
		{Kind: Disk, Variant: "slow", Nodes: []int{4}},
		{Kind: Membership},
	}
	for i := range faults {
		if err := in.Start(ctx, &faults[i]); err != nil {
			t.Fatal(err)
		}
	}
	ft.failOn = "resume 1"
	err := in.HealAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "resume 1") {
		t.Fatalf("HealAll = %v, want the failed resume reported", err)
	}
	if !fn.cut.Empty() || !fa.clean() || ft.dead[0] || len(fa.left) != 1 {
		t.Fatalf("after HealAll: cut %s, node faults %v, node 0 dead %v, left %v", fn.cut, fa.faults, ft.dead[0], fa.left)
	}
	if !in.Active() {
		t.Fatal("the pause that failed to heal is no longer tracked")
	}
	if err := in.HealAll(ctx); err != nil || in.Active() || !ft.healthy() {
		t.Fatalf("second HealAll = %v, active %v, healthy %v", err, in.Active(), ft.healthy())
	}
}

func TestFaultsNeedTheirControls(t *testing.T) {
	ft := newFakeTarget(3)
	in, _ := New(Config{Target: ft})
	for _, f := range []Fault{{Kind: Partition, Variant: "isolate", Nodes: []int{0}}, {Kind: Clock, Nodes: []int{0}}, {Kind: Disk, Variant: "full", Nodes: []int{0}}} {
		if err := in.Start(context.Background(), &f); err == nil {
			t.Errorf("%s started without its control", f)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a target succeeded")
	}
}
