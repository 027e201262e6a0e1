package inject

import (
	"context"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// runOn starts Run on a fake clock and returns the clock and a channel of
// its result.
func runOn(ctx context.Context, in *Injector, plan []Fault) (*clock.Fake, <-chan []Event, <-chan error) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	evc, errc := make(chan []Event, 1), make(chan error, 1)
	go func() {
		ev, err := Run(ctx, in, plan, clk, nil)
		evc <- ev
		errc <- err
	}()
	return clk, evc, errc
}

// drive moves clk by step whenever Run waits on it, until ctx ends. The
// plans' times are multiples of step, so every timer fires at its time.
func drive(ctx context.Context, clk *clock.Fake, step time.Duration) {
	for ctx.Err() == nil {
		if clk.BlockUntil(ctx, 1) != nil {
			return
		}
		clk.Advance(step)
	}
}

func TestRunFollowsThePlan(t *testing.T) {
	in, ft, _, _ := newTestInjector(t)
	plan := []Fault{
		{Kind: Pause, Nodes: []int{1}, At: 2 * time.Second, Heal: 5 * time.Second},
		{Kind: Kill, Nodes: []int{2}, At: 7 * time.Second, Heal: 9 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clk, evc, errc := runOn(ctx, in, plan)
	go drive(ctx, clk, time.Second)
	events, err := <-evc, <-errc
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("events %+v, want 2", events)
	}
	for i, ev := range events {
		if ev.Started != plan[i].At || ev.Healed != plan[i].Heal || ev.Err != "" {
			t.Errorf("event %d: started %v healed %v err %q, want %v-%v", i, ev.Started, ev.Healed, ev.Err, plan[i].At, plan[i].Heal)
		}
	}
	if !ft.healthy() || in.Active() {
		t.Fatal("faults left in force after the run")
	}
}

// TestRunHealsWhenCancelled cancels a run while a fault is in force: Run
// still heals it.
func TestRunHealsWhenCancelled(t *testing.T) {
	in, ft, fn, _ := newTestInjector(t)
	plan := []Fault{{Kind: Partition, Variant: "isolate", Nodes: []int{0}, At: time.Second, Heal: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk, evc, errc := runOn(ctx, in, plan)
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // the partition starts
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if fn.cut.Empty() {
		t.Fatal("the partition is not in force")
	}
	cancel()
	events, err := <-evc, <-errc
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || !fn.cut.Empty() || in.Active() || !ft.healthy() {
		t.Fatalf("after a cancelled run: events %v, cut %s, active %v", events, fn.cut, in.Active())
	}
}

// TestRunGoesOnAfterAFailedStart: a fault that fails to start is undone
// and reported, and the next one runs.
func TestRunGoesOnAfterAFailedStart(t *testing.T) {
	in, ft, _, _ := newTestInjector(t)
	ft.failOn = "kill 3" // the second node of the minority
	plan := []Fault{
		{Kind: Kill, Variant: "minority", Nodes: []int{1, 3}, At: time.Second, Heal: 2 * time.Second},
		{Kind: Pause, Nodes: []int{0}, At: 3 * time.Second, Heal: 4 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clk, evc, errc := runOn(ctx, in, plan)
	go drive(ctx, clk, 500*time.Millisecond)
	events, err := <-evc, <-errc
	if err == nil || len(events) != 2 || events[0].Err == "" || events[1].Err != "" {
		t.Fatalf("events %+v, err %v: want the first failed and reported, the second done", events, err)
	}
	if !ft.healthy() || in.Active() {
		t.Fatalf("faults left in force: %v", ft.log)
	}
}
