package replica

import (
	"errors"
	"slices"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

// stageVersions returns v1 and v2, v2 superseding v1, both written by node.
func stageVersions(node string) (v1, v2 vclock.Set) {
	v1 = vclock.NewSet(node, vclock.Value{Data: []byte("v1")})
	v2, err := v1.Update(v1.Context(), node, vclock.Value{Data: []byte("v2")})
	if err != nil {
		panic(err) // one node, counter 2: far from every limit
	}
	return v1, v2
}

// TestReadPartialReplica: N=3, R=2; one primary is a new owner answering
// partially, with an older set, before the two complete primaries. Its
// reply must not count, the read must return the latest write, and the
// partial replica is read-repaired like any other. A full read asks every
// primary and puts the spare (this node) in the partial one's place; a
// digest read asks two primaries and puts the third, its standby, there.
func TestReadPartialReplica(t *testing.T) {
	for _, mode := range []ReadRepair{ReadRepairAll, ReadRepairDigest} {
		t.Run(mode.String(), func(t *testing.T) { testReadPartialReplica(t, mode) })
	}
}

func testReadPartialReplica(t *testing.T, mode ReadRepair) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	v1, v2 := stageVersions(pref[0])
	c.stores[pref[0]].put(key, v2)
	c.stores[pref[1]].put(key, v1)
	c.stores[pref[1]].partial.Store(true)
	c.stores[pref[2]].put(key, v2)
	// The complete primaries answer only once the partial reply and the
	// replacement's read are in: counted, the partial one would meet R
	// with the replacement's copy.
	gate := make(chan struct{})
	c.tr.setFault(pref[0], fault{fetchGate: gate})
	c.tr.setFault(pref[2], fault{fetchGate: gate})
	co := c.coordinator(pref[3], nil) // the only spare

	var res Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = co.Get(bg, []byte(key), opts(func(o *Options) { o.ReadRepair = mode }))
	}()
	// A digest read fetches the partial replica's set before its standby
	// is asked, so count the replacement's read rather than the replies.
	replacement := func() bool { return c.stores[pref[3]].calls.Load() >= 1 }
	if mode == ReadRepairDigest {
		replacement = func() bool { return c.tr.digestCalls(pref[2]) >= 1 }
	}
	chorustest.Eventually(t, "the partial reply and the replacement's read", func() bool {
		return co.Stats().PartialReplies == 1 && replacement()
	})
	close(gate)
	<-done
	if err != nil {
		t.Fatalf("Get with %s partial: %v", pref[1], err)
	}
	if slices.Contains(res.Replicas, pref[1]) || len(res.Replicas) != 2 {
		t.Errorf("Result.Replicas %v: want 2 replicas, without the partial %s", res.Replicas, pref[1])
	}
	if !res.Set.Equal(v2) {
		t.Errorf("Get values %q, want the latest write [v2]", dataOf(res.Set))
	}
	if n := c.tr.fetchCalls(pref[3]); n != 0 {
		// The spare is this node: it is read through the Store.
		t.Errorf("%d transport fetches of the coordinator %s, want 0", n, pref[3])
	}
	chorustest.Eventually(t, "partial replica "+pref[1]+" repaired to v2", func() bool {
		return c.stores[pref[1]].get(key).Equal(v2)
	})
	if st := co.Stats(); st.PartialReplies != 1 {
		t.Errorf("Stats.PartialReplies %d, want 1", st.PartialReplies)
	}
}

// TestReadPartialNeedsSpare: one complete primary fails and one answers
// partially; the coordinator's own copy alone is not R=2. A spare fallback
// meets the quorum when there is one; without one the read fails with a
// QuorumError instead of answering from one replica plus partial data.
func TestReadPartialNeedsSpare(t *testing.T) {
	t.Run("spare", func(t *testing.T) {
		c := newCluster(t, 5)
		const key = "k"
		pref := c.pref(key)
		v1, v2 := stageVersions(pref[0])
		c.stores[pref[0]].put(key, v2)
		c.stores[pref[1]].put(key, v1)
		c.stores[pref[1]].partial.Store(true)
		c.tr.setFault(pref[2], fault{down: true})
		co := c.coordinator(pref[0], nil)

		res, err := co.Get(bg, []byte(key), opts(nil))
		if err != nil {
			t.Fatalf("Get with %s partial and %s failing: %v", pref[1], pref[2], err)
		}
		if !res.Sloppy || len(res.Replicas) != 2 || res.Replicas[0] != pref[0] ||
			!slices.Contains(pref[3:], res.Replicas[1]) {
			t.Errorf("Result Sloppy=%v Replicas %v: want sloppy, %s and a spare", res.Sloppy, res.Replicas, pref[0])
		}
		if !res.Set.Equal(v2) {
			t.Errorf("Get values %q, want [v2]", dataOf(res.Set))
		}

		_, err = co.Get(bg, []byte(key), opts(func(o *Options) { o.PR = 2 }))
		var qe *QuorumError
		if !errors.As(err, &qe) || qe.GotPrimary != 1 || qe.NeedPrimary != 2 {
			t.Fatalf("Get with PR=2: err %v, want a QuorumError with 1 of 2 primaries (a partial primary is not one)", err)
		}
	})
	t.Run("no spare", func(t *testing.T) {
		c := newCluster(t, 3)
		const key = "k"
		pref := c.pref(key)
		v1, v2 := stageVersions(pref[0])
		c.stores[pref[1]].put(key, v1)
		c.stores[pref[1]].partial.Store(true)
		c.stores[pref[2]].put(key, v2)
		c.tr.setFault(pref[2], fault{down: true})
		co := c.coordinator(pref[0], nil)

		res, err := co.Get(bg, []byte(key), opts(nil))
		var qe *QuorumError
		if !errors.As(err, &qe) {
			t.Fatalf("Get with %s partial, %s down and no spare: values %q, err %v; want a *QuorumError",
				pref[1], pref[2], dataOf(res.Set), err)
		}
		if qe.Need != 2 || qe.Got != 1 {
			t.Errorf("QuorumError %+v: want Got 1 (the coordinator) of Need 2", qe)
		}
		if !isPartial(err) || !errors.Is(err, errNodeDown) {
			t.Errorf("QuorumError %v: want the partial reply and the down node among its errors", err)
		}
		if st := co.Stats(); st.QuorumFailures != 1 || st.PartialReplies != 1 {
			t.Errorf("Stats: QuorumFailures %d PartialReplies %d, want 1 and 1", st.QuorumFailures, st.PartialReplies)
		}
	})
}

// TestReadLocalPartial: the coordinator's own copy is partial. With R=3 a
// spare must stand in for it; with no spare the read fails.
func TestReadLocalPartial(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members int
	}{{"spare", 4}, {"no spare", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.members)
			const key = "k"
			pref := c.pref(key)
			v1, v2 := stageVersions(pref[1])
			c.stores[pref[0]].put(key, v1)
			c.stores[pref[0]].partial.Store(true)
			c.stores[pref[1]].put(key, v2)
			c.stores[pref[2]].put(key, v2)
			co := c.coordinator(pref[0], nil)

			res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R = 3 }))
			if st := co.Stats(); st.PartialReplies != 1 {
				t.Errorf("Stats.PartialReplies %d, want 1", st.PartialReplies)
			}
			if tc.members == 3 {
				var qe *QuorumError
				// The tally fails as soon as the partial copy is in: two
				// replies cannot make three.
				if !errors.As(err, &qe) || qe.Need != 3 || qe.Got >= 3 || !isPartial(err) {
					t.Fatalf("Get with R=3 and the local copy partial: values %q, err %v; want a QuorumError short of 3, citing the partial copy",
						dataOf(res.Set), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get with R=3 and the local copy partial: %v", err)
			}
			if !res.Sloppy || slices.Contains(res.Replicas, pref[0]) || !slices.Contains(res.Replicas, pref[3]) {
				t.Errorf("Result Sloppy=%v Replicas %v: want sloppy through %s, without %s", res.Sloppy, res.Replicas, pref[3], pref[0])
			}
			if !res.Set.Equal(v2) {
				t.Errorf("Get values %q, want [v2]", dataOf(res.Set))
			}
			chorustest.Eventually(t, "the coordinator's partial copy repaired to v2", func() bool {
				return c.stores[pref[0]].get(key).Equal(v2)
			})
		})
	}
}

// TestReadPartialSiblingMerged: a partial replica holds a sibling the
// complete ones lack. It counts for data, not for the quorum: the read
// returns the sibling and read repair spreads it. R=3 on a clock that
// does not move makes the order certain: the spare that completes the
// quorum is only asked once the partial reply is in.
func TestReadPartialSiblingMerged(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	_, v2 := stageVersions(pref[0])
	fresh := vclock.NewSet(pref[1], vclock.Value{Data: []byte("fresh")}) // concurrent with v2
	c.stores[pref[0]].put(key, v2)
	c.stores[pref[1]].put(key, fresh)
	c.stores[pref[1]].partial.Store(true)
	c.stores[pref[2]].put(key, v2)
	co := c.coordinator(pref[0], nil)

	res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R = 3 }))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := vclock.Sync(v2, fresh)
	if vals := dataOf(res.Set); !res.Set.Equal(want) {
		t.Fatalf("Get values %q, want the partial replica's sibling too %q", vals, dataOf(want))
	}
	if slices.Contains(res.Replicas, pref[1]) || !slices.Contains(res.Replicas, pref[3]) {
		t.Errorf("Result.Replicas %v: want %s standing in for the partial %s", res.Replicas, pref[3], pref[1])
	}
	for _, node := range pref[:3] {
		chorustest.Eventually(t, node+" repaired to both siblings", func() bool {
			return c.stores[node].get(key).Equal(want)
		})
	}
	// The spare is repaired as the fallback it was: holding a hint for
	// the primary it replaced.
	chorustest.Eventually(t, "spare "+pref[3]+" keeps a hint for "+pref[1], func() bool {
		h := c.stores[pref[3]].hintsFor(pref[1])
		return len(h) == 1 && h[0].set.Equal(want)
	})
}

// TestWritePartialOwnerCounts: a partition's new owner stores writes; its
// acks count toward W as before.
func TestWritePartialOwnerCounts(t *testing.T) {
	c := newCluster(t, 3)
	const key = "k"
	pref := c.pref(key)
	c.stores[pref[1]].partial.Store(true)
	c.stores[pref[2]].partial.Store(true)
	co := c.coordinator(pref[0], nil)
	res, err := co.Put(bg, []byte(key), []byte("v"), vclock.Clock{}, opts(func(o *Options) { o.W, o.PW = 3, 3 }))
	if err != nil {
		t.Fatalf("Put with W=3 and two new owners: %v", err)
	}
	if len(res.Replicas) != 3 || res.Sloppy {
		t.Errorf("Result Sloppy=%v Replicas %v, want the 3 primaries", res.Sloppy, res.Replicas)
	}
}
