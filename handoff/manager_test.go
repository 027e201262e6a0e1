package handoff

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/ring"
)

var (
	memA = ring.Member{ID: "a"}
	memB = ring.Member{ID: "b"}
	memC = ring.Member{ID: "c"}
	memD = ring.Member{ID: "d", Joined: 1}
)

// joinFixture is the ring change {a,b,c} -> {a,b,c,d}, with keys named
// after their holder on every old primary, and d's manager.
type joinFixture struct {
	src        *fakeSource
	live       *fakeLiveness
	r3, r4     *ring.Ring
	gains      map[uint32]string // partition -> replaced node
	partitions []uint32          // gained partitions, in order
	m          *Manager
	clk        *clock.Fake
	retryAfter time.Duration
}

func newJoinFixture(t *testing.T, perNode int, edit func(*Config)) *joinFixture {
	t.Helper()
	f := &joinFixture{src: newFakeSource(), live: newFakeLiveness()}
	f.r3 = mustRing(t, memA, memB, memC)
	f.r4 = mustRing(t, memA, memB, memC, memD)
	seedKeys(f.src, f.r3, perNode)
	f.gains = gained(f.r3, f.r4, "d")
	if len(f.gains) == 0 {
		t.Fatal("d gains no partition joining {a,b,c}")
	}
	for p, from := range f.gains {
		if from == "" {
			t.Fatalf("partition %d: gained without a replaced node", p)
		}
	}
	f.partitions = slices.Sorted(maps.Keys(f.gains))
	cfg := testConfig("d", f.src.node("d"), f.src, f.live)
	if edit != nil {
		edit(&cfg)
	}
	f.m = mustNew(t, cfg)
	f.clk, f.retryAfter = fakeClock(cfg), cfg.RetryAfter
	if !f.m.Fresh() {
		t.Fatal("Fresh() = false for a manager with no saved state")
	}
	if err := f.m.Update(context.Background(), f.r3, f.r4); err != nil {
		t.Fatalf("Update: %v", err)
	}
	return f
}

// others returns the old primaries of p other than the replaced one.
func (f *joinFixture) others(p uint32) []string {
	var out []string
	for _, n := range f.r3.Primaries(p) {
		if n != f.gains[p] {
			out = append(out, n)
		}
	}
	return out
}

func TestBootstrapMarksOwnedComplete(t *testing.T) {
	r := mustRing(t, memA, memB, memC, ring.Member{ID: "e"})
	src := newFakeSource()
	for _, self := range []string{"a", "e"} {
		t.Run(self, func(t *testing.T) {
			m := mustNew(t, testConfig(self, src.node(self), src, newFakeLiveness()))
			if err := m.Update(context.Background(), nil, r); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if m.Fresh() {
				t.Error("Fresh() = true after the first Update")
			}
			if m.Step() {
				t.Error("Step() = true: bootstrap planned a transfer")
			}
			owned := r.PrimaryPartitions(self)
			if len(owned) == 0 {
				t.Fatalf("%s owns no partition", self)
			}
			for p := range uint32(r.Partitions()) {
				own := slices.Contains(owned, p)
				if got := m.Incomplete(p); got {
					t.Errorf("Incomplete(%d) = true, want false", p)
				}
				if got := m.SourceComplete(p); got != own {
					t.Errorf("SourceComplete(%d) = %v, want %v (owner %v)", p, got, own, own)
				}
			}
			st := m.Status()
			if st.Waiting+st.InFlight+st.Stalled != 0 || len(st.Transfers) != 0 {
				t.Errorf("Status = %+v, want no transfer", st)
			}
			if got := m.Stats(); got != (Stats{}) {
				t.Errorf("Stats = %+v, want zero", got)
			}
		})
	}
}

func TestJoinPullsFromReplacedNode(t *testing.T) {
	f := newJoinFixture(t, 5, nil)
	m := f.m

	for p := range uint32(16) {
		_, gain := f.gains[p]
		if got := m.Incomplete(p); got != gain {
			t.Errorf("before: Incomplete(%d) = %v, want %v", p, got, gain)
		}
		if m.SourceComplete(p) {
			t.Errorf("before: SourceComplete(%d) = true for a node still pulling or not owning", p)
		}
	}
	st := m.Status()
	if st.Waiting != len(f.gains) || st.InFlight != 0 || st.Done != 0 || len(st.Transfers) != len(f.gains) {
		t.Fatalf("before: Status = waiting %d in-flight %d done %d transfers %d, want %d/0/0/%d",
			st.Waiting, st.InFlight, st.Done, len(st.Transfers), len(f.gains), len(f.gains))
	}
	for i, ts := range st.Transfers {
		if ts.Partition != f.partitions[i] || ts.State != "waiting" {
			t.Errorf("before: transfer %d = partition %d state %q, want %d waiting", i, ts.Partition, ts.State, f.partitions[i])
		}
	}
	// The planned transfer names the replaced node.
	m.mu.Lock()
	for p, from := range f.gains {
		if tr := m.pending[p]; tr == nil || tr.Replaced != from {
			t.Errorf("partition %d: planned %+v, want Replaced %q", p, tr, from)
		}
	}
	m.mu.Unlock()

	// Hold the first transfer's first page to see it in flight.
	first := f.partitions[0]
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.src.setHook(func(ctx context.Context, node string, p uint32, after []byte) error {
		if p == first {
			once.Do(func() { close(entered); <-release })
		}
		return nil
	})
	stepped := make(chan bool)
	go func() { stepped <- m.Step() }()
	<-entered
	st = m.Status()
	if st.InFlight != 1 || st.Waiting != len(f.gains)-1 || st.Done != 0 {
		t.Errorf("during: Status = waiting %d in-flight %d done %d, want %d/1/0",
			st.Waiting, st.InFlight, st.Done, len(f.gains)-1)
	}
	if ts := st.Transfers[0]; ts.Partition != first || ts.State != "running" || ts.Source != f.gains[first] {
		t.Errorf("during: first transfer = %+v, want partition %d running from %q", ts, first, f.gains[first])
	}
	close(release)
	if !<-stepped {
		t.Fatal("Step() = false with transfers pending")
	}
	st = m.Status()
	if st.Done != 1 || st.Waiting != len(f.gains)-1 || st.InFlight != 0 {
		t.Errorf("after one: Status = waiting %d in-flight %d done %d, want %d/0/1",
			st.Waiting, st.InFlight, st.Done, len(f.gains)-1)
	}

	if n := stepAll(m); n != len(f.gains)-1 {
		t.Errorf("Step ran %d more transfers, want %d", n, len(f.gains)-1)
	}
	var want uint64
	for p, from := range f.gains {
		got := keysOf(f.src, "d", p)
		exp := keysOf(f.src, from, p)
		want += uint64(len(exp))
		if !maps.Equal(got, exp) {
			t.Errorf("partition %d: d holds %v, want the keys of replaced %s: %v", p, sortedSet(got), from, sortedSet(exp))
		}
		for _, o := range f.others(p) {
			if n := f.src.pagesFrom(o, p); n != 0 {
				t.Errorf("partition %d: %d pages pulled from %s, want none (replaced %s is up)", p, n, o, from)
			}
		}
	}
	for p := range uint32(16) {
		_, gain := f.gains[p]
		if m.Incomplete(p) {
			t.Errorf("after: Incomplete(%d) = true", p)
		}
		if got := m.SourceComplete(p); got != gain {
			t.Errorf("after: SourceComplete(%d) = %v, want %v", p, got, gain)
		}
	}
	st = m.Status()
	if st.Done != uint64(len(f.gains)) || st.Waiting+st.InFlight+st.Stalled != 0 || len(st.Transfers) != 0 {
		t.Errorf("after: Status = %+v, want %d done and nothing pending", st, len(f.gains))
	}
	if s := m.Stats(); s.Keys != want || s.Completed != uint64(len(f.gains)) || s.Failures != 0 || s.Bytes == 0 {
		t.Errorf("Stats = %+v, want Keys %d, Completed %d, no failures, some bytes", s, want, len(f.gains))
	}
	if st.Keys != want {
		t.Errorf("Status.Keys = %d, want %d", st.Keys, want)
	}
}

func TestReplacedDownPullsUnionOfOthers(t *testing.T) {
	f := newJoinFixture(t, 4, nil)
	// Each old primary also holds a key no other node has.
	for p := range f.gains {
		for _, n := range f.r3.Primaries(p) {
			f.src.node(n).put(p, "only-"+n, n)
		}
	}
	for _, n := range []string{"a", "b", "c"} {
		f.live.setDown(n, false)
	}
	// Take down the replaced node of each partition, one partition at a
	// time, since different partitions replace different nodes.
	for _, p := range f.partitions {
		from := f.gains[p]
		f.live.setDown(from, true)
		if !f.m.Step() {
			t.Fatalf("partition %d: Step() = false with transfers pending", p)
		}
		f.live.setDown(from, false)
		if f.m.Incomplete(p) {
			t.Fatalf("partition %d: still incomplete with %s down: %+v", p, from, f.m.Status())
		}
		want := map[string]bool{}
		for _, o := range f.others(p) {
			maps.Copy(want, keysOf(f.src, o, p))
			if !f.src.node("d").has(p, "only-"+o) {
				t.Errorf("partition %d: key only %s held did not arrive", p, o)
			}
		}
		if got := keysOf(f.src, "d", p); !maps.Equal(got, want) {
			t.Errorf("partition %d: d holds %v, want the union of %v: %v", p, sortedSet(got), f.others(p), sortedSet(want))
		}
		if n := f.src.pagesFrom(from, p); n != 0 {
			t.Errorf("partition %d: %d pages pulled from down node %s", p, n, from)
		}
	}
}

func TestIncompleteSourceNotUsed(t *testing.T) {
	t.Run("replaced incomplete", func(t *testing.T) {
		f := newJoinFixture(t, 3, nil)
		p := f.partitions[0]
		from := f.gains[p]
		f.src.setIncomplete(from, p, true)
		if !f.m.Step() {
			t.Fatal("Step() = false with transfers pending")
		}
		if f.m.Incomplete(p) {
			t.Fatalf("partition %d still incomplete: %+v", p, f.m.Status())
		}
		// The replaced node's part is merged too (it may hold writes
		// nobody else has), but only the others complete the transfer.
		want := keysOf(f.src, from, p)
		for _, o := range f.others(p) {
			maps.Copy(want, keysOf(f.src, o, p))
		}
		if got := keysOf(f.src, "d", p); !maps.Equal(got, want) {
			t.Errorf("d holds %v, want the others' keys and the replaced part %v", sortedSet(got), sortedSet(want))
		}
	})

	t.Run("no usable source", func(t *testing.T) {
		f := newJoinFixture(t, 3, nil)
		p := f.partitions[0]
		for _, n := range f.r3.Primaries(p) {
			f.src.setIncomplete(n, p, true)
		}
		if !f.m.Step() {
			t.Fatal("Step() = false with transfers pending")
		}
		if !f.m.Incomplete(p) {
			t.Fatal("partition completed with no complete source")
		}
		from := f.gains[p]
		if got, want := keysOf(f.src, "d", p), keysOf(f.src, from, p); !maps.Equal(got, want) {
			t.Errorf("d holds %v, want only the replaced node's part %v (no other incomplete holder is merged)",
				sortedSet(got), sortedSet(want))
		}
		st := f.m.Status()
		ts := st.Transfers[0]
		if ts.Partition != p || ts.Error == "" || ts.State == "running" {
			t.Errorf("Status transfer = %+v, want partition %d not running with an error", ts, p)
		}
		// Run every other transfer; p is not retried before RetryAfter
		// passes, and is retried once it does.
		for _, q := range f.partitions[1:] {
			f.m.Step()
			if f.m.Incomplete(q) {
				t.Fatalf("partition %d incomplete", q)
			}
		}
		for _, n := range f.r3.Primaries(p) {
			f.src.setIncomplete(n, p, false)
		}
		if f.m.Step() {
			t.Fatalf("a transfer ran before RetryAfter passed: %+v", f.m.Status())
		}
		f.clk.Advance(f.retryAfter)
		if !f.m.Step() {
			t.Fatalf("no transfer retried once RetryAfter passed: %+v", f.m.Status())
		}
		if f.m.Incomplete(p) {
			t.Fatalf("partition %d incomplete after a retry with its source complete: %+v", p, f.m.Status())
		}
		// The replaced node's part was merged at the first try, so the
		// retry pulls the others, whole now.
		want := map[string]bool{}
		for _, n := range f.r3.Primaries(p) {
			maps.Copy(want, keysOf(f.src, n, p))
		}
		if got := keysOf(f.src, "d", p); !maps.Equal(got, want) {
			t.Errorf("d holds %v, want %v", sortedSet(got), sortedSet(want))
		}
	})
}

func TestLosingOwnership(t *testing.T) {
	t.Run("complete partition is handed off", func(t *testing.T) {
		r3 := mustRing(t, memA, memB, memC)
		r4 := mustRing(t, memA, memB, memC, memD)
		src := newFakeSource()
		m := mustNew(t, testConfig("a", src.node("a"), src, newFakeLiveness()))
		if err := m.Update(context.Background(), nil, r3); err != nil {
			t.Fatal(err)
		}
		if err := m.Update(context.Background(), r3, r4); err != nil {
			t.Fatal(err)
		}
		if m.Step() {
			t.Error("Step() = true: a node that only loses partitions has nothing to pull")
		}
		lost := 0
		for p := range uint32(16) {
			if m.Incomplete(p) {
				t.Errorf("Incomplete(%d) = true", p)
			}
			if !m.SourceComplete(p) {
				t.Errorf("SourceComplete(%d) = false; owned or handed off, it holds p whole", p)
			}
			if !slices.Contains(r4.Primaries(p), "a") {
				lost++
			}
		}
		if lost == 0 {
			t.Fatal("a loses no partition to d")
		}
		owed, delivered := m.Outgoing()
		if owed != lost || delivered != 0 {
			t.Errorf("Outgoing = %d, %d, want %d, 0", owed, delivered, lost)
		}
	})

	t.Run("pending transfer is dropped", func(t *testing.T) {
		f := newJoinFixture(t, 3, nil)
		// Hold d's first transfer in flight, then remove d.
		first := f.partitions[0]
		entered := make(chan struct{})
		var once sync.Once
		f.src.setHook(func(ctx context.Context, node string, p uint32, after []byte) error {
			if p == first {
				once.Do(func() { close(entered) })
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		stepped := make(chan bool)
		go func() { stepped <- f.m.Step() }()
		<-entered
		gone := memD
		gone.Removed = 2
		r5 := mustRing(t, memA, memB, memC, gone)
		if err := f.m.Update(context.Background(), f.r4, r5); err != nil {
			t.Fatal(err)
		}
		if !<-stepped {
			t.Fatal("Step() = false")
		}
		if f.m.Step() {
			t.Error("Step() = true after every pending transfer was dropped")
		}
		for p := range uint32(16) {
			// Its partial copy is kept for the new owners; it must not
			// count toward R wherever it is read.
			if _, was := f.gains[p]; was && !f.m.Incomplete(p) {
				t.Errorf("Incomplete(%d) = false for the partial copy d kept of a partition lost while pulling", p)
			}
			if f.m.SourceComplete(p) {
				t.Errorf("SourceComplete(%d) = true for a partition never received", p)
			}
		}
		st := f.m.Status()
		if len(st.Transfers) != 0 || st.Done != 0 {
			t.Errorf("Status = %+v, want no transfer and none done", st)
		}
	})
}

func TestOutgoingDelivered(t *testing.T) {
	r4 := mustRing(t, memA, memB, memC, ring.Member{ID: "d"})
	goneD := ring.Member{ID: "d", Removed: 1}
	r3 := mustRing(t, memA, memB, memC, goneD)
	src := newFakeSource()
	m := mustNew(t, testConfig("d", src.node("d"), src, newFakeLiveness()))
	if err := m.Update(context.Background(), nil, r4); err != nil {
		t.Fatal(err)
	}
	var moves []ring.Move
	for _, mv := range ring.Moves(r4, r3) {
		if mv.From == "d" {
			if mv.To == "" {
				t.Fatalf("move %+v has no new owner", mv)
			}
			moves = append(moves, mv)
		}
	}
	if len(moves) < 2 {
		t.Fatalf("d has %d moves out, want at least 2", len(moves))
	}
	// A new owner may finish pulling before d sees the ring change.
	m.NoteServed(moves[0].Partition, moves[0].To, true)
	if owed, delivered := m.Outgoing(); owed != 0 || delivered != 0 {
		t.Errorf("before Update: Outgoing = %d, %d, want 0, 0", owed, delivered)
	}
	if err := m.Update(context.Background(), r4, r3); err != nil {
		t.Fatal(err)
	}
	if owed, delivered := m.Outgoing(); owed != len(moves) || delivered != 1 {
		t.Errorf("after Update: Outgoing = %d, %d, want %d, 1", owed, delivered, len(moves))
	}
	for i, mv := range moves {
		m.NoteServed(mv.Partition, mv.To, false) // a page, not the end
		if owed, delivered := m.Outgoing(); delivered != max(1, i) {
			t.Fatalf("after NoteServed(%d, %s, false): Outgoing = %d, %d, want delivered %d",
				mv.Partition, mv.To, owed, delivered, max(1, i))
		}
		m.NoteServed(mv.Partition, mv.To, true)
	}
	// A pull by a node that is not owed anything does not count.
	m.NoteServed(moves[0].Partition, "zz", true)
	owed, delivered := m.Outgoing()
	if owed != len(moves) || delivered != owed {
		t.Errorf("Outgoing = %d, %d, want %d, %d", owed, delivered, len(moves), len(moves))
	}
	if st := m.Status(); st.Owed != owed || st.Delivered != delivered {
		t.Errorf("Status owed/delivered = %d/%d, want %d/%d", st.Owed, st.Delivered, owed, delivered)
	}
	for _, mv := range moves {
		if !m.SourceComplete(mv.Partition) {
			t.Errorf("SourceComplete(%d) = false for a partition handed off", mv.Partition)
		}
	}
}

// errorsIsAny reports whether err's message mentions want; the error text
// crosses Status as a string.
func errorsIsAny(msg string, want ...error) bool {
	for _, w := range want {
		if strings.Contains(msg, w.Error()) {
			return true
		}
	}
	return false
}

// TestOnCompleteCalledOncePerPartition checks that OnComplete hears of
// each gained partition once, after it stopped counting as incomplete,
// and of nothing else.
func TestOnCompleteCalledOncePerPartition(t *testing.T) {
	var mu sync.Mutex
	var heard []uint32
	var m *Manager
	f := newJoinFixture(t, 5, func(c *Config) {
		c.OnComplete = func(p uint32) {
			if m.Incomplete(p) {
				t.Errorf("OnComplete(%d) while the partition still counts as incomplete", p)
			}
			mu.Lock()
			heard = append(heard, p)
			mu.Unlock()
		}
	})
	m = f.m
	if n := stepAll(m); n != len(f.gains) {
		t.Fatalf("Step ran %d transfers, want %d", n, len(f.gains))
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(heard)
	if !slices.Equal(heard, f.partitions) {
		t.Errorf("OnComplete heard %v, want each gained partition once: %v", heard, f.partitions)
	}
}
