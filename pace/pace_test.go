package pace

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestReserve(t *testing.T) {
	type step struct {
		at       time.Duration // since t0
		n        int
		wantWait time.Duration
	}
	tests := []struct {
		name  string
		rate  float64
		steps []step
	}{
		{"within burst no wait", 100, []step{{0, 40, 0}, {0, 60, 0}}},
		{"one unit of debt", 100, []step{{0, 100, 0}, {0, 1, 10 * time.Millisecond}}},
		{"single charge above burst", 10, []step{{0, 15, 500 * time.Millisecond}}},
		{"charge of several bursts", 10, []step{{0, 35, 2500 * time.Millisecond}}},
		{"debt accumulates", 10, []step{{0, 15, 500 * time.Millisecond}, {0, 5, time.Second}}},
		{"debt repaid over time", 10, []step{
			{0, 15, 500 * time.Millisecond},
			{500 * time.Millisecond, 1, 100 * time.Millisecond}, // debt gone, 1 unit of new debt
		}},
		{"refill over time", 100, []step{
			{0, 100, 0},
			{500 * time.Millisecond, 50, 0}, // 50 units back
			{500 * time.Millisecond, 1, 10 * time.Millisecond}, // and no more
		}},
		{"refill capped at one second", 100, []step{
			{0, 100, 0},
			{10 * time.Second, 100, 0},
			{10 * time.Second, 50, 500 * time.Millisecond},
		}},
		{"fractional rate", 0.5, []step{{0, 1, 0}, {0, 1, 2 * time.Second}}},
		{"zero charge is free", 10, []step{{0, 10, 0}, {0, 0, 0}, {0, -3, 0}}},
		{"zero rate never waits", 0, []step{{0, 1_000_000, 0}, {0, 1, 0}}},
		{"negative rate never waits", -5, []step{{0, 100, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			p := New(tc.rate, clk)
			var sum time.Duration
			for i, s := range tc.steps {
				clk.Set(t0.Add(s.at))
				got := p.Reserve(s.n)
				if diff := got - s.wantWait; diff < -time.Microsecond || diff > time.Microsecond {
					t.Fatalf("step %d: Reserve(%d) at t0+%v = %v, want %v", i, s.n, s.at, got, s.wantWait)
				}
				sum += got
			}
			if p.Waited() != sum {
				t.Errorf("Waited = %v, want the sum of the delays %v", p.Waited(), sum)
			}
		})
	}
}

// TestLongRunRate checks the budget over a long run of mixed charges:
// after the first second's burst, the units started by time T never
// exceed rate×(T+1).
func TestLongRunRate(t *testing.T) {
	const perSecond = 1000
	clk := clock.NewFake(t0)
	p := New(perSecond, clk)
	sizes := []int{1, 7, 300, 2500, 40, 999, 1000, 1001}
	started := 0
	for i := range 400 {
		n := sizes[i%len(sizes)]
		clk.Advance(p.Reserve(n))
		started += n
		elapsed := clk.Since(t0).Seconds()
		if limit := perSecond * (elapsed + 1); float64(started) > limit+0.01 {
			t.Fatalf("charge %d: %d units started by t0+%.3fs, over the budget of %.0f", i, started, elapsed, limit)
		}
	}
	// And the pacer does not hold work back beyond the budget either.
	if elapsed := clk.Since(t0).Seconds(); float64(started) < perSecond*elapsed-3000 {
		t.Fatalf("%d units in %.3fs: well under the budget of %d/s", started, elapsed, perSecond)
	}
}

func TestWaitSleepsOnTheClock(t *testing.T) {
	clk := clock.NewFake(t0)
	p := New(10, clk)
	if err := p.Wait(context.Background(), 10); err != nil {
		t.Fatalf("Wait within the budget: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Wait(context.Background(), 5) }()
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait in debt returned (%v) before the clock moved", err)
	default:
	}
	clk.Advance(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Wait after its debt was repaid: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait in debt on a cancelled context = %v, want context.Canceled", err)
	}
}

func ExamplePacer() {
	clk := clock.NewFake(t0)
	p := New(100, clk) // 100 keys per second
	for _, keys := range []int{60, 60, 60} {
		fmt.Println(p.Reserve(keys))
	}
	// Output:
	// 0s
	// 200ms
	// 800ms
}
