package replica

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

var bg = context.Background()

func opts(edit func(*Options)) Options {
	o := DefaultOptions()
	if edit != nil {
		edit(&o)
	}
	return o
}

func TestPutThenGetAllUp(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	co := c.coordinator(pref[0], nil)

	put, err := co.Put(bg, []byte(key), []byte("v1"), vclock.Clock{}, opts(nil))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if put.Sloppy {
		t.Errorf("Put with every node up: Sloppy = true, replicas %v", put.Replicas)
	}
	if got := dataOf(put.Set); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("Put result values %q, want [v1]", got)
	}
	get, err := co.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := dataOf(get.Set); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("Get values %q, want [v1]", got)
	}
	if !get.Set.Context().Descends(put.Set.Context()) {
		t.Fatalf("Get context %s does not descend from the Put's %s",
			get.Set.Context().Format(), put.Set.Context().Format())
	}
	for _, node := range pref[:3] {
		chorustest.Eventually(t, "replica "+node+" holds the written set", func() bool {
			return c.stores[node].get(key).Equal(put.Set)
		})
	}
	if err := co.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, node := range pref[3:] {
		if s := c.stores[node].get(key); !s.IsEmpty() || c.stores[node].hintCount() != 0 {
			t.Errorf("non-replica %s holds %d siblings and %d hints, want none", node, s.Len(), c.stores[node].hintCount())
		}
	}
	if st := co.Stats(); st.Puts != 1 || st.Gets != 1 || st.Sloppy != 0 || st.QuorumFailures != 0 {
		t.Errorf("Stats %+v, want 1 put, 1 get, nothing sloppy or failed", st)
	}
}

// TestSloppyWriteDownPrimary: the coordinator is not a primary, a primary
// is down; the coordinator is the first fallback and keeps the hint.
func TestSloppyWriteDownPrimary(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	down := pref[1]
	c.live.setDead(down, true)
	c.tr.setFault(down, fault{down: true})
	co := c.coordinator(pref[4], nil)

	// W=3: the two live primaries alone cannot meet it, so the
	// coordinator's own hinted copy must count.
	res, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, opts(func(o *Options) { o.W = 3 }))
	if err != nil {
		t.Fatalf("Put with W=3 and %s down: %v", down, err)
	}
	if !res.Sloppy {
		t.Errorf("Result.Sloppy = false, replicas %v", res.Replicas)
	}
	hints := c.stores[pref[4]].hintsFor(down)
	if len(hints) != 1 || hints[0].key != key || !hints[0].set.Equal(res.Set) {
		t.Fatalf("fallback %s hints for %s: %+v, want one hint of %q holding the written set", pref[4], down, hints, key)
	}
	if st := co.Stats(); st.Sloppy != 1 || st.Hinted != 1 {
		t.Errorf("Stats: Sloppy %d Hinted %d, want 1 and 1", st.Sloppy, st.Hinted)
	}
	if n := c.tr.replicateCalls(down); n != 0 {
		t.Errorf("%d Replicate calls to the down primary %s, want 0", n, down)
	}
}

// TestSloppyWriteRemoteFallback: the coordinator is a primary; the down
// primary's share goes to the next fallback over the transport.
func TestSloppyWriteRemoteFallback(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	down := pref[2]
	c.live.setDead(down, true)
	c.tr.setFault(down, fault{down: true})
	co := c.coordinator(pref[0], nil)

	res, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, opts(func(o *Options) { o.W = 3 }))
	if err != nil {
		t.Fatalf("Put with W=3 and %s down: %v", down, err)
	}
	if !res.Sloppy || !slices.Contains(res.Replicas, pref[3]) {
		t.Errorf("Result Sloppy=%v replicas %v, want sloppy through %s", res.Sloppy, res.Replicas, pref[3])
	}
	if h := c.stores[pref[3]].hintsFor(down); len(h) != 1 || !h[0].set.Equal(res.Set) {
		t.Fatalf("fallback %s hints for %s: %+v, want the written set", pref[3], down, h)
	}
	if st := co.Stats(); st.Sloppy != 1 {
		t.Errorf("Stats.Sloppy %d, want 1", st.Sloppy)
	}
}

func TestStrictPrimaryWrite(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	down := pref[1]
	c.live.setDead(down, true)
	c.tr.setFault(down, fault{down: true})
	co := c.coordinator(pref[0], nil)

	_, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, opts(func(o *Options) { o.W, o.PW = 3, 3 }))
	var qe *QuorumError
	if !errors.As(err, &qe) {
		t.Fatalf("Put with PW=3 and %s down: err %v, want a *QuorumError", down, err)
	}
	if qe.Need != 3 || qe.NeedPrimary != 3 || qe.Got >= 3 || qe.GotPrimary >= 3 {
		t.Fatalf("QuorumError %+v: want Need 3, NeedPrimary 3 and fewer got", qe)
	}
	if st := co.Stats(); st.QuorumFailures != 1 {
		t.Errorf("Stats.QuorumFailures %d, want 1", st.QuorumFailures)
	}

	res, err := co.Put(bg, []byte(key), []byte("v2"), vclock.Clock{}, opts(func(o *Options) { o.W, o.PW = 3, 0 }))
	if err != nil {
		t.Fatalf("Put with PW=0 and %s down: %v", down, err)
	}
	if !res.Sloppy {
		t.Errorf("Put with PW=0: Sloppy false, replicas %v", res.Replicas)
	}
}

// TestSlowPrimaryReplaced: a primary that neither answers nor fails gets a
// fallback once FallbackAfter has passed, long before the request's
// timeout.
func TestSlowPrimaryReplaced(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	slow := pref[1]
	c.tr.setFault(slow, fault{blackhole: true})
	co := c.coordinator(pref[0], func(cfg *Config) {
		cfg.CloseTimeout = time.Millisecond // Close cancels the blackholed call
	})

	var res Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = co.Put(bg, []byte(key), []byte("v"), vclock.Clock{},
			opts(func(o *Options) { o.W, o.Timeout = 3, time.Minute }))
	}()
	// This node's copy and pref[2]'s answered; slow never will.
	c.stepFallback(co, 2, DefaultConfig().FallbackAfter)
	<-done
	if err != nil {
		t.Fatalf("Put with %s blackholed: %v", slow, err)
	}
	if !res.Sloppy || slices.Contains(res.Replicas, slow) {
		t.Fatalf("Result Sloppy=%v replicas %v: want sloppy, without %s", res.Sloppy, res.Replicas, slow)
	}
	if h := c.stores[pref[3]].hintsFor(slow); len(h) != 1 {
		t.Fatalf("first fallback %s has %d hints for %s, want 1", pref[3], len(h), slow)
	}
	if n := c.tr.replicateCalls(pref[4]); n != 0 {
		t.Fatalf("second fallback %s got %d Replicate calls: a replica that had answered was taken for silent", pref[4], n)
	}
}

// TestSlowPrimaryBeforeFallbackAfter: a primary that answers late, but
// within FallbackAfter, is not replaced however late in real time.
func TestSlowPrimaryBeforeFallbackAfter(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	gate := make(chan struct{})
	c.tr.setFault(pref[1], fault{replicateGate: gate})
	co := c.coordinator(pref[0], nil)
	var res Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = co.Put(bg, []byte(key), []byte("v"), vclock.Clock{},
			opts(func(o *Options) { o.W, o.Timeout = 3, time.Minute }))
	}()
	chorustest.Eventually(t, pref[1]+" holds the write back", func() bool { return c.tr.gateWaits.Load() == 1 })
	c.stepFallback(co, 2, DefaultConfig().FallbackAfter-time.Nanosecond)
	close(gate)
	<-done
	if err != nil || res.Sloppy {
		t.Fatalf("Put with %s answering just within FallbackAfter: Sloppy %v, replicas %v, err %v; want the 3 primaries",
			pref[1], res.Sloppy, res.Replicas, err)
	}
	for _, fb := range pref[3:] {
		if n := c.tr.replicateCalls(fb); n != 0 {
			t.Errorf("fallback %s got %d Replicate calls, want 0", fb, n)
		}
	}
}

// TestSlowPrimaryOneFallback checks that one silent primary is replaced by
// one fallback, not by every spare: the timer's replacement loop must not
// also replace the fallbacks it just launched, nor anything after. Map
// order varies between runs, so it runs several rounds.
func TestSlowPrimaryOneFallback(t *testing.T) {
	const rounds = 20
	for round := range rounds {
		c := newCluster(t, 5)
		const key = "k"
		pref := c.pref(key)
		slow := pref[1]
		c.tr.setFault(slow, fault{blackhole: true})
		// The first fallback answers only when the test lets it, so that
		// it is still waiting when the loop might visit it.
		gate := make(chan struct{})
		c.tr.setFault(pref[3], fault{replicateGate: gate})
		co := c.coordinator(pref[0], func(cfg *Config) {
			// Close cancels the blackholed call; every launched call is
			// counted on entry, so cancelling hides none.
			cfg.CloseTimeout = time.Millisecond
		})
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = co.Put(bg, []byte(key), []byte("v"), vclock.Clock{},
				opts(func(o *Options) { o.W, o.Timeout = 3, time.Minute }))
		}()
		fallbackAfter := DefaultConfig().FallbackAfter
		c.stepFallback(co, 2, fallbackAfter)
		chorustest.Eventually(t, "the first fallback "+pref[3]+" is asked", func() bool { return c.tr.gateWaits.Load() == 1 })
		c.clk.Advance(10 * fallbackAfter) // the fallback is late too
		close(gate)
		<-done
		if err != nil {
			t.Fatalf("round %d: Put: %v", round, err)
		}
		if err := co.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if n := c.tr.replicateCalls(pref[4]); n != 0 {
			t.Fatalf("round %d: second fallback %s got %d Replicate calls and holds %d hints for %s; want one fallback for one silent primary",
				round, pref[4], n, len(c.stores[pref[4]].hintsFor(slow)), slow)
		}
	}
}

func TestAllBlackholedDeadline(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	for _, node := range pref[1:] {
		c.tr.setFault(node, fault{blackhole: true})
	}
	co := c.coordinator(pref[0], nil)
	for _, op := range []string{"put", "get"} {
		var err error
		within(t, 10*time.Second, func() {
			o := opts(func(o *Options) { o.Timeout = 200 * time.Millisecond })
			if op == "put" {
				_, err = co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, o)
			} else {
				_, err = co.Get(bg, []byte(key), o)
			}
		})
		var qe *QuorumError
		if !errors.As(err, &qe) {
			t.Fatalf("%s with every other replica blackholed: err %v, want *QuorumError", op, err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v does not wrap context.DeadlineExceeded", op, err)
		}
		if qe.Got != 1 || qe.Need != 2 {
			t.Fatalf("%s: QuorumError %+v, want Got 1 (the coordinator) of Need 2", op, qe)
		}
	}
}

// TestReadRepair: a stale replica the read asked is repaired; an
// up-to-date one is not. With ReadRepairAll every replica is asked, so
// the third primary is repaired; a digest read with R=2 asks this node
// and the second primary only, so the stale one is the second primary.
func TestReadRepair(t *testing.T) {
	for _, mode := range []ReadRepair{ReadRepairAll, ReadRepairDigest} {
		for _, stale := range []string{"old", "missing"} {
			t.Run(mode.String()+"/"+stale, func(t *testing.T) {
				c := newCluster(t, 5)
				const key = "k"
				pref := c.pref(key)
				behind, current := pref[2], pref[1]
				if mode == ReadRepairDigest {
					behind, current = current, behind
				}
				v1 := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v1")})
				v2, err := v1.Update(v1.Context(), pref[0], vclock.Value{Data: []byte("v2")})
				if err != nil {
					t.Fatal(err)
				}
				c.stores[pref[0]].put(key, v2)
				c.stores[current].put(key, v2)
				if stale == "old" {
					c.stores[behind].put(key, v1)
				}
				co := c.coordinator(pref[0], nil)

				res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.ReadRepair = mode }))
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !res.Set.Equal(v2) {
					t.Fatalf("Get values %q context %s, want the newest set [v2]", dataOf(res.Set), res.Set.Context().Format())
				}
				chorustest.Eventually(t, "stale replica "+behind+" repaired", func() bool {
					return c.stores[behind].get(key).Equal(v2) && co.Stats().ReadRepairs > 0
				})
				if n := c.tr.replicateCalls(current); n != 0 {
					t.Errorf("up-to-date replica %s got %d repairs, want 0", current, n)
				}
			})
		}
	}
}

func TestConcurrentWritesSiblings(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	a := c.coordinator(pref[0], nil)
	b := c.coordinator(pref[1], nil)

	errs := make(chan error, 2)
	for i, co := range []*Coordinator{a, b} {
		go func() {
			_, err := co.Put(bg, []byte(key), []byte{'a' + byte(i)}, vclock.Clock{}, opts(nil))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Put: %v", err)
		}
	}
	got, err := a.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	vals := dataOf(got.Set)
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"a", "b"}) {
		t.Fatalf("Get after two blind writes: values %q, want siblings [a b]", vals)
	}

	if _, err := b.Put(bg, []byte(key), []byte("merged"), got.Set.Context(), opts(nil)); err != nil {
		t.Fatalf("Put with the read's context: %v", err)
	}
	for _, co := range []*Coordinator{a, b} {
		got, err := co.Get(bg, []byte(key), opts(nil))
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if vals := dataOf(got.Set); !slices.Equal(vals, []string{"merged"}) || got.Set.Len() != 1 {
			t.Fatalf("Get after resolving write: values %q (%d siblings), want [merged]", vals, got.Set.Len())
		}
	}
}

func TestDelete(t *testing.T) {
	c := newCluster(t, 5)
	const key = "k"
	pref := c.pref(key)
	a := c.coordinator(pref[0], nil)
	b := c.coordinator(pref[2], nil)

	if _, err := a.Put(bg, []byte(key), []byte("v1"), vclock.Clock{}, opts(nil)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	read, err := a.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := a.Delete(bg, []byte(key), read.Set.Context(), opts(nil)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got, err := a.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get after Delete: %v", err)
	}
	if !got.Set.Deleted() || got.Set.Context().IsEmpty() || len(got.Set.Values()) != 0 {
		t.Fatalf("Get after Delete: Deleted=%v values %q context %s, want deleted with a context",
			got.Set.Deleted(), dataOf(got.Set), got.Set.Context().Format())
	}
	if !got.Set.Context().Descends(read.Set.Context()) {
		t.Fatalf("tombstone context %s does not descend from %s", got.Set.Context().Format(), read.Set.Context().Format())
	}

	// A blind write beside the delete, from another coordinator, is
	// concurrent with it and survives.
	if _, err := b.Put(bg, []byte(key), []byte("v2"), vclock.Clock{}, opts(nil)); err != nil {
		t.Fatalf("concurrent Put: %v", err)
	}
	got, err = a.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Set.Deleted() || !slices.Equal(dataOf(got.Set), []string{"v2"}) {
		t.Fatalf("Get after delete and concurrent put: Deleted=%v values %q, want live [v2]", got.Set.Deleted(), dataOf(got.Set))
	}
	if st := a.Stats(); st.Deletes != 1 {
		t.Errorf("Stats.Deletes %d, want 1", st.Deletes)
	}
}

func TestInvalidOptions(t *testing.T) {
	c := newCluster(t, 3)
	const key = "k"
	pref := c.pref(key)
	co := c.coordinator(pref[0], nil)
	tests := []struct {
		name string
		o    Options
	}{
		{"R > N", opts(func(o *Options) { o.R = 4 })},
		{"W > N", opts(func(o *Options) { o.W = 4 })},
		{"N > ring size", opts(func(o *Options) { o.N = 4 })},
		{"PW > W", opts(func(o *Options) { o.PW = 3 })},
		{"no timeout", opts(func(o *Options) { o.Timeout = 0 })},
	}
	for _, tt := range tests {
		_, perr := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, tt.o)
		_, derr := co.Delete(bg, []byte(key), vclock.Clock{}, tt.o)
		_, gerr := co.Get(bg, []byte(key), tt.o)
		for op, err := range map[string]error{"put": perr, "delete": derr, "get": gerr} {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("%s: %s: err %v, want ErrInvalidOptions", tt.name, op, err)
			}
		}
	}
	for _, node := range c.ids {
		if n := c.stores[node].calls.Load(); n != 0 {
			t.Errorf("store %s: %d calls after rejected requests, want 0", node, n)
		}
		if n := c.tr.replicateCalls(node) + c.tr.fetchCalls(node); n != 0 {
			t.Errorf("transport: %d calls to %s after rejected requests, want 0", n, node)
		}
	}
}

func TestNoRing(t *testing.T) {
	c := newCluster(t, 3)
	cfg := DefaultConfig()
	cfg.Self, cfg.Store, cfg.Transport, cfg.Liveness = "n1", c.stores["n1"], c.tr, c.live
	co, err := NewCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Put(bg, []byte("k"), []byte("v"), vclock.Clock{}, opts(nil)); !errors.Is(err, ErrNoRing) {
		t.Fatalf("Put before SetRing: %v, want ErrNoRing", err)
	}
}

func TestClosed(t *testing.T) {
	c := newCluster(t, 3)
	co := c.coordinator("n1", nil)
	if err := co.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := co.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	o := opts(nil)
	if _, err := co.Put(bg, []byte("k"), []byte("v"), vclock.Clock{}, o); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, err := co.Delete(bg, []byte("k"), vclock.Clock{}, o); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete after Close: %v, want ErrClosed", err)
	}
	if _, err := co.Get(bg, []byte("k"), o); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if n := c.stores["n1"].calls.Load(); n != 0 {
		t.Errorf("%d store calls after Close, want 0", n)
	}
}

// TestCloseWaitsForReplication: Close lets a slow replica's replication
// finish.
func TestCloseWaitsForReplication(t *testing.T) {
	c := newCluster(t, 3)
	const key = "k"
	pref := c.pref(key)
	c.tr.setFault(pref[2], fault{delay: 100 * time.Millisecond})
	co := c.coordinator(pref[0], nil)
	res, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, opts(nil))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	within(t, 10*time.Second, func() { co.Close() })
	if n := c.tr.inFlight.Load(); n != 0 {
		t.Fatalf("%d transport calls still in flight after Close", n)
	}
	if !c.stores[pref[2]].get(key).Equal(res.Set) {
		t.Fatalf("slow replica %s lacks the write after Close: Close did not wait for replication", pref[2])
	}
}

// TestCloseCancelsReplication: after CloseTimeout, Close cancels what is
// left and still waits for it to end.
func TestCloseCancelsReplication(t *testing.T) {
	c := newCluster(t, 3)
	const key = "k"
	pref := c.pref(key)
	c.tr.setFault(pref[2], fault{blackhole: true})
	co := c.coordinator(pref[0], func(cfg *Config) { cfg.CloseTimeout = 50 * time.Millisecond })
	if _, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{},
		opts(func(o *Options) { o.Timeout = time.Minute })); err != nil {
		t.Fatalf("Put: %v", err)
	}
	within(t, 10*time.Second, func() { co.Close() })
	if n := c.tr.inFlight.Load(); n != 0 {
		t.Fatalf("%d transport calls still in flight after Close", n)
	}
	if n := c.tr.replicateCalls(pref[2]); n != 1 {
		t.Fatalf("%d Replicate calls to %s, want 1", n, pref[2])
	}
}

func TestReadRepairsBound(t *testing.T) {
	c := newCluster(t, 3)
	const key = "k"
	pref := c.pref(key)
	v1 := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v1")})
	c.stores[pref[0]].put(key, v1)
	c.stores[pref[1]].put(key, v1)
	gate := make(chan struct{})
	c.tr.setFault(pref[2], fault{replicateGate: gate})
	co := c.coordinator(pref[0], func(cfg *Config) { cfg.ReadRepairs = 1 })
	defer close(gate) // runs before the Cleanup Close

	o := opts(func(o *Options) { o.R = 3 })
	if _, err := co.Get(bg, []byte(key), o); err != nil {
		t.Fatalf("first Get: %v", err)
	}
	chorustest.Eventually(t, "the first repair blocks at "+pref[2], func() bool { return c.tr.gateWaits.Load() == 1 })
	res, err := co.Get(bg, []byte(key), o)
	if err != nil {
		t.Fatalf("second Get: %v", err)
	}
	if !res.Set.Equal(v1) {
		t.Fatalf("second Get values %q, want [v1]", dataOf(res.Set))
	}
	if st := co.Stats(); st.ReadRepairsDropped != 1 || st.ReadRepairs != 0 {
		t.Fatalf("Stats: ReadRepairsDropped %d ReadRepairs %d, want 1 and 0", st.ReadRepairsDropped, st.ReadRepairs)
	}
	if n := c.tr.replicateCalls(pref[2]); n != 1 {
		t.Fatalf("%d repairs sent to %s, want 1 (the second was dropped)", n, pref[2])
	}
}
