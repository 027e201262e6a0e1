package transport

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/transport/pb"
)

// TestPoolTLSForChecksTheAddress dials peers with a configuration per
// address (TLSFor): a peer whose node certificate names the IP address
// dialed is reached; one whose certificate names other hosts only is
// refused, although its certificate is of the cluster's CA with the node
// role.
func TestPoolTLSForChecksTheAddress(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	issue := func(hosts ...string) *certs.Node {
		dir := t.TempDir()
		opts := certs.CreateOptions{Dir: dir}
		if err := certs.CreateCA(opts); err != nil {
			t.Fatal(err)
		}
		if err := certs.CreateNode(opts, "node", hosts); err != nil {
			t.Fatal(err)
		}
		n, err := certs.LoadNode(dir, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		hosts []string
		ok    bool
	}{{[]string{"127.0.0.1"}, true}, {[]string{"10.9.9.9", "elsewhere.example"}, false}} {
		node := issue(tt.hosts...)
		_, addr := startServer(t, nil, newFakeNode(), ServerConfig{TLS: node.PeerListener()})
		pool := newTestPool(t, PoolConfig{TLSFor: node.PeerDialTo})
		c, err := pool.Internode(addr)
		if err != nil {
			t.Fatal(err)
		}
		short, stop := context.WithTimeout(ctx, 3*time.Second)
		_, err = c.Replicate(short, &pb.ReplicateBatch{})
		stop()
		if (err == nil) != tt.ok {
			t.Errorf("certificate for %v, dialed at %s: err %v, want ok=%v", tt.hosts, addr, err, tt.ok)
		}
	}
}
