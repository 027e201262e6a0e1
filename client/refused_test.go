package client

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// A write a node refused unhandled (it is starting) was not applied, so
// it goes to the next primary; a write refused the same way without the
// mark would not.
func TestWriteRefusedUnhandledGoesToTheNextPrimary(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	c := newClient(t, fc, nil)
	key := []byte("starting")
	prim := fc.primaries(t, c, key)
	prim[0].setHandlers(func(f *fakeNode) {
		f.put = func(*pb.PutRequest) (*pb.PutResponse, error) {
			return nil, transport.Refuse(status.New(codes.Unavailable, "server: node starting"))
		}
	})
	if _, err := c.Put(testCtx(t), key, []byte("v")); err != nil {
		t.Fatalf("Put: %v; want it answered by the next primary", err)
	}
	_, puts0, _ := prim[0].counts()
	_, puts1, _ := prim[1].counts()
	if puts0 != 1 || puts1 != 1 {
		t.Fatalf("primaries got %d and %d puts, want 1 and 1", puts0, puts1)
	}
}

// A connection that was never dialed is explained from the address.
func TestUndialedReason(t *testing.T) {
	if got := undialedReason("a:b:c", false); !strings.HasPrefix(got, "bad address") {
		t.Errorf("undialedReason(a:b:c) = %q, want a bad address", got)
	}
	if got := undialedReason("127.0.0.1:1", false); !strings.Contains(got, "plaintext") {
		t.Errorf("undialedReason(127.0.0.1:1, plaintext) = %q, want a word on plaintext", got)
	}
	if got := undialedReason("127.0.0.1:1", true); !strings.Contains(got, "TLS handshake failed") {
		t.Errorf("undialedReason(127.0.0.1:1, TLS) = %q, want the TLS handshake named", got)
	}
}
