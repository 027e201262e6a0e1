package replica

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

// calls returns, per node of nodes, its transport fetches plus digest
// reads.
func (c *cluster) calls(nodes ...string) []int64 {
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		out[i] = c.tr.fetchCalls(n) + c.tr.digestCalls(n)
	}
	return out
}

// TestDigestReadAsksR: with every replica healthy a digest read asks R
// replicas: R=1 on a replica sends no message, R=1 elsewhere one full
// read, R=3 a digest to each other primary.
func TestDigestReadAsksR(t *testing.T) {
	for _, tc := range []struct {
		name      string
		self, r   int
		wantCalls []int64 // to pref[0..2]
	}{
		{"replica R=1", 0, 1, []int64{0, 0, 0}},
		{"not a replica R=1", 3, 1, []int64{1, 0, 0}},
		{"replica R=3", 0, 3, []int64{0, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 4)
			const key = "k"
			pref := c.pref(key)
			v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
			c.sameEverywhere(key, v, pref[:3]...)
			co := c.coordinator(pref[tc.self], nil)
			res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R = tc.r }))
			if err != nil || !res.Set.Equal(v) || len(res.Replicas) != tc.r {
				t.Fatalf("Get = %q from %v, %v; want [v] from %d replicas", dataOf(res.Set), res.Replicas, err, tc.r)
			}
			var sent int64
			for _, n := range tc.wantCalls {
				sent += n
			}
			waitReplies(t, co, uint64(sent))
			if got := c.calls(pref[:3]...); !slices.Equal(got, tc.wantCalls) {
				t.Errorf("calls to the primaries %v, want %v", got, tc.wantCalls)
			}
			if st := co.Stats(); st.Replies != uint64(sent) {
				t.Errorf("Stats.Replies %d, want %d", st.Replies, sent)
			}
		})
	}
}

// TestDigestReadStandbyOnFailure: a started replica that fails, or
// answers a partial reply, hands its place to the standby primary, not
// to a spare: the read is not sloppy and the spare is never asked.
func TestDigestReadStandbyOnFailure(t *testing.T) {
	for _, how := range []string{"down", "partial"} {
		t.Run(how, func(t *testing.T) {
			c := newCluster(t, 4)
			const key = "k"
			pref := c.pref(key)
			v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
			c.sameEverywhere(key, v, pref[:3]...)
			if how == "down" {
				c.tr.setFault(pref[1], fault{down: true})
			} else {
				c.stores[pref[1]].partial.Store(true)
			}
			co := c.coordinator(pref[0], nil)
			res, err := co.Get(bg, []byte(key), opts(nil))
			if err != nil || !res.Set.Equal(v) {
				t.Fatalf("Get with %s %s = %q, %v; want [v]", pref[1], how, dataOf(res.Set), err)
			}
			if res.Sloppy || !slices.Equal(res.Replicas, []string{pref[0], pref[2]}) {
				t.Errorf("Result Sloppy=%v Replicas %v; want %s and the standby %s", res.Sloppy, res.Replicas, pref[0], pref[2])
			}
			if got := c.calls(pref[1:]...); !slices.Equal(got, []int64{1, 1, 0}) {
				t.Errorf("calls to %v: %v; want one each to the failed replica and the standby, none to the spare", pref[1:], got)
			}
		})
	}
}

// TestDigestReadStandbyOnSilence: a started replica that never answers
// makes the standby be asked once the fallback wait has passed, and not
// before (the clock does not move on its own).
func TestDigestReadStandbyOnSilence(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
	c.sameEverywhere(key, v, pref[:3]...)
	c.tr.setFault(pref[1], fault{blackhole: true})
	co := c.coordinator(pref[0], nil)
	var res Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A short timeout: Close waits for the silent call.
		res, err = co.Get(bg, []byte(key), opts(func(o *Options) { o.Timeout = 500 * time.Millisecond }))
	}()
	ctx, cancel := context.WithTimeout(bg, chorustest.Timeout)
	defer cancel()
	if err := c.clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("the read does not wait on its fallback timer: %v", err)
	}
	if n := c.tr.digestCalls(pref[2]); n != 0 {
		t.Errorf("standby %s asked %d times before the fallback wait passed", pref[2], n)
	}
	c.clk.Advance(DefaultConfig().FallbackAfter)
	within(t, chorustest.Timeout, func() { <-done })
	if err != nil || !res.Set.Equal(v) {
		t.Fatalf("Get with %s silent = %q, %v; want [v]", pref[1], dataOf(res.Set), err)
	}
	if res.Sloppy || !slices.Equal(res.Replicas, []string{pref[0], pref[2]}) {
		t.Errorf("Result Sloppy=%v Replicas %v; want %s and the standby %s", res.Sloppy, res.Replicas, pref[0], pref[2])
	}
	if n := c.tr.digestCalls(pref[3]); n != 0 {
		t.Errorf("spare %s asked %d times; the standby was enough", pref[3], n)
	}
}

// TestDigestReadPRWithFallback: this node is the fallback of a down
// primary, so the first R targets (itself and the first live primary)
// hold one primary; with PR=2 the other live primary starts as well and
// the read reaches both.
func TestDigestReadPRWithFallback(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	v := vclock.NewSet(pref[1], vclock.Value{Data: []byte("v")})
	c.sameEverywhere(key, v, pref[1:3]...)
	c.live.setDead(pref[0], true)
	co := c.coordinator(pref[3], nil)
	res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.PR = 2 }))
	if err != nil || !res.Set.Equal(v) {
		t.Fatalf("Get with PR=2 = %q, %v; want [v]", dataOf(res.Set), err)
	}
	if !slices.Contains(res.Replicas, pref[1]) || !slices.Contains(res.Replicas, pref[2]) {
		t.Errorf("Result.Replicas %v: want both live primaries %s and %s", res.Replicas, pref[1], pref[2])
	}
}
