package nemesis

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modelStore is a tiny, correct, single-copy store with causal contexts:
// a context is the set of dots a key has seen, and a write removes the
// siblings its context covers and adds one under a new dot. The final
// state shows it as three agreeing replicas.
type modelStore struct {
	keys map[string]*modelKey
	dots int
}

type modelKey struct {
	sibs []modelSib
	seen []int
}

type modelSib struct {
	dot  int
	val  []byte
	tomb bool
}

func newModelStore() *modelStore { return &modelStore{keys: map[string]*modelKey{}} }

func (s *modelStore) key(k string) *modelKey {
	if s.keys[k] == nil {
		s.keys[k] = &modelKey{}
	}
	return s.keys[k]
}

func (k *modelKey) context() string {
	parts := make([]string, len(k.seen))
	for i, d := range k.seen {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// write applies a put or a delete (tomb) with context ctx and returns the
// new state's context and the new dot.
func (s *modelStore) write(key string, val []byte, tomb bool, ctx string) (string, int) {
	k := s.key(key)
	covered := map[int]bool{}
	for _, f := range strings.Split(ctx, ",") {
		if d, err := strconv.Atoi(f); err == nil {
			covered[d] = true
		}
	}
	k.sibs = slices.DeleteFunc(k.sibs, func(sb modelSib) bool { return covered[sb.dot] })
	s.dots++
	k.sibs = append(k.sibs, modelSib{dot: s.dots, val: val, tomb: tomb})
	k.seen = append(k.seen, s.dots)
	return k.context(), s.dots
}

func (s *modelStore) read(key string) ([]Sibling, string) {
	k := s.key(key)
	var sibs []Sibling
	for _, sb := range k.sibs {
		if !sb.tomb {
			sibs = append(sibs, Sibling{Value: sb.val})
		}
	}
	return sibs, k.context()
}

// final returns the store as the final state of three agreeing primaries
// and one fallback that holds nothing, for every key of ops (as a runner
// asks every node for every key the history touched).
func (s *modelStore) final(ops []Op) Final {
	f := Final{Keys: map[string][]Copy{}, Converged: true, ConvergeNanos: 1500}
	for _, op := range ops {
		if _, ok := f.Keys[op.Key]; ok {
			continue
		}
		f.Keys[op.Key] = []Copy{}
		k := s.keys[op.Key]
		if k == nil {
			for _, n := range []string{"n1", "n2", "n3", "n4"} {
				f.Keys[op.Key] = append(f.Keys[op.Key], Copy{Node: n, Replica: n != "n4"})
			}
			continue
		}
		key := op.Key
		var sibs []CopySibling
		for _, sb := range k.sibs {
			sibs = append(sibs, CopySibling{Dot: "m:" + strconv.Itoa(sb.dot), Value: sb.val, Tombstone: sb.tomb})
		}
		for _, n := range []string{"n1", "n2", "n3"} {
			f.Keys[key] = append(f.Keys[key], newCopy(n, true, sibs...))
		}
		f.Keys[key] = append(f.Keys[key], Copy{Node: "n4"})
	}
	return f
}

// newCopy builds a found copy whose digest is a hash of its siblings, so
// equal sets have equal digests.
func newCopy(node string, replica bool, sibs ...CopySibling) Copy {
	h := fnv.New64a()
	for _, s := range sibs {
		fmt.Fprintf(h, "%s|%x|%v;", s.Dot, s.Value, s.Tombstone)
	}
	return Copy{Node: node, Replica: replica, Found: true, Digest: fmt.Sprintf("%016x", h.Sum64()), Siblings: sibs}
}

// mutation is one injected store bug.
type mutation int

const (
	correct         mutation = iota
	dropOKWrite              // the first write-once put is acknowledged but not applied
	dropSetAdd               // the first set add is acknowledged but not applied
	doubleIncrement          // the last applied increment of a counter key is applied again under a new dot
	resurrect                // a deleted value comes back under its old dot
)

func (m mutation) String() string {
	return [...]string{"correct", "drop-ok-write", "drop-set-add", "double-increment", "resurrect"}[m]
}

// simulate runs every workload's generators against the model store,
// interleaving the clients' operations and injecting fail and info
// outcomes (an info write applied or not), and returns the history.
func simulate(seed uint64, steps int, m mutation) *History {
	rng := rand.New(rand.NewPCG(seed, 7))
	store := newModelStore()
	const clients = 12
	gens := make([]Client, clients)
	cfg := DefaultWorkloadConfig()
	for i := range gens {
		g, err := NewClient(Workloads[i%len(Workloads)], i, seed, cfg)
		if err != nil {
			panic(err)
		}
		gens[i] = g
	}
	h := &History{Meta: Meta{Seed: int64(seed), Nodes: []string{"n1", "n2", "n3", "n4"}, Workloads: Workloads}}
	inflight := make([]*Op, clients)
	last := make([]*Op, clients)
	var now, seq int64
	dropped := false
	lastApplied := map[string]Op{} // counter key -> last applied put
	for step := 0; step < steps; step++ {
		now += 1 + rng.Int64N(1000)
		i := rng.IntN(clients)
		if inflight[i] == nil {
			op := gens[i].Next(last[i]).Op(i)
			seq++
			op.Seq, op.Node, op.Invoke = seq, h.Meta.Nodes[rng.IntN(4)], now
			inflight[i] = &op
			continue
		}
		op := inflight[i]
		inflight[i] = nil
		op.Complete = now
		applied := outcome(rng, op)
		if !dropped && op.Outcome == OK && op.Kind == Put &&
			(m == dropOKWrite && op.Workload == WriteOnce || m == dropSetAdd && op.Workload == GrowSet) {
			applied, dropped = false, true
		}
		if applied {
			switch op.Kind {
			case Get:
				op.Siblings, op.RespContext = store.read(op.Key)
			case Put, Delete:
				op.RespContext, _ = store.write(op.Key, op.Value, op.Kind == Delete, op.Context)
				if op.Workload == Counter {
					lastApplied[op.Key] = *op
				}
			}
		}
		if op.Outcome != OK {
			op.Siblings, op.RespContext = nil, ""
		}
		h.Ops = append(h.Ops, *op)
		last[i] = op
	}
	// The run ends: operations still in flight are given up on (info)
	// and were never applied.
	for i, op := range inflight {
		if op != nil {
			op.Complete, op.Outcome, op.Error = now+1, Info, "run ended"
			h.Ops = append(h.Ops, *op)
			inflight[i] = nil
		}
	}
	slices.SortFunc(h.Ops, func(a, b Op) int { return cmpInt(a.Seq, b.Seq) })
	switch m {
	case doubleIncrement:
		for _, k := range slices.Sorted(maps.Keys(lastApplied)) {
			op := lastApplied[k]
			store.write(op.Key, op.Value, false, "") // a second coordination, blind
		}
	case resurrect:
		resurrectOne(h, store)
	}
	h.Faults = []Fault{
		{Kind: FaultKill, Nodes: []string{"n2"}, Start: now / 4, End: now / 2},
		{Kind: FaultPartition, Nodes: []string{"n3"}, Start: now / 3, End: 2 * now / 3, Note: "isolate one"},
	}
	h.Final = store.final(h.Ops)
	return h
}

// outcome draws op's outcome, and whether the store applies it: 5% fail
// (not applied), 5% info applied, 5% info not applied, the rest ok.
func outcome(rng *rand.Rand, op *Op) bool {
	switch r := rng.IntN(100); {
	case r < 5:
		op.Outcome, op.Error = Fail, "503 node starting"
		return false
	case r < 10:
		op.Outcome, op.Error = Info, "timeout (applied)"
	case r < 15:
		op.Outcome, op.Error = Info, "timeout (not applied)"
		return false
	default:
		op.Outcome = OK
	}
	return true
}

// resurrectOne brings back, under its old dot, the value of a put that an
// acknowledged delete covered.
func resurrectOne(h *History, store *modelStore) {
	for _, del := range h.Ops {
		if del.Workload != PutDelete || del.Kind != Delete || del.Outcome != OK {
			continue
		}
		for _, put := range h.Ops {
			if put.Key == del.Key && put.Kind == Put && put.Outcome == OK && put.RespContext == del.Context {
				k := store.key(put.Key)
				dot, _ := strconv.Atoi(put.RespContext[strings.LastIndex(put.RespContext, ",")+1:])
				k.sibs = append(k.sibs, modelSib{dot: dot, val: put.Value})
				return
			}
		}
	}
}

func TestModelHistoriesPass(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		h := simulate(seed, 3000, correct)
		r, err := Check(h, DefaultConfig())
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if r.Failed() {
			var b strings.Builder
			r.WriteText(&b)
			t.Fatalf("seed %d: a correct store's history failed:\n%s", seed, b.String())
		}
		if r.Ops.Info == 0 || r.Ops.Fail == 0 {
			t.Fatalf("seed %d: the history has no info or no fail ops (%+v): the test tests less than it says", seed, r.Ops)
		}
	}
}

// TestModelHistoriesSeeSiblings makes sure the simulation exercises
// concurrency: reads must return siblings sometimes.
func TestModelHistoriesSeeSiblings(t *testing.T) {
	const seed = 3
	r, err := Check(simulate(seed, 3000, correct), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, s := range r.SiblingCounts {
		most = max(most, s.Siblings)
	}
	if most < 2 {
		t.Fatalf("seed %d: no read saw two siblings (%+v)", seed, r.SiblingCounts)
	}
}

func TestModelMutationsCaught(t *testing.T) {
	for _, tc := range []struct {
		m    mutation
		want AnomalyKind
	}{
		{dropOKWrite, Lost},
		{dropSetAdd, SetElementLost},
		{doubleIncrement, DoubleApplied},
		{resurrect, Resurrected},
	} {
		for seed := uint64(1); seed <= 20; seed++ {
			r, err := Check(simulate(seed, 3000, tc.m), DefaultConfig())
			if err != nil {
				t.Fatalf("%v seed %d: %v", tc.m, seed, err)
			}
			if r.Count(tc.want) == 0 {
				var b strings.Builder
				r.WriteText(&b)
				t.Fatalf("%v seed %d: no %s anomaly found:\n%s", tc.m, seed, tc.want, b.String())
			}
		}
	}
}

// TestSetClientMovesOnWhenFull: once a read shows SetSize elements, the
// set client reads and writes a fresh key, so no operation carries an
// ever larger set.
func TestSetClientMovesOnWhenFull(t *testing.T) {
	c, err := NewClient(GrowSet, 0, 1, WorkloadConfig{Prefix: "p/", SharedKeys: 1, SetSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	first := c.Next(nil)
	full := value{ID: "x", Set: []string{"1.1", "1.2", "1.3"}}.encode()
	op := first.Op(0)
	op.Outcome, op.Siblings = OK, []Sibling{{Value: full}}
	next := c.Next(&op)
	if next.Kind != Get || next.Key == first.Key {
		t.Fatalf("after a full set at %q: %+v, want a read of a fresh key", first.Key, next)
	}
	op = next.Op(0)
	op.Outcome = OK // not found: an empty set
	put := c.Next(&op)
	if put.Kind != Put || put.Key != next.Key {
		t.Fatalf("after reading the fresh key: %+v, want a put to %q", put, next.Key)
	}
	if v, err := parseValue(put.Value); err != nil || len(v.Set) != 1 {
		t.Fatalf("the fresh key's first write %v (err %v), want one element", v, err)
	}
}
