package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/transport/pb"
)

// TestLegsSplitRoundTrips: a coordinator's recorded legs are the one-way
// delays of the links, each direction on its own leg: with a 40 ms delay
// on a -> b and 10 ms on b -> a, writes to b show W >= 40 ms and A >= 10
// ms, reads R >= 40 ms and S >= 10 ms, while c, without delays, stays
// below.
func TestLegsSplitRoundTrips(t *testing.T) {
	c := newTestCluster(t, 21, "a", "b", "c")
	c.Net.SetDelay("a", "b", 40*time.Millisecond)
	c.Net.SetDelay("b", "a", 10*time.Millisecond)
	c.Nodes["a"].ResetLegs()
	all := &pb.Quorum{N: 3, R: 3, W: 3}
	for i := range 5 {
		key := fmt.Sprintf("legs-%d", i)
		if _, err := c.put("a", key, "v", "", all); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if _, err := c.get("a", key, all); err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
	}
	l := c.Nodes["a"].Legs()
	for _, leg := range []struct {
		name    string
		samples []time.Duration
		slow    time.Duration
	}{
		{"W", l.W, 40 * time.Millisecond}, {"A", l.A, 10 * time.Millisecond},
		{"R", l.R, 40 * time.Millisecond}, {"S", l.S, 10 * time.Millisecond},
	} {
		if len(leg.samples) < 5 {
			t.Fatalf("%s: %d samples after 5 requests to two peers, want at least 5", leg.name, len(leg.samples))
		}
		if slices.Max(leg.samples) < leg.slow {
			t.Errorf("%s: longest %v, want at least the link's %v (b's batches)", leg.name, slices.Max(leg.samples), leg.slow)
		}
		if slices.Min(leg.samples) >= leg.slow {
			t.Errorf("%s: shortest %v, want c's batches below %v", leg.name, slices.Min(leg.samples), leg.slow)
		}
	}
	c.Nodes["a"].ResetLegs()
	if l := c.Nodes["a"].Legs(); len(l.W)+len(l.A)+len(l.R)+len(l.S) != 0 {
		t.Errorf("after ResetLegs: %d %d %d %d samples, want none", len(l.W), len(l.A), len(l.R), len(l.S))
	}
}
