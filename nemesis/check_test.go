package nemesis

import (
	"strings"
	"testing"
	"time"
)

// b builds a hand-made history.
type b struct{ h History }

func newB() *b { return &b{h: History{Final: Final{Keys: map[string][]Copy{}, Converged: true}}} }

// op appends an operation; its Seq is its position.
func (x *b) op(o Op) *b {
	o.Seq = int64(len(x.h.Ops) + 1)
	if o.Node == "" {
		o.Node = "n1"
	}
	x.h.Ops = append(x.h.Ops, o)
	return x
}

func (x *b) put(wl, key string, proc int, v value, ctx string, inv, comp int64, out Outcome, resp string) *b {
	return x.op(Op{Process: proc, Workload: wl, Kind: Put, Key: key, Value: v.encode(), Context: ctx,
		Invoke: inv, Complete: comp, Outcome: out, RespContext: resp})
}

func (x *b) del(key string, proc int, ctx string, inv, comp int64, out Outcome) *b {
	return x.op(Op{Process: proc, Workload: PutDelete, Kind: Delete, Key: key, Context: ctx,
		Invoke: inv, Complete: comp, Outcome: out})
}

func (x *b) get(wl, key string, proc int, inv, comp int64, out Outcome, vals ...value) *b {
	o := Op{Process: proc, Workload: wl, Kind: Get, Key: key, Invoke: inv, Complete: comp, Outcome: out}
	for _, v := range vals {
		o.Siblings = append(o.Siblings, Sibling{Value: v.encode()})
	}
	return x.op(o)
}

// final sets key's copies on primaries n1..n3 to the same siblings.
func (x *b) final(key string, sibs ...CopySibling) *b {
	x.h.Final.Keys[key] = nil
	for _, n := range []string{"n1", "n2", "n3"} {
		x.h.Final.Keys[key] = append(x.h.Final.Keys[key], newCopy(n, true, sibs...))
	}
	return x
}

// finalOn sets one node's copy of key.
func (x *b) finalOn(key, node string, sibs ...CopySibling) *b {
	cs := x.h.Final.Keys[key]
	for i := range cs {
		if cs[i].Node == node {
			cs[i] = newCopy(node, true, sibs...)
			return x
		}
	}
	x.h.Final.Keys[key] = append(cs, newCopy(node, true, sibs...))
	return x
}

func sib(dot string, v value) CopySibling { return CopySibling{Dot: dot, Value: v.encode()} }

func tomb(dot string) CopySibling { return CopySibling{Dot: dot, Tombstone: true} }

func id(s string) value { return value{ID: s} }

func setv(idv, add string, elems ...string) value {
	return value{ID: idv, Add: add, Set: append(elems, add)}
}

func ctr(idv string, slots map[int]int64) value { return value{ID: idv, Slots: slots} }

func TestCheckTable(t *testing.T) {
	const k = "nemesis/k"
	tests := []struct {
		name string
		h    *b
		want map[AnomalyKind]int // kinds not named must be 0
	}{
		{"write-once: ok put on every replica, info puts present or absent", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			put(WriteOnce, k+"2", 2, id("b"), "", 0, 10, Info, "").
			put(WriteOnce, k+"3", 3, id("c"), "", 0, 10, Info, "").
			final(k, sib("n1:1", id("a"))).final(k+"2", sib("n1:2", id("b"))).final(k + "3"), nil},
		{"write-once: ok put missing on one replica is lost there", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			final(k, sib("n1:1", id("a"))).finalOn(k, "n3"),
			map[AnomalyKind]int{Lost: 1, ReplicasDisagree: 1}},
		{"write-once: ok put only as a tombstone is lost", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			final(k, tomb("n1:2")),
			map[AnomalyKind]int{Lost: 1}},
		{"write-once: a fallback's empty copy does not count", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			final(k, sib("n1:1", id("a"))).finalAdd(k, Copy{Node: "n4"}), nil},
		{"write-once: no final state for the key", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1"),
			map[AnomalyKind]int{MissingFinal: 1}},
		{"phantom: a value nobody wrote", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			final(k, sib("n1:1", id("a")), sib("n2:1", id("zz"))),
			map[AnomalyKind]int{Phantom: 1}},
		{"phantom: a value that is not a workload's", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, Info, "").
			final(k, CopySibling{Dot: "n1:1", Value: []byte("garbage")}),
			map[AnomalyKind]int{Phantom: 1}},
		{"phantom: the value of a failed put", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, Fail, "").
			final(k, sib("n1:1", id("a"))),
			map[AnomalyKind]int{Phantom: 1}},
		{"phantom: a read sees a value before its put was sent", newB().
			get(WriteOnce, k, 2, 0, 5, OK, id("a")).
			put(WriteOnce, k, 1, id("a"), "", 6, 10, OK, "c1").
			final(k, sib("n1:1", id("a"))),
			map[AnomalyKind]int{Phantom: 1}},
		{"concurrent read may see an info put", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 100, Info, "").
			get(WriteOnce, k, 2, 5, 6, OK, id("a")).
			final(k, sib("n1:1", id("a"))), nil},
		{"double-applied: one value under two dots", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			final(k, sib("n1:1", id("a")), sib("n2:1", id("a"))),
			map[AnomalyKind]int{DoubleApplied: 3}}, // once per replica
		{"double-applied: one value twice in a read", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, OK, "c1").
			get(WriteOnce, k, 2, 20, 30, OK, id("a"), id("a")).
			final(k, sib("n1:1", id("a"))),
			map[AnomalyKind]int{DoubleApplied: 1}},
		{"replicas disagree", newB().
			put(WriteOnce, k, 1, id("a"), "", 0, 10, Info, "").
			final(k, sib("n1:1", id("a"))).finalOn(k, "n2"),
			map[AnomalyKind]int{ReplicasDisagree: 1}},
		{"set: concurrent adds kept as siblings pass", newB().
			get(GrowSet, k, 1, 0, 5, OK).
			get(GrowSet, k, 2, 1, 6, OK).
			put(GrowSet, k, 1, setv("s1", "1.1"), "", 10, 20, OK, "c1").
			put(GrowSet, k, 2, setv("s2", "2.1"), "", 11, 21, OK, "c2").
			get(GrowSet, k, 3, 30, 40, OK, setv("s1", "1.1"), setv("s2", "2.1")).
			put(GrowSet, k, 3, setv("s3", "3.1", "1.1", "2.1"), "c3", 50, 60, Info, "").
			final(k, sib("n1:1", setv("s1", "1.1")), sib("n2:1", setv("s2", "2.1"))), nil},
		{"set: an acknowledged element lost", newB().
			put(GrowSet, k, 1, setv("s1", "1.1"), "", 10, 20, OK, "c1").
			put(GrowSet, k, 2, setv("s2", "2.1"), "", 11, 21, OK, "c2").
			final(k, sib("n2:1", setv("s2", "2.1"))),
			map[AnomalyKind]int{SetElementLost: 1}},
		{"set: an element never added is a phantom", newB().
			put(GrowSet, k, 1, setv("s1", "1.1", "9.9"), "", 10, 20, OK, "c1").
			final(k, sib("n1:1", setv("s1", "1.1", "9.9"))),
			map[AnomalyKind]int{Phantom: 1}},
		{"set: a failed add's element is a phantom", newB().
			put(GrowSet, k, 1, setv("s1", "1.1"), "", 10, 20, OK, "c1").
			put(GrowSet, k, 2, setv("s2", "2.1", "1.1"), "", 11, 21, Fail, "").
			put(GrowSet, k, 3, setv("s3", "3.1", "1.1", "2.1"), "", 30, 40, OK, "c3").
			final(k, sib("n1:2", setv("s3", "3.1", "1.1", "2.1"))),
			map[AnomalyKind]int{Phantom: 1}},
		{"put-delete: acknowledged delete, tombstone in the final state", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, OK).
			get(PutDelete, k, 1, 40, 50, OK).
			final(k, tomb("n1:2")), nil},
		{"put-delete: a read concurrent with the delete may see the value", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, OK).
			get(PutDelete, k, 2, 25, 50, OK, id("p")).
			final(k), nil},
		{"put-delete: resurrected in the final state", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, OK).
			final(k, sib("n1:1", id("p"))),
			map[AnomalyKind]int{Resurrected: 1}},
		{"put-delete: resurrected in a later read", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, OK).
			get(PutDelete, k, 2, 31, 50, OK, id("p")).
			final(k, tomb("n1:2")),
			map[AnomalyKind]int{Resurrected: 1}},
		{"put-delete: an info delete may or may not have happened", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, Info).
			get(PutDelete, k, 2, 40, 50, OK, id("p")).
			final(k, sib("n1:1", id("p"))), nil},
		{"put-delete: a failed delete leaves the put required", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "c1", 20, 30, Fail).
			final(k, tomb("n1:2")),
			map[AnomalyKind]int{Lost: 1}},
		{"put-delete: a delete not covering the put resurrects nothing", newB().
			put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
			del(k, 1, "", 20, 30, OK).
			get(PutDelete, k, 2, 40, 50, OK, id("p")).
			final(k, sib("n1:1", id("p")), tomb("n1:2")), nil},
		{"counter: ok and info increments, total within bounds", newB().
			put(Counter, k, 1, ctr("c1", map[int]int64{1: 1}), "", 0, 10, OK, "x").
			put(Counter, k, 2, ctr("c2", map[int]int64{2: 1}), "", 0, 10, OK, "x").
			put(Counter, k, 1, ctr("c3", map[int]int64{1: 2, 2: 1}), "x", 20, 30, Info, "").
			put(Counter, k, 2, ctr("c4", map[int]int64{1: 1, 2: 2}), "x", 20, 30, OK, "y").
			final(k, sib("n1:3", ctr("c3", map[int]int64{1: 2, 2: 1})), sib("n1:4", ctr("c4", map[int]int64{1: 1, 2: 2}))), nil},
		{"counter: an info increment that did not happen", newB().
			put(Counter, k, 1, ctr("c1", map[int]int64{1: 1}), "", 0, 10, OK, "x").
			put(Counter, k, 1, ctr("c2", map[int]int64{1: 2}), "x", 20, 30, Info, "").
			final(k, sib("n1:1", ctr("c1", map[int]int64{1: 1}))), nil},
		{"counter: a lost increment", newB().
			put(Counter, k, 1, ctr("c1", map[int]int64{1: 1}), "", 0, 10, OK, "x").
			put(Counter, k, 1, ctr("c2", map[int]int64{1: 2}), "x", 20, 30, OK, "y").
			final(k, sib("n1:1", ctr("c1", map[int]int64{1: 1}))),
			map[AnomalyKind]int{Lost: 1}},
		{"counter: a slot above anything its client wrote", newB().
			put(Counter, k, 1, ctr("c1", map[int]int64{1: 1}), "", 0, 10, OK, "x").
			put(Counter, k, 2, ctr("c2", map[int]int64{1: 2, 2: 1}), "", 20, 30, OK, "y").
			final(k, sib("n1:2", ctr("c2", map[int]int64{1: 2, 2: 1}))),
			map[AnomalyKind]int{DoubleApplied: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(&tc.h.h, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range AnomalyKinds {
				if got, want := r.Count(k), tc.want[k]; got != want {
					var sb strings.Builder
					r.WriteText(&sb)
					t.Errorf("%s: got %d, want %d\n%s", k, got, want, sb.String())
				}
			}
			if got, want := r.Failed(), len(tc.want) > 0; got != want {
				t.Errorf("Failed() = %v, want %v", got, want)
			}
		})
	}
}

func TestReadsMayBeStale(t *testing.T) {
	const k = "nemesis/k"
	h := newB().
		put(PutDelete, k, 1, id("p"), "", 0, 10, OK, "c1").
		del(k, 1, "c1", 20, 30, OK).
		get(PutDelete, k, 2, 31, 50, OK, id("p")).
		final(k, tomb("n1:2")).h
	cfg := DefaultConfig()
	cfg.ReadsMayBeStale = true
	r, err := Check(&h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		t.Fatalf("a stale read after the delete failed the check: %+v", r.Anomalies)
	}
	h.Final.Keys[k] = []Copy{newCopy("n1", true, sib("n1:1", id("p")))}
	if r, _ := Check(&h, cfg); r.Count(Resurrected) != 1 {
		t.Fatalf("final resurrection not caught with stale reads allowed: %+v", r.Anomalies)
	}
}

func (x *b) finalAdd(key string, c Copy) *b {
	x.h.Final.Keys[key] = append(x.h.Final.Keys[key], c)
	return x
}

func TestCounterTotals(t *testing.T) {
	const k = "nemesis/c"
	h := newB().
		put(Counter, k, 1, ctr("c1", map[int]int64{1: 1}), "", 0, 10, OK, "x").
		put(Counter, k, 2, ctr("c2", map[int]int64{2: 1}), "", 0, 10, Info, "").
		put(Counter, k, 2, ctr("c3", map[int]int64{2: 2}), "", 20, 30, Fail, "").
		final(k, sib("n1:1", ctr("c1", map[int]int64{1: 1})), sib("n2:1", ctr("c2", map[int]int64{2: 1}))).h
	r, err := Check(&h, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []CounterTotal{{Key: k, Total: 2, OK: 1, Info: 1}}
	if len(r.Counters) != 1 || r.Counters[0] != want[0] {
		t.Fatalf("counters %+v, want %+v", r.Counters, want)
	}
}

func TestSiblingCounts(t *testing.T) {
	const k = "nemesis/s"
	h := newB().
		put(GrowSet, k, 1, setv("s1", "1.1"), "", 0, 10, OK, "c").
		put(GrowSet, k, 2, setv("s2", "2.1"), "", 0, 10, OK, "c").
		get(GrowSet, k, 3, 20, 30, OK, setv("s1", "1.1"), setv("s2", "2.1")).
		get(GrowSet, k, 3, 40, 50, OK, setv("s1", "1.1"), setv("s2", "2.1")).
		get(GrowSet, k+"x", 3, 40, 50, OK).
		get(GrowSet, k, 3, 60, 70, Info).
		final(k, sib("a:1", setv("s1", "1.1")), sib("b:1", setv("s2", "2.1"))).final(k + "x").h
	r, err := Check(&h, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []SiblingCount{{GrowSet, 0, 1}, {GrowSet, 2, 2}}
	if len(r.SiblingCounts) != len(want) || r.SiblingCounts[0] != want[0] || r.SiblingCounts[1] != want[1] {
		t.Fatalf("sibling counts %+v, want %+v", r.SiblingCounts, want)
	}
}

func TestAvailability(t *testing.T) {
	const k = "nemesis/w"
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	x := newB()
	// No fault in [0, 100ms); n2 paused in [100ms, 400ms).
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: k + "1", Value: id("a").encode(), Node: "n1", Invoke: ms(0), Complete: ms(10), Outcome: OK})
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: k + "2", Value: id("b").encode(), Node: "n1", Invoke: ms(20), Complete: ms(120), Outcome: OK})
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: k + "3", Value: id("c").encode(), Node: "n2", Invoke: ms(150), Complete: ms(350), Outcome: Info}) // at the paused node: not counted
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: k + "4", Value: id("d").encode(), Node: "n3", Invoke: ms(130), Complete: ms(330), Outcome: Fail})
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: k + "5", Value: id("e").encode(), Node: "n3", Invoke: ms(340), Complete: ms(350), Outcome: OK})
	x.op(Op{Workload: WriteOnce, Kind: Get, Key: k + "5", Node: "n1", Invoke: ms(360), Complete: ms(500), Outcome: OK, Siblings: []Sibling{{Value: id("e").encode()}}})
	x.h.Faults = []Fault{{Kind: FaultPause, Nodes: []string{"n2"}, Start: ms(100), End: ms(400)}}
	x.final(k+"1", sib("n1:1", id("a"))).final(k+"2", sib("n1:2", id("b"))).final(k+"3").final(k+"4").final(k+"5", sib("n1:3", id("e")))
	x.h.Final.ConvergeNanos = ms(2500)
	r, err := Check(&x.h, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []Availability{
		{Fault: noFault, Sent: 2, OK: 2, Share: 1},
		{Fault: string(FaultPause), Sent: 3, OK: 2, Share: 2.0 / 3, LongestWriteGap: Gap{ms(120), ms(350)}},
	}
	if len(r.Availability) != len(want) || r.Availability[0] != want[0] || r.Availability[1] != want[1] {
		t.Fatalf("availability %+v, want %+v", r.Availability, want)
	}
	if g := (Gap{ms(120), ms(350)}); r.LongestWriteGap != g {
		t.Fatalf("longest write gap %+v, want %+v", r.LongestWriteGap, g)
	}
	if r.Failed() {
		t.Fatalf("failed without thresholds: %+v", r.Anomalies)
	}
	cfg := DefaultConfig()
	cfg.MaxWriteGap = 200 * time.Millisecond
	cfg.MaxConverge = 2 * time.Second
	r, err = Check(&x.h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(WriteGap) != 2 || r.Count(SlowConvergence) != 1 {
		t.Fatalf("with thresholds: %+v, want 2 write-gap (run, pause) and 1 slow-convergence", r.Anomalies)
	}
}

func TestCheckRejects(t *testing.T) {
	if _, err := Check(&History{}, Config{}); err == nil {
		t.Error("a zero config was accepted")
	}
	h := &History{Ops: []Op{{Seq: 1, Workload: "nope", Kind: Get, Key: "k", Outcome: OK}}}
	if _, err := Check(h, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown workload: err %v", err)
	}
}

func TestExamplesBounded(t *testing.T) {
	x := newB()
	for i := range 30 {
		x.put(WriteOnce, "k"+string(rune('a'+i)), 1, id("v"+string(rune('a'+i))), "", 0, 1, OK, "c")
	}
	for k := range x.h.Final.Keys {
		delete(x.h.Final.Keys, k)
	}
	for _, op := range x.h.Ops {
		x.final(op.Key)
	}
	cfg := DefaultConfig()
	cfg.MaxExamples = 5
	r, err := Check(&x.h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(Lost) != 30 || len(r.Anomalies[0].Examples) != 5 {
		t.Fatalf("lost %d with %d examples, want 30 with 5", r.Count(Lost), len(r.Anomalies[0].Examples))
	}
}

// TestHealConvergence: the probes after each heal land in the fault
// kind's row, and one slower than MaxConverge, or one that never
// converged, is an anomaly.
func TestHealConvergence(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	x := newB()
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: "nemesis/w1", Value: id("a").encode(), Node: "n1", Invoke: ms(0), Complete: ms(10), Outcome: OK})
	x.final("nemesis/w1", sib("n1:1", id("a")))
	x.h.Faults = []Fault{
		{Kind: FaultKill, Nodes: []string{"n2"}, Start: ms(100), End: ms(400), Converge: &HealConvergence{Keys: 10, Nanos: ms(1500), Converged: true}},
		{Kind: FaultKill, Nodes: []string{"n3"}, Start: ms(500), End: ms(900), Converge: &HealConvergence{Keys: 12, Nanos: ms(3500), Converged: true}},
		{Kind: FaultPause, Nodes: []string{"n3"}, Start: ms(1000), End: ms(1200), Converge: &HealConvergence{Keys: 4, Nanos: ms(9000)}},
		{Kind: FaultClock, Nodes: []string{"n3"}, Start: ms(1300), End: ms(1400)}, // not probed
	}
	x.h.Final.Converged = true
	r, err := Check(&x.h, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Availability{}
	for _, a := range r.Availability {
		rows[a.Fault] = a
	}
	if a := rows[string(FaultKill)]; a.Probed != 2 || a.LongestConverge != ms(3500) || a.NotConverged != 0 {
		t.Fatalf("kill row %+v: want 2 probed, slowest 3.5 s", a)
	}
	if a := rows[string(FaultPause)]; a.Probed != 1 || a.NotConverged != 1 {
		t.Fatalf("pause row %+v: want 1 probed, not converged", a)
	}
	if a := rows[string(FaultClock)]; a.Probed != 0 {
		t.Fatalf("clock row %+v: not probed", a)
	}
	if r.Count(SlowConvergence) != 0 {
		t.Fatalf("without MaxConverge: %+v", r.Anomalies)
	}
	cfg := DefaultConfig()
	cfg.MaxConverge = 2 * time.Second
	if r, err = Check(&x.h, cfg); err != nil {
		t.Fatal(err)
	}
	if r.Count(SlowConvergence) != 2 {
		t.Fatalf("with a 2 s bound: %+v, want 2 slow-convergence (3.5 s kill, unconverged pause)", r.Anomalies)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "2 of 2 (3.5s)") || !strings.Contains(text.String(), "0 of 1 (9s)") {
		t.Fatalf("text report lacks the convergence column:\n%s", text.String())
	}
}

// TestFinalConvergenceWithProbes: with probed heals, a slow final read
// is no anomaly, one that never converged still is.
func TestFinalConvergenceWithProbes(t *testing.T) {
	x := newB()
	x.op(Op{Workload: WriteOnce, Kind: Put, Key: "nemesis/w1", Value: id("a").encode(), Node: "n1", Invoke: 0, Complete: 10, Outcome: OK})
	x.final("nemesis/w1", sib("n1:1", id("a")))
	x.h.Faults = []Fault{{Kind: FaultKill, Nodes: []string{"n2"}, Start: 100, End: 400, Converge: &HealConvergence{Keys: 1, Nanos: 1, Converged: true}}}
	x.h.Final.Converged, x.h.Final.ConvergeNanos = true, int64(90*time.Second)
	cfg := DefaultConfig()
	cfg.MaxConverge = 30 * time.Second
	r, err := Check(&x.h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(SlowConvergence) != 0 {
		t.Fatalf("a 90 s final read after probed heals: %+v", r.Anomalies)
	}
	x.h.Final.Converged = false
	if r, err = Check(&x.h, cfg); err != nil || r.Count(SlowConvergence) != 1 {
		t.Fatalf("final state not converged: %+v, %v; want one slow-convergence", r.Anomalies, err)
	}
}
