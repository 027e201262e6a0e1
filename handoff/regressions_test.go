package handoff

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
)

// A transfer stopped part way through its replaced owner (cursor saved)
// must still finish from the other old primaries when the replaced owner
// is then down: doc.go promises the other holders are used "when it is
// gone".
func TestResumeWhenReplacedGoesDown(t *testing.T) {
	const pageKeys = 10
	f := newJoinFixture(t, 0, func(c *Config) { c.PageKeys = pageKeys })
	p := f.partitions[0]
	from := f.gains[p]
	for i := range 50 {
		f.src.node(from).put(p, fmt.Sprintf("big/%03d", i), from)
	}
	for _, o := range f.others(p) {
		f.src.node(o).put(p, "only-"+o, o)
	}
	stopped := make(chan struct{})
	var once sync.Once
	f.src.setHook(func(ctx context.Context, node string, q uint32, after []byte) error {
		if q == p && f.src.pagesFrom(node, q) >= 2 {
			once.Do(func() { close(stopped) })
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	stepped := make(chan bool)
	go func() { stepped <- f.m.Step() }()
	<-stopped
	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}
	<-stepped
	f.src.setHook(nil)
	f.live.setDown(from, true) // the replaced node is gone for good

	cfg := testConfig("d", f.src.node("d"), f.src, f.live)
	cfg.PageKeys = pageKeys
	m2 := mustNew(t, cfg)
	if err := m2.Update(context.Background(), nil, f.r4); err != nil {
		t.Fatal(err)
	}
	clk := fakeClock(cfg)
	for i := 0; m2.Incomplete(p) && i < 10; i++ {
		driveStep(t, clk, m2, cfg.RetryAfter)
		clk.Advance(cfg.RetryAfter)
	}
	if m2.Incomplete(p) {
		t.Fatalf("partition %d never completes with its replaced owner %s down: %+v", p, from, m2.Status())
	}
	for _, o := range f.others(p) {
		if !f.src.node("d").has(p, "only-"+o) {
			t.Errorf("key held only by %s missing", o)
		}
	}
}

// When the replaced owner stalls, the transfer "moves to its next source";
// a single transient failure of that next source must not make the union
// pull skip it, or the partition is marked complete without keys only that
// up-and-complete holder has.
func TestStallMovesToNextSourceWithGrace(t *testing.T) {
	f := newJoinFixture(t, 2, func(c *Config) {
		c.StallAfter = 30 * time.Millisecond
		c.RetryAfter = 2 * time.Millisecond
	})
	p := f.partitions[0]
	from := f.gains[p]
	others := f.others(p)
	for _, o := range others {
		f.src.node(o).put(p, "only-"+o, o)
	}
	var mu sync.Mutex
	failedOnce := false
	f.src.setHook(func(ctx context.Context, node string, q uint32, after []byte) error {
		if q != p {
			return nil
		}
		if node == from {
			return errInjected // the replaced owner answers nothing
		}
		mu.Lock()
		defer mu.Unlock()
		if node == others[0] && !failedOnce {
			failedOnce = true
			return errInjected // one transient failure
		}
		return nil
	})
	if !driveStep(t, f.clk, f.m, 2*time.Millisecond) {
		t.Fatal("Step() = false")
	}
	d := f.src.node("d")
	if !f.m.Incomplete(p) {
		for _, o := range others {
			if !d.has(p, "only-"+o) {
				t.Errorf("partition %d marked complete without the key only %s (up, complete) held", p, o)
			}
		}
		return
	}
	// Still pending is acceptable; a retry must then bring every key.
	for i := 0; f.m.Incomplete(p) && i < 10; i++ {
		f.clk.Advance(f.retryAfter)
		driveStep(t, f.clk, f.m, 2*time.Millisecond)
	}
	if f.m.Incomplete(p) {
		t.Fatalf("partition %d still incomplete after 10 retries: %+v", p, f.m.Status())
	}
	want := map[string]bool{}
	for _, o := range others {
		maps.Copy(want, keysOf(f.src, o, p))
	}
	for k := range want {
		if !d.has(p, k) {
			t.Errorf("key %s missing", k)
		}
	}
}

// A leaving node owes partition p to the node y that replaced it; when y
// is itself removed before it pulled p, y is no longer a new owner and can
// never pull, so the handoff must stop counting as owed (the server's
// Leave waits for delivered == owed).
func TestOutgoingRetiredWhenNewOwnerLeaves(t *testing.T) {
	recs := []ring.Member{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}
	r1 := mustRing(t, recs...)
	recs[3].Removed = 1 // d leaves
	r2 := mustRing(t, recs...)
	src := newFakeSource()
	m := mustNew(t, testConfig("d", src.node("d"), src, newFakeLiveness()))
	if err := m.Update(context.Background(), nil, r1); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(context.Background(), r1, r2); err != nil {
		t.Fatal(err)
	}
	var moves []ring.Move
	for _, mv := range ring.Moves(r1, r2) {
		if mv.From == "d" {
			moves = append(moves, mv)
		}
	}
	y := moves[0].To
	// Every new owner but y pulls to the end.
	for _, mv := range moves {
		if mv.To != y {
			m.NoteServed(mv.Partition, mv.To, true)
		}
	}
	// y leaves too before pulling anything.
	for i := range recs {
		if recs[i].ID == y {
			recs[i].Removed = 2
		}
	}
	r3 := mustRing(t, recs...)
	if err := m.Update(context.Background(), r2, r3); err != nil {
		t.Fatal(err)
	}
	if owed, delivered := m.Outgoing(); owed != delivered {
		t.Errorf("Outgoing = %d owed, %d delivered after %s, the only node not served, left the ring; "+
			"want every remaining handoff delivered", owed, delivered, y)
	}
}

// Nodes that join together: d gained p from {a,b,c}, and before its
// pull ran every one of those holders stopped holding p whole (each was
// pulling p itself, or dropped it once handed off), while a later change
// made e a primary of p, and e holds it whole. d must complete from e:
// a transfer that only asks the holders it was planned with waits
// forever (seen on five nodes started at once: every node kept partitions
// "waiting" with no source up that holds the partition whole).
func TestPendingPullsFromCurrentWholePrimary(t *testing.T) {
	f := newJoinFixture(t, 3, nil)
	memE := ring.Member{ID: "e", Joined: 2}
	r5 := mustRing(t, memA, memB, memC, memD, memE)
	var p uint32
	found := false
	for _, q := range f.partitions {
		if prim := r5.Primaries(q); slices.Contains(prim, "d") && slices.Contains(prim, "e") {
			p, found = q, true
			break
		}
	}
	if !found {
		t.Skip("no partition d gained that e shares in the five-node ring")
	}
	for _, n := range f.r3.Primaries(p) {
		f.src.setIncomplete(n, p, true)
	}
	f.src.node("e").put(p, "e/only", "e")
	if err := f.m.Update(context.Background(), f.r4, r5); err != nil {
		t.Fatal(err)
	}
	for range len(f.partitions) + 1 {
		f.m.Step()
	}
	if f.m.Incomplete(p) {
		t.Fatalf("partition %d still pending with e, a primary holding it whole: %+v", p, f.m.Status())
	}
	if !keysOf(f.src, "d", p)["e/only"] {
		t.Fatalf("d did not merge e's copy of partition %d: %v", p, sortedSet(keysOf(f.src, "d", p)))
	}
}

// When every holder of a partition is up and none holds it whole for
// StallAfter (nodes that joined together, each pulling from the
// others), the transfer merges every member's copy and completes; with a
// member down it keeps waiting, since that member may hold writes the
// others lack.
func TestEveryHolderPullingMergesEveryMember(t *testing.T) {
	f := newJoinFixture(t, 3, nil)
	p := f.partitions[0]
	memE := ring.Member{ID: "e", Joined: 2}
	r5 := mustRing(t, memA, memB, memC, memD, memE)
	if !slices.Contains(r5.Primaries(p), "d") {
		t.Skip("d is no primary of its first gained partition in the five-node ring")
	}
	for _, n := range []string{"a", "b", "c", "e"} {
		f.src.setIncomplete(n, p, true)
	}
	f.src.node("e").put(p, "e/only", "e")
	if err := f.m.Update(context.Background(), f.r4, r5); err != nil {
		t.Fatal(err)
	}
	stepAll(f.m)
	if !f.m.Incomplete(p) {
		t.Fatal("completed at once with no holder whole: a holder may only be finishing its pull")
	}
	f.live.setDown("e", true)
	f.clk.Advance(30*time.Second + f.retryAfter)
	stepAll(f.m)
	if !f.m.Incomplete(p) {
		t.Fatal("completed with a member down that may hold writes the others lack")
	}
	f.live.setDown("e", false)
	f.clk.Advance(f.retryAfter)
	stepAll(f.m)
	if f.m.Incomplete(p) {
		t.Fatalf("still pending after StallAfter with every member up: %+v", f.m.Status())
	}
	want := map[string]bool{}
	for _, n := range []string{"a", "b", "c", "e"} {
		maps.Copy(want, keysOf(f.src, n, p))
	}
	if got := keysOf(f.src, "d", p); !maps.Equal(got, want) {
		t.Fatalf("d holds %v, want every member's copy %v", sortedSet(got), sortedSet(want))
	}
}
