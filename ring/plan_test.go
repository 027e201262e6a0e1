package ring

import (
	"errors"
	"testing"
)

func TestApplyChanges(t *testing.T) {
	a, b := Member{ID: "a"}, Member{ID: "b", Joined: 2}
	gone := Member{ID: "g", Joined: 1, Removed: 3}
	hist := []Member{a, b, gone}
	tests := []struct {
		name    string
		changes []Change
		want    map[string][2]uint64 // id -> Joined, Removed
		err     bool
	}{
		{"join", []Change{{Op: OpJoin, Node: "c"}}, map[string][2]uint64{"c": {4, 0}, "a": {0, 0}}, false},
		{"leave", []Change{{Op: OpLeave, Node: "b"}}, map[string][2]uint64{"b": {2, 4}}, false},
		{"remove then join", []Change{{Op: OpRemove, Node: "a"}, {Op: OpJoin, Node: "c"}},
			map[string][2]uint64{"a": {0, 4}, "c": {5, 0}}, false},
		{"join known", []Change{{Op: OpJoin, Node: "b"}}, nil, true},
		{"join removed ID", []Change{{Op: OpJoin, Node: "g"}}, nil, true},
		{"join without ID", []Change{{Op: OpJoin}}, nil, true},
		{"leave unknown", []Change{{Op: OpLeave, Node: "zz"}}, nil, true},
		{"remove removed", []Change{{Op: OpRemove, Node: "g"}}, nil, true},
		{"empty ring", []Change{{Op: OpLeave, Node: "a"}, {Op: OpRemove, Node: "b"}}, nil, true},
		{"bad op", []Change{{Op: "rename", Node: "a"}}, nil, true},
	}
	for _, tt := range tests {
		got, err := ApplyChanges(hist, tt.changes)
		if tt.err {
			if !errors.Is(err, ErrBadChange) {
				t.Errorf("%s: err %v, want ErrBadChange", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for id, w := range tt.want {
			found := false
			for _, m := range got {
				if m.ID == id {
					found = true
					if m.Joined != w[0] || m.Removed != w[1] {
						t.Errorf("%s: %s Joined/Removed = %d/%d, want %d/%d", tt.name, id, m.Joined, m.Removed, w[0], w[1])
					}
				}
			}
			if !found {
				t.Errorf("%s: no record of %s", tt.name, id)
			}
		}
	}
	if hist[1].Removed != 0 {
		t.Error("ApplyChanges modified its input")
	}
}

// The plan of a change lists exactly ring.Moves with a receiver, sized by
// the sender's copy or, without one, by the largest old primary's copy,
// and its sums add up.
func TestPlanMoves(t *testing.T) {
	cfg := Config{Partitions: 16, Replicas: 3}
	hist := []Member{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d", Joined: 1}}
	prev, err := New(hist, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ApplyChanges(hist, []Change{{Op: OpLeave, Node: "d"}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := New(after, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Every node holds p+1 keys of 10 bytes in each partition it is a
	// primary of; d knows nothing of partition 0's size.
	size := func(node string, p uint32) (Size, bool) {
		for _, id := range prev.Primaries(p) {
			if id == node && !(node == "d" && p == 0) {
				return Size{Keys: uint64(p) + 1, Bytes: 10 * (uint64(p) + 1)}, true
			}
		}
		return Size{}, false
	}
	plan := PlanMoves(prev, next, size)
	moves := Moves(prev, next)
	if len(plan.Moves) != len(moves) || len(moves) != len(prev.PrimaryPartitions("d")) {
		t.Fatalf("plan has %d moves, ring.Moves %d, d is a primary of %d", len(plan.Moves), len(moves), len(prev.PrimaryPartitions("d")))
	}
	var keys, bytes uint64
	for i, pm := range plan.Moves {
		if pm.From != "d" || pm.To != moves[i].To || pm.Partition != moves[i].Partition {
			t.Errorf("move %d = %+v, want %+v from d", i, pm, moves[i])
		}
		if want := uint64(pm.Partition) + 1; pm.Keys != want || pm.Bytes != 10*want {
			t.Errorf("move of partition %d sized %+v, want %d keys", pm.Partition, pm.Size, want)
		}
		keys += pm.Keys
		bytes += pm.Bytes
	}
	if plan.Total != (Size{keys, bytes}) || plan.Partitions != len(moves) {
		t.Errorf("plan total %+v over %d partitions, want %d keys %d bytes over %d", plan.Total, plan.Partitions, keys, bytes, len(moves))
	}
	var in, out uint64
	for _, f := range plan.Nodes {
		in += f.In.Keys
		out += f.Out.Keys
		if f.Node == "d" && (f.PartitionsOut != len(moves) || f.PartitionsIn != 0) {
			t.Errorf("d's flow %+v, want %d out and none in", f, len(moves))
		}
	}
	if in != keys || out != keys {
		t.Errorf("node flows sum to %d in and %d out, want %d each", in, out, keys)
	}
	if empty := PlanMoves(prev, prev, size); len(empty.Moves) != 0 || empty.Total != (Size{}) {
		t.Errorf("plan of no change = %+v, want nothing", empty)
	}
}
