package main

import (
	"strings"
	"testing"
)

// Bad node and demo flags exit 2 with one line naming the problem, and
// start nothing.
func TestServerCommandUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "--insecure", "--in-memory", "--partitions", "3"}, "power of two"},
		{[]string{"node", "--insecure", "--in-memory", "--replicas", "0"}, "replicas"},
		{[]string{"node", "--insecure", "--in-memory", "--gossip-key", "abc"}, "--gossip-key"},
		{[]string{"node", "--insecure", "--in-memory", "--gossip-key-file", "/nonexistent/key"}, "--gossip-key-file"},
		{[]string{"node", "--insecure", "--in-memory", "--log-level", "loud"}, "--log-level"},
		{[]string{"node", "--insecure", "--in-memory", "--http-addr", "nohost"}, "http address"},
		// --replicas below the default n=3 lowers the default quorum, so
		// the config gets past it to the address.
		{[]string{"node", "--insecure", "--in-memory", "--replicas", "1", "--http-addr", "nohost"}, "http address"},
		{[]string{"node", "--insecure", "--in-memory", "--replicas", "2", "--http-addr", "nohost"}, "http address"},
		{[]string{"node", "--insecure", "--data-dir", "", "--http-addr", "0.0.0.0:1"}, "data directory"},
		{[]string{"node", "--in-memory"}, "--certs-dir DIR"},
		{[]string{"node", "--in-memory", "--insecure", "--certs-dir", "x"}, "give one"},
		{[]string{"node", "--in-memory", "--certs-dir", "/nonexistent/certs"}, "--certs-dir"},
		{[]string{"demo", "--nodes", "0"}, "--nodes"},
		{[]string{"demo", "--base-port", "70000"}, "--base-port"},
		{[]string{"node", "extra-arg"}, "unknown command"},
		{[]string{"node", "--insecure", "--in-memory", "--tombstone-grace", "10ms"}, "--tombstone-grace"},
		{[]string{"node", "--insecure", "--in-memory", "--aae-keys-per-second", "0"}, "--aae-keys-per-second"},
		{[]string{"node", "--insecure", "--in-memory", "--gc-interval", "10ms"}, "--gc-interval"},
		{[]string{"node", "--insecure", "--in-memory", "--tombstone-interval", "0s"}, "--tombstone-interval"},
		{[]string{"node", "--insecure", "--in-memory", "--handoff-keys-per-second", "0"}, "--handoff-keys-per-second"},
	} {
		r := runCLI(t, "", tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("chorus %s: exit %d, stderr %q; want exit %d and one line naming %q",
				strings.Join(tt.args, " "), r.code, r.stderr, exitUsage, tt.want)
		}
	}
}
