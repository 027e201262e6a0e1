package handoff

import (
	"context"
	"testing"
	"time"
)

func TestStallReported(t *testing.T) {
	f := newJoinFixture(t, 2, func(c *Config) {
		c.StallAfter = 50 * time.Millisecond
		c.RetryAfter = 5 * time.Millisecond
	})
	f.src.setHook(func(ctx context.Context, node string, p uint32, after []byte) error {
		return errInjected
	})
	p := f.partitions[0]
	if !driveStep(t, f.clk, f.m, 5*time.Millisecond) {
		t.Fatal("Step() = false with transfers pending")
	}
	if !f.m.Incomplete(p) {
		t.Fatal("partition completed although every scan fails")
	}
	st := f.m.Status()
	ts := st.Transfers[0]
	if ts.Partition != p {
		t.Fatalf("first transfer is partition %d, want %d", ts.Partition, p)
	}
	if ts.State != "stalled" && ts.Error == "" {
		t.Errorf("transfer = %+v, want it stalled or with an error", ts)
	}
	if !errorsIsAny(ts.Error, errStalled, errNoSource, errInjected) {
		t.Errorf("transfer error = %q, want a stall, no-source or the scan's error", ts.Error)
	}
	s := f.m.Stats()
	if s.Stalls < 1 || s.Failures < 1 {
		t.Errorf("Stats = %+v, want Stalls >= 1 and Failures >= 1", s)
	}
	if s.Completed != 0 || s.Keys != 0 {
		t.Errorf("Stats = %+v, want nothing completed or pulled", s)
	}
	// Once the sources recover, the retry completes the transfer.
	f.src.setHook(nil)
	f.clk.Advance(f.retryAfter)
	if !driveStep(t, f.clk, f.m, 5*time.Millisecond) || f.m.Incomplete(p) {
		t.Fatalf("partition %d not complete after a retry once the sources recovered: %+v", p, f.m.Status())
	}
	if got, want := len(f.src.node("d").keys(p)), len(f.src.node(f.gains[p]).keys(p)); got != want {
		t.Errorf("after recovery d holds %d keys of %d, want %d", got, p, want)
	}
}
