package inject

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

func TestScheduleIsSeededAndBounded(t *testing.T) {
	seed := chorustest.Seed(t)
	cfg := ScheduleConfig{Nodes: 5, Duration: 10 * time.Minute}
	a, err := Schedule(cfg, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Schedule(cfg, rand.New(rand.NewPCG(seed, 0)))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed %d: two plans from one seed differ", seed)
	}
	if len(a) < 40 {
		t.Fatalf("seed %d: %d faults in 10 min of 3-8 s faults and 2-5 s of quiet, want at least 40", seed, len(a))
	}
	seen := map[Kind]bool{}
	prevHeal := time.Duration(0)
	for _, f := range a {
		seen[f.Kind] = true
		hold := f.Heal - f.At
		if f.At-prevHeal < 2*time.Second || f.At-prevHeal > 5*time.Second || hold < 3*time.Second || hold > 8*time.Second {
			t.Fatalf("seed %d: %s: quiet %v before it or hold %v out of bounds", seed, f, f.At-prevHeal, hold)
		}
		if f.Heal > cfg.Duration-2*time.Second {
			t.Fatalf("seed %d: %s heals after the settle time", seed, f)
		}
		prevHeal = f.Heal
		for _, n := range f.Nodes {
			if n < 0 || n >= 5 {
				t.Fatalf("seed %d: %s strikes node %d of 5", seed, f, n)
			}
		}
		switch {
		case (f.Kind == Kill || f.Kind == Partition) && f.Variant != "bridge" && (len(f.Nodes) == 0 || len(f.Nodes) > 2):
			t.Fatalf("seed %d: %s: want one node or a minority", seed, f)
		case f.Kind == Clock && (f.ClockOffset == 0 || f.ClockOffset < -10*time.Minute || f.ClockOffset > 10*time.Minute):
			t.Fatalf("seed %d: %s: clock offset out of bounds", seed, f)
		case f.Kind == Disk && f.Variant != "full" && f.Variant != "slow":
			t.Fatalf("seed %d: %s: disk variant", seed, f)
		}
	}
	if len(seen) != len(Kinds) {
		t.Errorf("seed %d: kinds drawn %v, want all of %v", seed, seen, Kinds)
	}
}

func TestScheduleOnlyGivenKinds(t *testing.T) {
	plan, err := Schedule(ScheduleConfig{Nodes: 3, Duration: time.Minute, Kinds: []Kind{Pause}}, rand.New(rand.NewPCG(1, 0)))
	if err != nil || len(plan) == 0 {
		t.Fatalf("plan %v, %v", plan, err)
	}
	for _, f := range plan {
		if f.Kind != Pause {
			t.Fatalf("%s drawn from pause only", f)
		}
	}
	if plan, _ := Schedule(ScheduleConfig{Nodes: 3, Duration: 5 * time.Second}, rand.New(rand.NewPCG(1, 0))); len(plan) != 0 {
		t.Fatalf("a 5 s run fits no fault after quiet and before settle, got %v", plan)
	}
}

func TestScheduleCountDrawsThatMany(t *testing.T) {
	seed := chorustest.Seed(t)
	cfg := ScheduleConfig{Nodes: 5, Count: 100, Kinds: []Kind{Kill}}
	plan, err := Schedule(cfg, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if len(plan) != 100 {
		t.Fatalf("seed %d: %d faults, want Count 100", seed, len(plan))
	}
	for i, f := range plan {
		if f.Kind != Kill || (i > 0 && f.At <= plan[i-1].Heal) {
			t.Fatalf("seed %d: fault %d %s: not a kill after the one before", seed, i, f)
		}
	}
}

func TestScheduleConfigValidate(t *testing.T) {
	for _, c := range []ScheduleConfig{
		{Nodes: 2, Duration: time.Minute},
		{Nodes: 3},
		{Nodes: 3, Duration: time.Minute, Count: -1},
		{Nodes: 3, Duration: time.Minute, Kinds: []Kind{"flood"}},
		{Nodes: 3, Duration: time.Minute, HoldMin: 5 * time.Second, HoldMax: time.Second},
	} {
		if _, err := Schedule(c, rand.New(rand.NewPCG(1, 0))); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := ParseKind("partition"); err != nil {
		t.Error(err)
	}
	if _, err := ParseKind("flood"); err == nil {
		t.Error("ParseKind(flood) accepted")
	}
}
