package sourceaddr

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	cases := []struct {
		listen string
		want   string // "" for nil
	}{
		{"127.0.0.3:9190", "127.0.0.3"},
		{"10.1.2.3:0", "10.1.2.3"},
		{"[::1]:9190", "::1"},
		{"[::ffff:127.0.0.2]:1", "127.0.0.2"},
		{"0.0.0.0:9190", ""},
		{"[::]:9190", ""},
		{":9190", ""},
		{"node1:9190", ""},
		{"localhost:9190", ""},
		{"127.0.0.1", ""},
		{"", ""},
		{"[fe80::1%eth0]:9190", ""},
	}
	for _, c := range cases {
		got := For(c.listen)
		if (got == nil) != (c.want == "") || (got != nil && got.String() != c.want) {
			t.Errorf("For(%q) = %v, want %q", c.listen, got, c.want)
		}
	}
}

func TestSourceSuitsDestination(t *testing.T) {
	cases := []struct {
		local, addr string
		bind        bool
	}{
		{"127.0.0.3", "127.0.0.2:1", true},
		{"127.0.0.3", "10.0.0.2:1", false},   // loopback cannot reach out
		{"10.0.0.3", "127.0.0.2:1", false},   // and the other way round
		{"10.0.0.3", "10.0.0.2:1", true},     // a multi-homed host's own network
		{"127.0.0.3", "[::1]:1", false},      // family differs
		{"::1", "[::1]:1", true},             //
		{"127.0.0.3", "peer.local:1", false}, // a name: the kernel chooses
		{"127.0.0.3", "garbage", false},
	}
	for _, c := range cases {
		d := Dialer{Local: net.ParseIP(c.local)}
		if got := d.source(c.addr) != nil; got != c.bind {
			t.Errorf("local %s to %s: binds %v, want %v", c.local, c.addr, got, c.bind)
		}
	}
	if (Dialer{}).source("127.0.0.1:1") != nil {
		t.Error("a Dialer without Local bound a source")
	}
}

// TestDialFromLocal connects over loopback from 127.0.0.3 and checks the
// listener sees that address: the kernel would otherwise pick 127.0.0.1.
func TestDialFromLocal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	defer ln.Close()
	seen := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			seen <- nil
			return
		}
		seen <- c.RemoteAddr()
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := Dialer{Local: net.ParseIP("127.0.0.3")}
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial from 127.0.0.3: %v", err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.3" {
		t.Errorf("dialer's local address %s, want 127.0.0.3", got)
	}
	if got := <-seen; got == nil || got.(*net.TCPAddr).IP.String() != "127.0.0.3" {
		t.Errorf("listener saw the connection from %v, want 127.0.0.3", got)
	}
}
