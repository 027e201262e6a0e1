package repair

import (
	"slices"
	"testing"

	"github.com/chorusdb/chorus/ring"
)

// down is a Liveness with every node up but those listed.
type down map[string]bool

func (d down) Alive(node string) bool { return !d[node] }

// filling is a Filling of the listed partitions.
type filling map[uint32]bool

func (f filling) Incomplete(p uint32) bool { return f[p] }

func placementRing(t *testing.T, ids ...string) *ring.Ring {
	t.Helper()
	var ms []ring.Member
	for _, id := range ids {
		ms = append(ms, ring.Member{ID: id})
	}
	r, err := ring.New(ms, ring.Config{Partitions: 32, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func placement(r *ring.Ring, self string, d down, f filling) Placement {
	return Placement{Self: self, Ring: func() *ring.Ring { return r }, Liveness: d, Handoff: f}
}

// pairKey is an unordered replica pair of a partition.
type pairKey struct {
	p    uint32
	x, y string
}

func unordered(p uint32, a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{p, a, b}
}

// With every node up, every two primaries of a partition are exchanged by
// exactly one of them.
func TestPairsCoverEveryReplicaPairOnce(t *testing.T) {
	nodes := []string{"a", "b", "c", "d", "e"}
	r := placementRing(t, nodes...)
	seen := map[pairKey]int{}
	for _, self := range nodes {
		for _, pr := range placement(r, self, down{}, filling{}).Pairs() {
			if !slices.Contains(r.Primaries(pr.Partition), self) || !slices.Contains(r.Primaries(pr.Partition), pr.Peer) || pr.Peer == self {
				t.Fatalf("%s pairs with %s on partition %d; both must be distinct primaries", self, pr.Peer, pr.Partition)
			}
			seen[unordered(pr.Partition, self, pr.Peer)]++
		}
	}
	for p := range uint32(r.Partitions()) {
		prim := r.Primaries(p)
		for i := range prim {
			for _, other := range prim[i+1:] {
				if n := seen[unordered(p, prim[i], other)]; n != 1 {
					t.Errorf("partition %d, %s-%s exchanged by %d nodes, want 1", p, prim[i], other, n)
				}
			}
		}
	}
}

func TestPairsSkipDownPeersAndFillingPartitions(t *testing.T) {
	r := placementRing(t, "a", "b", "c", "d")
	all := placement(r, "a", down{}, filling{}).Pairs()
	if len(all) == 0 {
		t.Fatal("a exchanges nothing")
	}
	for _, pr := range placement(r, "a", down{"b": true}, filling{}).Pairs() {
		if pr.Peer == "b" {
			t.Fatalf("a pairs with b, which is down: %+v", pr)
		}
	}
	p := all[0].Partition
	for _, pr := range placement(r, "a", down{}, filling{p: true}).Pairs() {
		if pr.Partition == p {
			t.Fatalf("a exchanges partition %d, which handoff is still filling", p)
		}
	}
	if got := placement(nil, "a", down{}, filling{}).Pairs(); got != nil {
		t.Fatalf("Pairs without a ring = %v", got)
	}
}

// With every node up, each partition is collected by its first primary
// alone, which asks the other primaries.
func TestTargetsOnePerPartition(t *testing.T) {
	nodes := []string{"a", "b", "c", "d"}
	r := placementRing(t, nodes...)
	by := map[uint32]string{}
	for _, self := range nodes {
		for _, tg := range placement(r, self, down{}, filling{}).Targets() {
			if prev, ok := by[tg.Partition]; ok {
				t.Fatalf("partition %d collected by %s and %s", tg.Partition, prev, self)
			}
			by[tg.Partition] = self
			if prim := r.Primaries(tg.Partition); prim[0] != self || !slices.Equal(tg.Peers, prim[1:]) {
				t.Errorf("%s collects partition %d with peers %v; primaries %v", self, tg.Partition, tg.Peers, prim)
			}
		}
	}
	if len(by) != r.Partitions() {
		t.Fatalf("%d of %d partitions collected", len(by), r.Partitions())
	}
}

func TestTargetsNeedEveryPrimary(t *testing.T) {
	r := placementRing(t, "a", "b", "c", "d")
	all := placement(r, "a", down{}, filling{}).Targets()
	if len(all) == 0 {
		t.Fatal("a leads no partition")
	}
	first := all[0]
	for _, tg := range placement(r, "a", down{first.Peers[1]: true}, filling{}).Targets() {
		if slices.Contains(tg.Peers, first.Peers[1]) {
			t.Fatalf("partition %d collected while its primary %s is down", tg.Partition, first.Peers[1])
		}
	}
	for _, tg := range placement(r, "a", down{}, filling{first.Partition: true}).Targets() {
		if tg.Partition == first.Partition {
			t.Fatalf("partition %d collected while handoff fills it", tg.Partition)
		}
	}
	// Fewer members than N: no partition has every primary.
	if got := placement(placementRing(t, "a", "b"), "a", down{}, filling{}).Targets(); len(got) != 0 {
		t.Fatalf("a 2-node ring with N=3 collects %v", got)
	}
	if got := placement(nil, "a", down{}, filling{}).Targets(); got != nil {
		t.Fatalf("Targets without a ring = %v", got)
	}
}

// StartPairs lists every pair of the node's partitions, those its peers
// initiate included, with the same exclusions as Pairs.
func TestStartPairsListEveryPairOfTheNode(t *testing.T) {
	r := placementRing(t, "a", "b", "c", "d", "e")
	own := r.PrimaryPartitions("a")
	f := filling{own[0]: true}
	pl := placement(r, "a", down{"e": true}, f)
	var want []Pair
	for _, p := range own {
		if f[p] {
			continue
		}
		for _, peer := range r.Primaries(p) {
			if peer != "a" && peer != "e" {
				want = append(want, Pair{Partition: p, Peer: peer})
			}
		}
	}
	got := pl.StartPairs()
	if !slices.Equal(got, want) {
		t.Fatalf("StartPairs() = %v\nwant %v", got, want)
	}
	initiated := pl.Pairs()
	if len(initiated) >= len(got) {
		t.Errorf("Pairs() lists %d pairs, StartPairs() %d: want StartPairs to add those the peers initiate", len(initiated), len(got))
	}
	for _, pr := range initiated {
		if !slices.Contains(got, pr) {
			t.Errorf("pair %+v of Pairs() missing from StartPairs()", pr)
		}
	}
}
