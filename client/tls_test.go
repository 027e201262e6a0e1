package client

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/transport/pb"
)

// authNode is a one-node cluster that records the credentials of each
// call: the authorization metadata and the client certificate's user.
type authNode struct {
	pb.UnimplementedKVServer
	addr string

	mu    sync.Mutex
	auth  []string
	users []string
}

// startAuthNode serves on 127.0.0.1, over TLS with the node certificate
// of dir when node is set, else in plaintext.
func startAuthNode(t *testing.T, node *certs.Node) *authNode {
	t.Helper()
	a := &authNode{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = lis.Addr().String()
	var opts []grpc.ServerOption
	if node != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(node.ClientListener())))
	}
	opts = append(opts, grpc.UnaryInterceptor(a.record))
	srv := grpc.NewServer(opts...)
	pb.RegisterKVServer(srv, a)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return a
}

func (a *authNode) record(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	user := ""
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			user, _ = certs.Identity(&ti.State)
		}
	}
	a.mu.Lock()
	a.auth = append(a.auth, md.Get("authorization")...)
	a.users = append(a.users, user)
	a.mu.Unlock()
	return h(ctx, req)
}

func (a *authNode) last() (auth, user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.auth) > 0 {
		auth = a.auth[len(a.auth)-1]
	}
	return auth, a.users[len(a.users)-1]
}

func (a *authNode) ClusterInfo(context.Context, *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	return &pb.ClusterInfoResponse{Partitions: 1, Replicas: 1, RingSize: 1, Owners: []uint32{0},
		Members: []*pb.Member{{Id: "n0", GrpcAddr: a.addr, Status: "active", Alive: true}}}, nil
}

func newCertsDir(t *testing.T) (string, *certs.Node) {
	t.Helper()
	dir := t.TempDir()
	o := certs.CreateOptions{Dir: dir}
	for _, err := range []error{certs.CreateCA(o), certs.CreateNode(o, "n0", []string{"127.0.0.1"}), certs.CreateClient(o, "alice")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := certs.LoadNode(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, n
}

func connectTo(t *testing.T, cfg Config) (*Client, error) {
	t.Helper()
	cfg.DialTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestTLSWithCertificateAndToken(t *testing.T) {
	dir, node := newCertsDir(t)
	a := startAuthNode(t, node)
	for _, tc := range []struct{ user, wantUser string }{{"alice", "alice"}, {"root", ""}} {
		tlsCfg, err := certs.LoadClient(dir, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		c, err := connectTo(t, Config{Endpoints: []string{a.addr}, TLS: tlsCfg, Token: "s3cret"})
		if err != nil {
			t.Fatalf("%s: New: %v", tc.user, err)
		}
		if _, err := c.Cluster(context.Background()); err != nil {
			t.Fatalf("%s: Cluster: %v", tc.user, err)
		}
		if auth, user := a.last(); auth != "Bearer s3cret" || user != tc.wantUser {
			t.Errorf("%s: server saw authorization %q, certificate user %q; want Bearer s3cret and %q", tc.user, auth, user, tc.wantUser)
		}
	}
}

func TestPlaintextClientRefusedByTLSNode(t *testing.T) {
	_, node := newCertsDir(t)
	a := startAuthNode(t, node)
	if _, err := connectTo(t, Config{Endpoints: []string{a.addr}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("plaintext client of a TLS node: %v, want ErrUnavailable", err)
	}
}

func TestTokenNeedsTLS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Token = "s3cret"
	if err := cfg.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("token without TLS: %v, want ErrInvalid", err)
	}
	cfg.Token = "two words"
	cfg.AllowTokenWithoutTLS = true
	if err := cfg.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("token with a space: %v, want ErrInvalid", err)
	}
	// Allowed explicitly, the token goes in the clear.
	a := startAuthNode(t, nil)
	if _, err := connectTo(t, Config{Endpoints: []string{a.addr}, Token: "s3cret", AllowTokenWithoutTLS: true}); err != nil {
		t.Fatal(err)
	}
	if auth, _ := a.last(); auth != "Bearer s3cret" {
		t.Errorf("authorization %q, want Bearer s3cret", auth)
	}
}
