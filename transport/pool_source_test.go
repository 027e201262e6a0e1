package transport

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/chorusdb/chorus/transport/pb"
)

// TestPoolDialsFromSourceIP checks that a pool with SourceIP connects to
// a peer from that address: a listener on 127.0.0.2 sees the connection
// of a pool given 127.0.0.3, where the kernel alone would pick 127.0.0.1.
func TestPoolDialsFromSourceIP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	defer ln.Close()
	from := make(chan string, 8)
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
	cfg := DefaultPoolConfig()
	cfg.SourceIP = net.ParseIP("127.0.0.3")
	pool, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c, err := pool.Internode(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, _ = c.Ping(ctx, &pb.PingRequest{From: "a"}) // the listener is not gRPC: the call fails
	select {
	case ip := <-from:
		if ip != "127.0.0.3" {
			t.Fatalf("the pool's connection came from %s, want 127.0.0.3", ip)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pool never connected")
	}
}
