package etcdtarget_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench/etcdtarget"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorKind(t *testing.T) {
	refused := func(port int) error {
		return status.Error(codes.Unavailable, fmt.Sprintf(
			`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:%d: connect: connection refused"`, port))
	}
	var tg etcdtarget.Target // ErrorKind looks at the error only
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"deadline", context.DeadlineExceeded, "timeout"},
		{"wrapped deadline", fmt.Errorf("etcdtarget: put: %w", context.DeadlineExceeded), "timeout"},
		{"grpc deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"closed", etcdtarget.ErrClosed, "closed"},
		{"etcd leader failure", rpctypes.ErrTimeoutDueToLeaderFail,
			"Unavailable: etcdserver: request timed out, possibly due to previous leader failure"},
		{"etcd no leader", fmt.Errorf("etcdtarget: get: %w", rpctypes.ErrNoLeader), "Unavailable: etcdserver: no leader"},
		{"refused", refused(23794),
			`Unavailable: connection error: desc = "transport: Error while dialing: dial tcp <addr>: connect: connection refused"`},
		{"reset", status.Error(codes.Unavailable, "read tcp 127.0.0.1:53412->127.0.0.1:23792: read: connection reset by peer"),
			"Unavailable: read tcp <addr>-><addr>: read: connection reset by peer"},
		{"plain", errors.New("dial http://[::1]:2379 failed"), "dial <addr> failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tg.ErrorKind(tc.err); got != tc.want {
				t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	// One failure mode seen through two members is one kind.
	if a, b := tg.ErrorKind(refused(23790)), tg.ErrorKind(refused(23792)); a != b {
		t.Errorf("kinds differ by address: %q vs %q", a, b)
	}
}

func TestNewFailsWithoutEtcd(t *testing.T) {
	// A port nobody listens on: taken, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t0 := time.Now()
	tg, err := etcdtarget.New(t.Context(), etcdtarget.Config{Endpoints: []string{addr}, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		tg.Close()
		t.Fatalf("New(%s) succeeded without etcd", addr)
	}
	if !strings.Contains(err.Error(), addr) || !strings.HasPrefix(err.Error(), "etcdtarget: ") {
		t.Errorf("New error %q should start with etcdtarget: and name %s", err, addr)
	}
	// Generous: the point is that New gives up rather than hang.
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("New took %v to fail with DialTimeout 300ms", d)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := etcdtarget.New(t.Context(), etcdtarget.Config{}); !errors.Is(err, etcdtarget.ErrInvalidConfig) {
		t.Errorf("New(Config{}) = %v, want ErrInvalidConfig", err)
	}
}
