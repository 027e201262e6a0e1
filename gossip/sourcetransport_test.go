package gossip

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

// TestStreamsLeaveFromTheBindAddress joins a node bound to 127.0.0.3 to a
// seed on 127.0.0.2 that is only a TCP listener: the push/pull stream the
// join opens must come from 127.0.0.3, not from 127.0.0.1 (the loopback
// route's preferred source), so that rules naming the node's address see
// its outgoing streams.
func TestStreamsLeaveFromTheBindAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	defer ln.Close()
	from := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	c := testConfig(t, "a")
	c.BindAddr = "127.0.0.3"
	m := startNode(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.Join(ctx, []string{ln.Addr().String()}) // the seed is not memberlist: the join fails
	select {
	case ip := <-from:
		if ip != "127.0.0.3" {
			t.Fatalf("the join's stream came from %s, want 127.0.0.3", ip)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the join never reached the seed's listener")
	}
}

// TestClusterOnDistinctLoopbackAddresses runs three members, each bound
// to its own loopback address, through the transport that dials from it.
func TestClusterOnDistinctLoopbackAddresses(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.4 here: %v", err)
	}
	probe.Close()
	nodes := startCluster(t, 3, func(i int, c *Config) {
		c.BindAddr = "127.0.0." + string(rune('2'+i))
	})
	chorustest.EventuallyOK(t, "3 members on 127.0.0.2-4 converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
}
