package repair

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBucketReserve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
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
		{"one token of debt", 100, []step{{0, 100, 0}, {0, 1, 10 * time.Millisecond}}},
		{"single charge above burst", 10, []step{{0, 15, 500 * time.Millisecond}}},
		{"debt accumulates", 10, []step{{0, 15, 500 * time.Millisecond}, {0, 5, time.Second}}},
		{"debt repaid over time", 10, []step{
			{0, 15, 500 * time.Millisecond},
			{500 * time.Millisecond, 1, 100 * time.Millisecond}, // debt gone, 1 token of new debt
		}},
		{"refill over time", 100, []step{
			{0, 100, 0},
			{500 * time.Millisecond, 50, 0}, // 50 tokens back
			{500 * time.Millisecond, 1, 10 * time.Millisecond}, // and no more
		}},
		{"refill capped at one second", 100, []step{
			{0, 100, 0},
			{10 * time.Second, 100, 0},
			{10 * time.Second, 50, 500 * time.Millisecond},
		}},
		{"zero charge is free", 10, []step{{0, 10, 0}, {0, 0, 0}, {0, -3, 0}}},
		{"zero rate never waits", 0, []step{{0, 1_000_000, 0}, {0, 1, 0}}},
		{"negative rate never waits", -5, []step{{0, 100, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bucket{rate: tc.rate, tokens: max(tc.rate, 0), last: t0}
			for i, s := range tc.steps {
				if got := b.reserve(at(s.at), s.n); got != s.wantWait {
					t.Fatalf("step %d: reserve(t0+%v, %d) = %v, want %v (tokens now %v)", i, s.at, s.n, got, s.wantWait, b.tokens)
				}
			}
		})
	}
}

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
			l := newLimiter(10, 1000, time.Now())
			err := l.Wait(ctx, tc.keys, tc.bytes)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Wait on a cancelled context = %v, want context.Canceled", err)
			}
			if got := l.Waited(); got != tc.wantWaited {
				t.Errorf("Waited = %v, want %v", got, tc.wantWaited)
			}
		})
	}
}
