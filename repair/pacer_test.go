package repair

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// t0 is the start of the fake clocks.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The bucket itself is pace's, tested there; this checks that the limiter
// charges both budgets and waits the longer debt.
func TestLimiterWaitChargesBoth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Wait must not sleep in a test: it returns at once
	tests := []struct {
		name        string
		keys, bytes int
		wantWaited  time.Duration
	}{
		{"within budget", 10, 100, 0},
		{"keys over", 15, 0, 500 * time.Millisecond},
		{"bytes over", 0, 1100, 100 * time.Millisecond},
		{"longer of the two", 15, 1100, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(10, 1000, clock.NewFake(t0))
			err := l.Wait(ctx, tc.keys, tc.bytes)
			if tc.wantWaited > 0 && !errors.Is(err, context.Canceled) {
				t.Errorf("Wait in debt on a cancelled context = %v, want context.Canceled", err)
			}
			if got := l.Waited(); got != tc.wantWaited {
				t.Errorf("Waited = %v, want %v", got, tc.wantWaited)
			}
		})
	}
}

func TestLimiterSleepsOnItsClock(t *testing.T) {
	clk := clock.NewFake(t0)
	l := newLimiter(10, 1000, clk)
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), 15, 0) }()
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Wait once its debt was repaid: %v", err)
	}
}
