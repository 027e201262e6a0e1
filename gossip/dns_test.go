package gossip

import (
	"net"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

// TestJoinByName joins by DNS names (as a StatefulSet's stable names or
// compose services are given): a seed naming this node itself is
// skipped, so a node whose only seed is its own name bootstraps, and the
// others join it by name; the advertised name resolves to the address
// memberlist gossips.
func TestJoinByName(t *testing.T) {
	if _, err := net.LookupIP("localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	withName := func(c Config) Config { c.AdvertiseAddr = "localhost"; return c }
	first := startNode(t, withName(testConfig(t, "n0")))
	_, port, _ := net.SplitHostPort(first.GossipAddr())
	if host, _, _ := net.SplitHostPort(first.GossipAddr()); host != "127.0.0.1" {
		t.Fatalf("advertised %q, want localhost resolved to 127.0.0.1", first.GossipAddr())
	}
	self := net.JoinHostPort("localhost", port)
	join(t, first, self) // only itself: bootstraps
	if r, _ := first.Ring().Get("n0"); !r.Placed {
		t.Fatalf("n0 not placed after joining only its own name: %+v", r)
	}
	second := startNode(t, withName(testConfig(t, "n1")))
	join(t, second, self, net.JoinHostPort("localhost", "1")) // one seed answers, one never does
	chorustest.Eventually(t, "both nodes see both records", func() bool {
		return len(first.Ring().Records()) == 2 && len(second.Ring().Records()) == 2
	})
}
