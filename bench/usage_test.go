package bench

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench/procstat"
)

// TestRunWindowEdgesAfterPreload: the window opens once the preload has
// written every key and before the first measured get, and closes after
// the last one.
func TestRunWindowEdgesAfterPreload(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Op, cfg.Keys, cfg.Clients, cfg.Duration, cfg.Ops = OpGet, 50, 4, 0, 100
	f := newFake()
	var at [2][2]int // puts and gets at open, at close
	count := func(i int) func() {
		return func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			at[i] = [2]int{f.puts, f.gets}
		}
	}
	if _, err := run(context.Background(), f, cfg, windowEdges{open: count(0), close: count(1)}); err != nil {
		t.Fatal(err)
	}
	if want := [2][2]int{{50, 0}, {50, 100}}; at != want {
		t.Errorf("puts and gets at open and close: %v, want %v", at, want)
	}
}

// cancelAfter is a target that cancels a run's context at its n-th put.
type cancelAfter struct {
	*fakeTarget
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Put(ctx context.Context, key, value []byte) error {
	err := c.fakeTarget.Put(ctx, key, value)
	c.mu.Lock()
	if c.puts >= c.n {
		c.cancel()
	}
	c.mu.Unlock()
	return err
}

// TestRunWindowEdgesAfterWarmup: a run cut short during a warm-up of an
// hour still opens the window (after every warm-up put) before closing
// it, so nothing of the warm-up falls inside.
func TestRunWindowEdgesAfterWarmup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &cancelAfter{fakeTarget: newFake(), n: 20, cancel: cancel}
	cfg := DefaultConfig()
	cfg.Warmup, cfg.Clients = time.Hour, 2
	var edges []string
	var puts [2]int
	read := func(i int, name string) func() {
		return func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			puts[i] = f.puts
			edges = append(edges, name)
		}
	}
	res, err := run(ctx, f, cfg, windowEdges{open: read(0, "open"), close: read(1, "close")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want context.Canceled", err)
	}
	if len(edges) != 2 || edges[0] != "open" || edges[1] != "close" {
		t.Errorf("edges %v, want [open close]", edges)
	}
	if puts[0] < f.n || puts[0] != puts[1] {
		t.Errorf("puts at open %d and at close %d: want the same, at least %d (all warm-up)", puts[0], puts[1], f.n)
	}
	if n := res.Ops[0].Count; n != 0 {
		t.Errorf("%d measured puts, want 0", n)
	}
}

func TestMeasureIdle(t *testing.T) {
	c, err := MeasureIdle(context.Background(), "self", []int{os.Getpid()}, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if c.System != "self" || c.WindowMS < 20 {
		t.Errorf("idle cost %+v: want system self, a window of at least 20 ms", c)
	}
	switch {
	case procstat.Supported() && (c.Millicores == nil || *c.Millicores < 0):
		t.Errorf("idle millicores %v, want measured", c.Millicores)
	case !procstat.Supported() && c.Millicores != nil:
		t.Errorf("idle millicores %v without /proc, want nil", *c.Millicores)
	}
	if !procstat.Supported() {
		return
	}
	if _, err := MeasureIdle(context.Background(), "gone", []int{1 << 30}, time.Millisecond); err == nil {
		t.Error("MeasureIdle of a process that is gone succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasureIdle(ctx, "self", []int{os.Getpid()}, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("MeasureIdle with an ended context: %v, want context.Canceled", err)
	}
}

func TestMillicores(t *testing.T) {
	for _, tt := range []struct {
		cpu, window time.Duration
		want        float64
	}{
		{300 * time.Millisecond, 10 * time.Second, 30},
		{2 * time.Second, time.Second, 2000},
		{time.Second, 0, 0},
	} {
		if got := millicores(tt.cpu, tt.window); got != tt.want {
			t.Errorf("millicores(%v, %v) = %v, want %v", tt.cpu, tt.window, got, tt.want)
		}
	}
}
