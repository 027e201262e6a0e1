package replica

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestMakePlan names nodes by their place in the key's preference list:
// P0..P2 are the primaries (n=3), P3 and up the fallbacks. A target is
// written "P0" for a primary and "P3>P1" for a fallback holding a hint for
// P1.
func TestMakePlan(t *testing.T) {
	tests := []struct {
		name        string
		members     int
		n           int
		self        int
		dead        []int
		wantTargets string
		wantSpares  string
		wantUnfill  int
	}{
		{"all alive: N primaries, no fallbacks", 5, 3, 0, nil, "P0 P1 P2", "P3 P4", 0},
		{"self a fallback, all alive: self not moved", 5, 3, 4, nil, "P0 P1 P2", "P3 P4", 0},
		{"one primary down: next fallback holds its hint", 5, 3, 0, []int{1}, "P0 P2 P3>P1", "P4", 0},
		{"down fallback is skipped", 5, 3, 0, []int{1, 3}, "P0 P2 P4>P1", "", 0},
		{"self not primary, a primary down: self taken first", 5, 3, 4, []int{2}, "P0 P1 P4>P2", "P3", 0},
		{"self is never considered down", 5, 3, 0, []int{0}, "P0 P1 P2", "P3 P4", 0},
		{"two primaries down, hints in primary order", 5, 3, 0, []int{1, 2}, "P0 P3>P1 P4>P2", "", 0},
		{"more dead primaries than spares: unfilled", 4, 3, 0, []int{1, 2}, "P0 P3>P1", "", 1},
		{"every other node dead: all unfilled", 5, 3, 0, []int{1, 2, 3, 4}, "P0", "", 2},
		{"n larger than the ring clamps", 4, 7, 0, nil, "P0 P1 P2 P3", "", 0},
		{"n=1", 3, 1, 1, nil, "P0", "P1 P2", 0},
		{"n=1 primary down, self a spare", 3, 1, 2, []int{0}, "P2>P0", "P1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, tt.members)
			for _, key := range []string{"alpha", "beta", "gamma"} {
				pref := c.pref(key)
				name := make(map[string]string, len(pref))
				for i, node := range pref {
					name[node] = fmt.Sprintf("P%d", i)
				}
				dead := make(map[string]bool)
				for _, i := range tt.dead {
					dead[pref[i]] = true
				}
				self := pref[tt.self]
				var asked []string
				pl := makePlan(c.ring, []byte(key), tt.n, self, func(node string) bool {
					asked = append(asked, node)
					return !dead[node]
				})

				if want := c.ring.Partition([]byte(key)); pl.partition != want {
					t.Errorf("key %q: partition %d, want %d", key, pl.partition, want)
				}
				var got []string
				for _, tg := range pl.targets {
					s := name[tg.node]
					if tg.primary != (tg.hintFor == "") {
						t.Errorf("key %q: target %s has primary=%v and hintFor=%q", key, s, tg.primary, tg.hintFor)
					}
					if tg.hintFor != "" {
						s += ">" + name[tg.hintFor]
					}
					got = append(got, s)
				}
				var spares []string
				for _, s := range pl.spares {
					spares = append(spares, name[s])
				}
				if g := strings.Join(got, " "); g != tt.wantTargets {
					t.Errorf("key %q (pref %v, self %s): targets %q, want %q", key, pref, self, g, tt.wantTargets)
				}
				if g := strings.Join(spares, " "); g != tt.wantSpares {
					t.Errorf("key %q (pref %v, self %s): spares %q, want %q", key, pref, self, g, tt.wantSpares)
				}
				if len(pl.unfilled) != tt.wantUnfill {
					t.Errorf("key %q: unfilled %d, want %d", key, len(pl.unfilled), tt.wantUnfill)
				}
				if slices.Contains(asked, self) {
					t.Errorf("key %q: makePlan asked liveness about self %s", key, self)
				}
				prim, fb := pl.counts()
				if prim+fb != len(pl.targets) {
					t.Errorf("key %q: counts %d+%d, want %d targets", key, prim, fb, len(pl.targets))
				}
				if prim+fb+len(pl.unfilled) != min(tt.n, tt.members) {
					t.Errorf("key %q: %d primaries + %d fallbacks + %d unfilled, want %d places",
						key, prim, fb, len(pl.unfilled), min(tt.n, tt.members))
				}
			}
		})
	}
}

// TestMakePlanFind checks that find reports exactly the plan's targets.
func TestMakePlanFind(t *testing.T) {
	c := newCluster(t, 5)
	pref := c.pref("k")
	pl := makePlan(c.ring, []byte("k"), 3, pref[0], func(node string) bool { return node != pref[1] })
	for _, node := range pref {
		tg, ok := pl.find(node)
		wantOK := node != pref[1] && node != pref[4]
		if ok != wantOK {
			t.Fatalf("find(%s) ok=%v, want %v (targets %+v)", node, ok, wantOK, pl.targets)
		}
		if ok && tg.node != node {
			t.Fatalf("find(%s) returned target %+v", node, tg)
		}
	}
}

// TestPlanStandBy: a digest read starts self first, then targets in
// order up to R, then primaries until PR is within reach; the rest wait
// as standbys, primaries first. Nodes are named as in TestMakePlan.
func TestPlanStandBy(t *testing.T) {
	tests := []struct {
		name         string
		self         int
		dead         []int
		r, pr        int
		wantStart    string
		wantStandbys string
	}{
		{"self a primary, R=2", 0, nil, 2, 0, "P0 P1", "P2"},
		{"self a primary, R=1", 0, nil, 1, 0, "P0", "P1 P2"},
		{"self the last primary: it goes first", 2, nil, 2, 0, "P2 P0", "P1"},
		{"self not a target", 4, nil, 2, 0, "P0 P1", "P2"},
		{"R=N: everyone starts", 0, nil, 3, 0, "P0 P1 P2", ""},
		{"self a fallback, PR=2: both live primaries start", 4, []int{0}, 2, 2, "P4>P0 P1 P2", ""},
		{"self a fallback, PR=1", 4, []int{0}, 2, 1, "P4>P0 P1", "P2"},
		{"a primary down, self a primary", 0, []int{1}, 2, 2, "P0 P2", "P3>P1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 5)
			pref := c.pref("k")
			name := make(map[string]string, len(pref))
			for i, node := range pref {
				name[node] = fmt.Sprintf("P%d", i)
			}
			dead := make(map[string]bool)
			for _, i := range tt.dead {
				dead[pref[i]] = true
			}
			pl := makePlan(c.ring, []byte("k"), 3, pref[tt.self], func(node string) bool { return !dead[node] })
			pl.standBy(pref[tt.self], tt.r, tt.pr)
			names := func(ts []target) string {
				var out []string
				for _, tg := range ts {
					s := name[tg.node]
					if tg.hintFor != "" {
						s += ">" + name[tg.hintFor]
					}
					out = append(out, s)
				}
				return strings.Join(out, " ")
			}
			if got := names(pl.targets); got != tt.wantStart {
				t.Errorf("started %q, want %q", got, tt.wantStart)
			}
			if got := names(pl.standbys); got != tt.wantStandbys {
				t.Errorf("standbys %q, want %q", got, tt.wantStandbys)
			}
		})
	}
}
