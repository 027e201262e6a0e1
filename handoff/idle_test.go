package handoff

import (
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

// TestWorkersIdleWithoutTimers checks the background workers: the ring
// change's Update wakes them, both run transfers, and once nothing is
// pending they wait with no timer armed (an idle node's workers used to
// wake every RetryAfter).
func TestWorkersIdleWithoutTimers(t *testing.T) {
	f := newJoinFixture(t, 3, func(c *Config) { c.Manual = false })
	chorustest.Eventually(t, "every gained partition pulled", func() bool {
		return f.m.Status().Done == uint64(len(f.gains))
	})
	// A worker that began waiting while the other still ran a transfer
	// timed its wait (something was pending); it finds nothing after it.
	f.clk.Advance(f.retryAfter)
	chorustest.Eventually(t, "the workers waiting without a timer", func() bool { return f.clk.Waiters() == 0 })
	for _, p := range f.partitions {
		if f.m.Incomplete(p) {
			t.Errorf("partition %d still incomplete after its transfer", p)
		}
	}
}
