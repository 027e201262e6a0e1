package handoff

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
)

// A node that leaves just after joining, while it still pulls a partition
// it gained, holds writes it took as that partition's primary: the new
// owner must merge them (the node's copy is partial, so only the other
// holders complete the transfer), and the leaving node must count the
// handoff owed until the new owner pulled it to the end.
func TestLeaveRightAfterJoinHandsOffNewWrites(t *testing.T) {
	src := newFakeSource()
	live := newFakeLiveness()
	r3 := mustRing(t, memA, memB, memC)
	r4 := mustRing(t, memA, memB, memC, memD)
	goneD := memD
	goneD.Removed = 2
	r5 := mustRing(t, memA, memB, memC, goneD)
	seedKeys(src, r3, 3)

	managers := map[string]*Manager{}
	src.complete = func(node string, p uint32) bool { return managers[node].SourceComplete(p) }
	for _, id := range []string{"a", "b", "c", "d"} {
		managers[id] = mustNew(t, testConfig(id, src.node(id), src, live))
	}
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := managers[id].Update(ctx, nil, r3); err != nil { // founders: whole
			t.Fatal(err)
		}
		if err := managers[id].Update(ctx, r3, r4); err != nil {
			t.Fatal(err)
		}
	}
	d := managers["d"]
	if err := d.Update(ctx, r3, r4); err != nil {
		t.Fatal(err)
	}
	p := -1
	for q := range uint32(r4.Partitions()) {
		if d.Incomplete(q) {
			p = int(q)
			break
		}
	}
	if p < 0 {
		t.Fatal("d pulls no partition after joining")
	}
	part := uint32(p)
	// d took a write as a primary of part before its pull ran, then leaves.
	src.node("d").put(part, "written-to-d-after-join", "d")
	if err := d.Update(ctx, r4, r5); err != nil {
		t.Fatal(err)
	}
	var to string
	for _, mv := range ring.Moves(r4, r5) {
		if mv.Partition == part && mv.From == "d" {
			to = mv.To
		}
	}
	if to == "" {
		t.Fatalf("no new owner of partition %d when d leaves", part)
	}
	if o := d.OutgoingStatus(); o.Owed == 0 || o.Delivered != 0 {
		t.Fatalf("d's Outgoing after leaving = %+v, want handoffs owed and none delivered", o)
	}
	if got := d.Droppable(0); len(got) != 0 {
		t.Fatalf("Droppable = %v before any new owner pulled: a partial copy with new writes would be lost", got)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := managers[id].Update(ctx, r4, r5); err != nil {
			t.Fatal(err)
		}
	}
	m := managers[to]
	for m.Step() {
	}
	if m.Incomplete(part) {
		t.Fatalf("%s still pulls partition %d: %+v", to, part, m.Status())
	}
	if !src.node(to).has(part, "written-to-d-after-join") {
		t.Errorf("%s lacks the write d took after joining: the leave lost it", to)
	}
	want := map[string]bool{}
	for _, n := range r3.Primaries(part) {
		maps.Copy(want, keysOf(src, n, part))
	}
	for k := range want {
		if !src.node(to).has(part, k) {
			t.Errorf("%s lacks %s of partition %d, held by the complete holders", to, k, part)
		}
	}
	d.NotePage(part, to, 4, 100, true)
	if o := d.OutgoingStatus(); o.Delivered == 0 || o.Keys != 4 || o.Bytes != 100 {
		t.Errorf("d's Outgoing after the pull = %+v, want one delivered, 4 keys and 100 bytes sent", o)
	}
}

// A replaced owner that fails while it is pulled from (a leaving node
// with a passing fault) is read once more after the other holders
// completed the transfer: writes only it holds are not left behind, and
// it sees its handoff delivered, so its leave can end.
func TestReplacedRetriedAfterUnion(t *testing.T) {
	f := newJoinFixture(t, 2, func(c *Config) {
		c.StallAfter = 40 * time.Millisecond
	})
	p := f.partitions[0]
	from := f.gains[p]
	f.src.node(from).put(p, "only-on-replaced", from)
	var mu sync.Mutex
	failing := true
	f.src.setHook(func(_ context.Context, node string, q uint32, _ []byte) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case q != p:
		case node == from && failing:
			return errInjected
		case node != from:
			failing = false // the union runs: the fault has passed
		}
		return nil
	})
	for driveStep(t, f.clk, f.m, 10*time.Millisecond) {
		if !f.m.Incomplete(p) {
			break
		}
	}
	if f.m.Incomplete(p) {
		t.Fatalf("partition %d not received: %+v", p, f.m.Status())
	}
	if !f.src.node("d").has(p, "only-on-replaced") {
		t.Errorf("d lacks the write only %s held: the replaced owner was not read again", from)
	}
	for _, o := range f.others(p) {
		for k := range keysOf(f.src, o, p) {
			if !f.src.node("d").has(p, k) {
				t.Errorf("d lacks %s of %s", k, o)
			}
		}
	}
}
