package replica

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// During a leave the new owner of a partition answers partially until it
// has pulled the partition; the node that left still holds it whole. A
// read with R = N asks the leaver in the partial owner's place, and sees
// its data; once the new owner answers whole, the leaver is not asked.
func TestLeaverStandsInForPartialOwner(t *testing.T) {
	for _, mode := range []ReadRepair{ReadRepairDigest, ReadRepairAll} {
		t.Run(mode.String(), func(t *testing.T) {
			c := newCluster(t, 3)
			const key, leaver = "k", "gone"
			pref := c.pref(key)
			_, v2 := stageVersions(pref[0])
			c.stores[leaver] = newFakeStore(leaver)
			for _, n := range []string{pref[0], pref[1], leaver} {
				c.stores[n].put(key, v2)
			}
			c.stores[pref[2]].partial.Store(true) // the new owner, pulling
			co := c.coordinator(pref[0], nil)
			all := opts(func(o *Options) { o.N, o.R, o.ReadRepair = 3, 3, mode })
			p := c.ring.Partition([]byte(key))

			var qe *QuorumError
			if _, err := co.Get(bg, []byte(key), all); !errors.As(err, &qe) {
				t.Fatalf("Get R=3 with %s partial and no leaver: err %v, want a QuorumError", pref[2], err)
			}

			co.SetLeavers(map[uint32][]string{p: {leaver}})
			var res Result
			var err error
			within(t, 10*time.Second, func() { res, err = co.Get(bg, []byte(key), all) })
			if err != nil {
				t.Fatalf("Get R=3 during the leave: %v", err)
			}
			if got := dataOf(res.Set); !slices.Equal(got, []string{"v2"}) {
				t.Errorf("Get R=3 during the leave = %q, want [v2]", got)
			}
			if !slices.Contains(res.Replicas, leaver) {
				t.Errorf("Result.Replicas = %v, want the leaver %s among them", res.Replicas, leaver)
			}

			// The new owner has pulled the partition: the leaver is not asked.
			c.stores[pref[2]].put(key, v2)
			c.stores[pref[2]].partial.Store(false)
			before := c.tr.fetchCalls(leaver) + c.tr.digestCalls(leaver)
			within(t, 10*time.Second, func() { res, err = co.Get(bg, []byte(key), all) })
			if err != nil {
				t.Fatalf("Get R=3 after the handoff: %v", err)
			}
			if after := c.tr.fetchCalls(leaver) + c.tr.digestCalls(leaver); after != before || slices.Contains(res.Replicas, leaver) {
				t.Errorf("leaver asked after the handoff: calls %d -> %d, replicas %v", before, after, res.Replicas)
			}

			// A leaver that is down is not counted on.
			c.stores[pref[2]].partial.Store(true)
			c.live.setDead(leaver, true)
			if _, err := co.Get(bg, []byte(key), all); !errors.As(err, &qe) {
				t.Fatalf("Get R=3 with %s partial and the leaver down: err %v, want a QuorumError", pref[2], err)
			}
		})
	}
}

// addLeavers puts live leavers first among the spares, once each, and
// never a node that is already a target.
func TestPlanAddLeavers(t *testing.T) {
	c := newCluster(t, 5)
	pref := c.pref("k")
	pl := makePlan(c.ring, []byte("k"), 3, pref[0], func(string) bool { return true })
	spares := slices.Clone(pl.spares)
	dead := func(n string) bool { return n != "x-dead" }
	pl.addLeavers([]string{"x", pref[1], "x", "x-dead", pref[4]}, dead)
	want := append([]string{"x"}, spares...)
	if !slices.Equal(pl.spares, want) {
		t.Errorf("spares = %v, want %v", pl.spares, want)
	}
}
