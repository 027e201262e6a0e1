package handoff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chorusdb/chorus/ring"
)

// simCluster drives one Manager per node through a ring history, all
// nodes up, with the fake source answering Complete from each node's own
// manager.
type simCluster struct {
	t        *testing.T
	seed     uint64
	rng      *rand.Rand
	src      *fakeSource
	live     *fakeLiveness
	recs     []ring.Member
	managers map[string]*Manager
	ids      []string // every node ever, in creation order
	epoch    uint64
	next     int // next node number
	keyN     int
}

func newSimCluster(t *testing.T, seed uint64) *simCluster {
	c := &simCluster{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed)), src: newFakeSource(),
		live: newFakeLiveness(), managers: map[string]*Manager{}}
	c.src.complete = func(node string, p uint32) bool {
		m := c.managers[node]
		return m != nil && m.SourceComplete(p)
	}
	return c
}

func (c *simCluster) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("seed %d, epoch %d: %s", c.seed, c.epoch, fmt.Sprintf(format, args...))
}

func (c *simCluster) ring() *ring.Ring {
	r, err := ring.New(c.recs, ring.Config{Partitions: 16, Replicas: 3})
	if err != nil {
		c.fatalf("ring.New(%v): %v", c.recs, err)
	}
	return r
}

// addNode creates node's manager, fresh.
func (c *simCluster) addNode(joined uint64) string {
	id := fmt.Sprintf("n%d", c.next)
	c.next++
	c.recs = append(c.recs, ring.Member{ID: id, Joined: joined})
	cfg := testConfig(id, c.src.node(id), c.src, c.live)
	cfg.PageKeys = 1 + c.rng.IntN(4) // several pages per partition
	m, err := New(cfg)
	if err != nil {
		c.fatalf("New(%s): %v", id, err)
	}
	c.t.Cleanup(func() { m.Close() })
	c.managers[id] = m
	c.ids = append(c.ids, id)
	return id
}

func (c *simCluster) liveIDs() []string {
	var out []string
	for _, r := range c.recs {
		if r.Removed == 0 {
			out = append(out, r.ID)
		}
	}
	return out
}

// write puts new keys on a random non-empty subset of each partition's
// primaries, as writes acknowledged by fewer than N replicas leave them.
func (c *simCluster) write(r *ring.Ring) {
	for p := range uint32(r.Partitions()) {
		prim := r.Primaries(p)
		for range c.rng.IntN(4) {
			key := fmt.Sprintf("k%05d", c.keyN)
			c.keyN++
			mask := 1 + c.rng.IntN(1<<len(prim)-1)
			for i, n := range prim {
				if mask&(1<<i) != 0 {
					c.src.node(n).put(p, key, n)
				}
			}
		}
	}
}

// settle steps every manager until none has a transfer to run.
func (c *simCluster) settle() {
	for round := 0; ; round++ {
		if round > 100 {
			c.fatalf("transfers never settle")
		}
		ran := 0
		for _, id := range c.ids {
			ran += stepAll(c.managers[id])
		}
		if ran == 0 {
			return
		}
	}
}

// change applies one random join or removal and checks the handoff.
func (c *simCluster) change() {
	prev := c.ring()
	live := c.liveIDs()
	c.epoch++
	join := len(live) < 5 && (len(live) <= 3 || c.rng.IntN(2) == 0)
	var what string
	if join {
		what = "join " + c.addNode(c.epoch)
	} else {
		victim := live[c.rng.IntN(len(live))]
		for i := range c.recs {
			if c.recs[i].ID == victim {
				c.recs[i].Removed = c.epoch
			}
		}
		what = "remove " + victim
	}
	next := c.ring()

	// What each old primary held before the change.
	before := map[scanKey]map[string]bool{}
	for p := range uint32(prev.Partitions()) {
		for _, n := range prev.Primaries(p) {
			before[scanKey{n, p}] = keysOf(c.src, n, p)
		}
	}
	for _, id := range c.ids {
		if err := c.managers[id].Update(context.Background(), prev, next); err != nil {
			c.fatalf("%s: Update on %s: %v", what, id, err)
		}
	}
	c.settle()

	for _, id := range c.ids {
		m := c.managers[id]
		for p := range uint32(next.Partitions()) {
			if m.Incomplete(p) {
				c.fatalf("%s: %s still incomplete for partition %d: %+v", what, id, p, m.Status())
			}
		}
	}
	for _, mv := range ring.Moves(prev, next) {
		if mv.From == "" || mv.To == "" {
			continue
		}
		for k := range before[scanKey{mv.From, mv.Partition}] {
			if !c.src.node(mv.To).has(mv.Partition, k) {
				c.fatalf("%s: %s took partition %d from %s but lacks its key %s",
					what, mv.To, mv.Partition, mv.From, k)
			}
		}
	}
	for p := range uint32(next.Partitions()) {
		held := map[string]int{} // key -> old primaries holding it
		for _, n := range prev.Primaries(p) {
			for k := range before[scanKey{n, p}] {
				held[k]++
			}
		}
		for _, n := range next.Primaries(p) {
			if !c.managers[n].SourceComplete(p) {
				c.fatalf("%s: primary %s of partition %d not complete", what, n, p)
			}
		}
		for k, cnt := range held {
			have := 0
			for _, n := range next.Primaries(p) {
				if c.src.node(n).has(p, k) {
					have++
				}
			}
			if have < cnt {
				c.fatalf("%s: partition %d key %s on %d of the old primaries %v but %d of the new %v",
					what, p, k, cnt, prev.Primaries(p), have, next.Primaries(p))
			}
			if cnt == len(prev.Primaries(p)) && have != len(next.Primaries(p)) {
				c.fatalf("%s: partition %d key %s on every old primary but %d of the new %v",
					what, p, k, have, next.Primaries(p))
			}
		}
	}
}

// TestPropertyNoLossThroughHandoff replays random histories of joins and
// removals (3 to 5 members): after every change, once transfers settle
// with every node up, each new primary holds what the primary it replaced
// held, and no key held by k old primaries is held by fewer new ones.
func TestPropertyNoLossThroughHandoff(t *testing.T) {
	const histories, changes = 40, 6
	for i := range histories {
		seed := uint64(i) + 1
		c := newSimCluster(t, seed)
		n := 3 + c.rng.IntN(3)
		for range n {
			c.addNode(0)
		}
		r0 := c.ring()
		for _, id := range c.ids {
			if err := c.managers[id].Update(context.Background(), nil, r0); err != nil {
				c.fatalf("bootstrap Update on %s: %v", id, err)
			}
			if c.managers[id].Step() {
				c.fatalf("bootstrap planned a transfer on %s", id)
			}
		}
		for range changes {
			c.write(c.ring())
			c.change()
		}
		var done, keys uint64
		for _, id := range c.ids {
			s := c.managers[id].Stats()
			done += s.Completed
			keys += s.Keys
		}
		if done == 0 || keys == 0 {
			c.fatalf("history ran %d transfers pulling %d keys; the property was not exercised", done, keys)
		}
	}
}
