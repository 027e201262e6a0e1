package replica

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/vclock"
)

// sameEverywhere stores set on every node of nodes.
func (c *cluster) sameEverywhere(key string, set vclock.Set, nodes ...string) {
	for _, n := range nodes {
		c.stores[n].put(key, set)
	}
}

// waitReplies waits until co has received want replies, late ones
// included, so that call counts are final.
func waitReplies(t *testing.T, co *Coordinator, want uint64) {
	t.Helper()
	chorustest.Eventually(t, fmt.Sprintf("%d replies", want), func() bool { return co.Stats().Replies >= want })
}

// TestDigestReadEqualReplicas: replicas that agree send one set between
// them, and a read of R=2 asks two replicas only. When the coordinator is
// a replica, its own copy is the data and the next primary sends a
// digest; when it is not, the first primary sends the set and the second
// a digest. The third primary is not asked.
func TestDigestReadEqualReplicas(t *testing.T) {
	for _, self := range []int{0, 3} {
		t.Run(fmt.Sprintf("coordinator=pref[%d]", self), func(t *testing.T) {
			c := newCluster(t, 4)
			const key = "k"
			pref := c.pref(key)
			v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
			c.sameEverywhere(key, v, pref[:3]...)
			co := c.coordinator(pref[self], nil)
			res, err := co.Get(bg, []byte(key), opts(nil))
			if err != nil || !res.Set.Equal(v) {
				t.Fatalf("Get = %q, %v; want [v]", dataOf(res.Set), err)
			}
			remote := 1 // the replies that come through the transport
			if self == 3 {
				remote = 2
			}
			waitReplies(t, co, uint64(remote))
			for i, n := range pref[:3] {
				var wantFetch, wantDigest int64
				switch {
				case i == 0 && self == 3:
					wantFetch = 1
				case i == 1:
					wantDigest = 1
				}
				if f, d := c.tr.fetchCalls(n), c.tr.digestCalls(n); f != wantFetch || d != wantDigest {
					t.Errorf("%s: %d fetches and %d digest reads, want %d and %d", n, f, d, wantFetch, wantDigest)
				}
			}
			if st := co.Stats(); st.DigestReads != 1 || st.DigestMismatches != 0 || st.ReadRepairs != 0 {
				t.Errorf("stats: %d digest reads, %d mismatches, %d repairs; want 1, 0, 0", st.DigestReads, st.DigestMismatches, st.ReadRepairs)
			}
		})
	}
}

// TestDigestReadMismatch: a replica holding a sibling the others lack
// answers a digest that matches nothing; it is asked for its set, the
// answer has its sibling, and read repair brings every replica to the
// merge.
func TestDigestReadMismatch(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	_, v2 := stageVersions(pref[0])
	fresh := vclock.NewSet(pref[1], vclock.Value{Data: []byte("fresh")}) // concurrent with v2
	c.sameEverywhere(key, v2, pref[0], pref[2])
	c.stores[pref[1]].put(key, fresh)
	co := c.coordinator(pref[0], nil)

	// R=3: every replica counts, so the mismatch is resolved within the
	// read, whatever order the digests come in.
	res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R = 3 }))
	want := vclock.Sync(v2, fresh)
	if err != nil || !res.Set.Equal(want) {
		t.Fatalf("Get = %q, %v; want %q", dataOf(res.Set), err, dataOf(want))
	}
	if !slices.Contains(res.Replicas, pref[1]) {
		t.Errorf("Result.Replicas %v: want the mismatched %s counted by its set", res.Replicas, pref[1])
	}
	if f, d := c.tr.fetchCalls(pref[1]), c.tr.digestCalls(pref[1]); f != 1 || d != 1 {
		t.Errorf("%s: %d fetches, %d digest reads; want 1 and 1", pref[1], f, d)
	}
	if f := c.tr.fetchCalls(pref[2]); f != 0 {
		t.Errorf("%s, whose digest matched, was fetched %d times", pref[2], f)
	}
	for _, n := range pref[:3] {
		chorustest.Eventually(t, n+" repaired to both siblings", func() bool {
			return c.stores[n].get(key).Equal(want)
		})
	}
	if st := co.Stats(); st.DigestMismatches != 1 || st.ReadRepairs != 3 {
		t.Errorf("stats: %d mismatches, %d repairs; want 1 and 3", st.DigestMismatches, st.ReadRepairs)
	}
}

// TestDigestReadStaleDataReplica: the data replica is behind; the two
// others agree on the newer set, and one full read serves both.
func TestDigestReadStaleDataReplica(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	v1, v2 := stageVersions(pref[1])
	c.stores[pref[0]].put(key, v1)
	c.sameEverywhere(key, v2, pref[1], pref[2])
	co := c.coordinator(pref[0], nil)
	res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R = 3 }))
	if err != nil || !res.Set.Equal(v2) {
		t.Fatalf("Get = %q, %v; want [v2]", dataOf(res.Set), err)
	}
	chorustest.Eventually(t, "stale "+pref[0]+" repaired", func() bool { return c.stores[pref[0]].get(key).Equal(v2) })
	if n := c.tr.fetchCalls(pref[1]) + c.tr.fetchCalls(pref[2]); n < 1 || n > 2 {
		t.Errorf("%d full reads of the up-to-date replicas, want 1 or 2", n)
	}
	for _, n := range pref[1:3] {
		if r := c.tr.replicateCalls(n); r != 0 {
			t.Errorf("up-to-date %s got %d repairs", n, r)
		}
	}
}

// TestDigestReadDataReplicaFails: when the replica asked for the set
// fails or is silent, the replicas that sent digests are asked for their
// sets, and the read still answers with the data.
func TestDigestReadDataReplicaFails(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault fault
	}{{"down", fault{down: true}}, {"silent", fault{blackhole: true}}} {
		t.Run(f.name, func(t *testing.T) {
			c := newCluster(t, 5)
			const key = "k"
			pref := c.pref(key)
			v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
			c.sameEverywhere(key, v, pref[:3]...)
			c.tr.setFault(pref[0], f.fault)
			co := c.coordinator(pref[4], nil) // not a replica: pref[0] is the data replica
			var res Result
			var err error
			within(t, chorustest.Timeout, func() {
				if f.fault.blackhole {
					done := make(chan struct{})
					go func() {
						defer close(done)
						// A short timeout: Close waits for the silent call.
						res, err = co.Get(bg, []byte(key), opts(func(o *Options) { o.Timeout = 500 * time.Millisecond }))
					}()
					// The digest is in; the data replica says nothing.
					c.stepFallback(co, 1, DefaultConfig().FallbackAfter)
					<-done
					return
				}
				res, err = co.Get(bg, []byte(key), opts(nil))
			})
			if err != nil || !res.Set.Equal(v) {
				t.Fatalf("Get = %q, %v; want [v] from the replicas that sent digests", dataOf(res.Set), err)
			}
			if n := c.tr.fetchCalls(pref[1]) + c.tr.fetchCalls(pref[2]); n == 0 {
				t.Error("no replica that sent a digest was asked for its set")
			}
		})
	}
}

// TestDigestReadPartialDigest: a replica still receiving the partition
// answers a digest that matches the data; it does not count toward R, a
// spare stands in, and its set need not be fetched.
func TestDigestReadPartialDigest(t *testing.T) {
	c := newCluster(t, 4)
	const key = "k"
	pref := c.pref(key)
	v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
	c.sameEverywhere(key, v, pref[:3]...)
	c.stores[pref[1]].partial.Store(true)
	c.tr.setFault(pref[2], fault{down: true})
	co := c.coordinator(pref[0], nil)
	res, err := co.Get(bg, []byte(key), opts(nil))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !res.Set.Equal(v) || slices.Contains(res.Replicas, pref[1]) || !slices.Contains(res.Replicas, pref[3]) {
		t.Errorf("Get = %q from %v; want [v] from %s and the spare %s, not the partial %s",
			dataOf(res.Set), res.Replicas, pref[0], pref[3], pref[1])
	}
	// The partial digest may come after the answer; read repair takes it.
	chorustest.Eventually(t, "the partial reply", func() bool { return co.Stats().PartialReplies == 1 })
	if n := c.tr.fetchCalls(pref[1]); n != 0 {
		t.Errorf("partial %s fetched %d times; its digest matched the data", pref[1], n)
	}
}

// TestReadRepairAllFetchesEverySet: ReadRepairAll, or a Transport
// without FetchDigest, reads every set as before digest reads.
func TestReadRepairAllFetchesEverySet(t *testing.T) {
	for _, name := range []string{"option", "transport"} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 4)
			const key = "k"
			pref := c.pref(key)
			v := vclock.NewSet(pref[0], vclock.Value{Data: []byte("v")})
			c.sameEverywhere(key, v, pref[:3]...)
			o := opts(nil)
			var co *Coordinator
			if name == "option" {
				o.ReadRepair = ReadRepairAll
				co = c.coordinator(pref[0], nil)
			} else {
				co = c.coordinator(pref[0], func(cfg *Config) { cfg.Transport = fullOnly{c.tr} })
			}
			res, err := co.Get(bg, []byte(key), o)
			if err != nil || !res.Set.Equal(v) {
				t.Fatalf("Get = %q, %v; want [v]", dataOf(res.Set), err)
			}
			waitReplies(t, co, 2)
			for _, n := range pref[1:3] {
				if f, d := c.tr.fetchCalls(n), c.tr.digestCalls(n); f != 1 || d != 0 {
					t.Errorf("%s: %d fetches and %d digest reads, want 1 and 0", n, f, d)
				}
			}
			if st := co.Stats(); st.DigestReads != 0 {
				t.Errorf("Stats.DigestReads %d, want 0", st.DigestReads)
			}
		})
	}
}

// TestDigestReadAgreesWithFullRead runs reads over random replica states
// in both modes, with R=N so that every replica counts: the answers are
// equal, and equal to the merge of every replica's set.
func TestDigestReadAgreesWithFullRead(t *testing.T) {
	const seed = 20261202
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 100 {
		c := newCluster(t, 4)
		key := fmt.Sprintf("k%d", i)
		pref := c.pref(key)
		sets := randomReplicaSets(rng, pref[:3])
		want := vclock.Set{}
		for n, s := range sets {
			c.stores[n].put(key, s)
			want = vclock.Sync(want, s)
		}
		self := pref[rng.IntN(4)]
		co := c.coordinator(self, nil)
		for _, mode := range []ReadRepair{ReadRepairDigest, ReadRepairAll} {
			res, err := co.Get(bg, []byte(key), opts(func(o *Options) { o.R, o.ReadRepair = 3, mode }))
			if err != nil || !res.Set.Equal(want) {
				t.Fatalf("seed %d case %d (coordinator %s, %v): Get = %q, %v; want %q",
					seed, i, self, mode, dataOf(res.Set), err, dataOf(want))
			}
		}
	}
}

// randomReplicaSets gives each node a random set of one history: some
// behind, some with concurrent siblings, some without the key.
func randomReplicaSets(rng *rand.Rand, nodes []string) map[string]vclock.Set {
	sets := make(map[string]vclock.Set, len(nodes))
	var base vclock.Set
	for step := range rng.IntN(4) {
		w := nodes[rng.IntN(len(nodes))]
		next, err := base.Update(base.Context(), w, vclock.Value{Data: fmt.Appendf(nil, "s%d", step)})
		if err != nil {
			panic(err)
		}
		base = next
	}
	for _, n := range nodes {
		switch rng.IntN(4) {
		case 0: // without the key
		case 1: // a concurrent write of its own
			own, err := base.Update(vclock.Clock{}, n, vclock.Value{Data: []byte("own-" + n)})
			if err != nil {
				panic(err)
			}
			sets[n] = own
		default:
			if !base.IsEmpty() {
				sets[n] = base
			}
		}
	}
	return sets
}
