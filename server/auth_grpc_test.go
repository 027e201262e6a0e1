package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// grpcKV serves fakeKV's answers as the gRPC KV service.
type grpcKV struct {
	*fakeKV
	unimplemented // one level down, so fakeKV's methods win
}

type unimplemented struct{ pb.UnimplementedKVServer }

// startAuthGRPC serves the KV and (unimplemented) Internode services on a
// loopback plaintext listener behind the authorization interceptors, and
// returns clients of both.
func startAuthGRPC(t *testing.T, cfg *AuthConfig, m *metrics) (pb.KVClient, pb.InternodeClient) {
	t.Helper()
	kv := &fakeKV{
		get:     &pb.GetResponse{Found: true},
		put:     &pb.PutResponse{},
		del:     &pb.DeleteResponse{},
		cluster: &pb.ClusterInfoResponse{},
	}
	srv, err := transport.NewServer(grpcKV{fakeKV: kv}, pb.UnimplementedInternodeServer{},
		transport.ServerConfig{Options: authServerOptions(cfg, m, nil)})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return pb.NewKVClient(conn), pb.NewInternodeClient(conn)
}

func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// Each method answers each token as the rules say, over a real gRPC
// server: OK (or the service's own answer) with the role, PermissionDenied
// without it, Unauthenticated without a token or with an unknown one.
func TestGRPCAuthRoles(t *testing.T) {
	m := newMetrics(metricsSources{})
	kv, in := startAuthGRPC(t, &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t)), PlaintextTokens: true}, m)
	calls := []struct {
		name string
		need string
		ok   codes.Code // the answer of an authorized call
		call func(ctx context.Context) error
	}{
		{"Get", "read", codes.OK, func(ctx context.Context) error { _, err := kv.Get(ctx, &pb.GetRequest{Key: []byte("k")}); return err }},
		{"ClusterInfo", "read", codes.OK, func(ctx context.Context) error { _, err := kv.ClusterInfo(ctx, &pb.ClusterInfoRequest{}); return err }},
		{"Put", "write", codes.OK, func(ctx context.Context) error { _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k")}); return err }},
		{"Delete", "write", codes.OK, func(ctx context.Context) error {
			_, err := kv.Delete(ctx, &pb.DeleteRequest{Key: []byte("k")})
			return err
		}},
		{"Internode.Ping", "admin", codes.Unimplemented, func(ctx context.Context) error { _, err := in.Ping(ctx, &pb.PingRequest{}); return err }},
		// The stream is refused as a whole, as the unary calls are; once
		// admitted, its batch reaches the (unimplemented) Replicate.
		{"Internode.Stream", "admin", codes.Unimplemented, func(ctx context.Context) error { return streamBatch(ctx, in) }},
	}
	roles := map[string]auth.Roles{tokenRead: auth.Roles(auth.Read), tokenWrite: auth.Roles(auth.Write), tokenAll: auth.AllRoles}
	for _, c := range calls {
		need, _ := auth.ParseRole(c.need)
		for _, tok := range []string{tokenRead, tokenWrite, tokenAll} {
			err := c.call(withToken(t.Context(), tok))
			want := c.ok
			if !roles[tok].Has(need) {
				want = codes.PermissionDenied
			}
			if status.Code(err) != want {
				t.Errorf("%s with the %s token: %v, want %v", c.name, roles[tok], err, want)
			}
			if want == codes.PermissionDenied && !strings.Contains(status.Convert(err).Message(), "needs role "+c.need) {
				t.Errorf("%s with the %s token: message %q should name role %s", c.name, roles[tok], status.Convert(err).Message(), c.need)
			}
		}
		for _, tok := range []string{"", "chorus_guess"} {
			if err := c.call(withToken(t.Context(), tok)); status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s with token %q: %v, want Unauthenticated", c.name, tok, err)
			}
		}
	}
	// Per call: 6 × 2 unauthenticated; forbidden: Get, ClusterInfo 1 each
	// (write token), Put, Delete 1 each (read token), Ping and Stream 2
	// each.
	for reason, want := range map[string]float64{deniedUnauthenticated: 12, deniedForbidden: 8} {
		if got := gatherValue(t, m, "chorus_auth_denied_total", map[string]string{"api": "grpc", "reason": reason}); got != want {
			t.Errorf("chorus_auth_denied_total{api=grpc,reason=%s} = %v, want %v", reason, got, want)
		}
	}
}

// streamBatch sends one Replicate batch on an Internode stream and returns
// the status that ended the stream or answered the batch.
func streamBatch(ctx context.Context, in pb.InternodeClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := in.Stream(ctx)
	if err != nil {
		return err
	}
	if err := s.Send(&pb.PeerBatch{Id: 1, Body: &pb.PeerBatch_Replicate{Replicate: &pb.ReplicateBatch{}}}); err != nil && err != io.EOF {
		return err
	}
	r, err := s.Recv()
	if err != nil {
		return err
	}
	return status.Error(codes.Code(r.GetCode()), r.GetMessage())
}

// Tokens over plaintext are refused unless the config allows them.
func TestGRPCAuthPlaintextToken(t *testing.T) {
	kv, _ := startAuthGRPC(t, &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t))}, nil)
	_, err := kv.Get(withToken(t.Context(), tokenAll), &pb.GetRequest{Key: []byte("k")})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "over TLS only") {
		t.Errorf("token over plaintext: %v, want Unauthenticated, over TLS only", err)
	}
}

// tlsPeerContext is the context of a call over TLS whose client presented
// a certificate for cn that the TLS layer verified.
func tlsPeerContext(cn string, token string) context.Context {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"client"}}}
	state := tls.ConnectionState{Version: tls.VersionTLS13, PeerCertificates: []*x509.Certificate{cert},
		VerifiedChains: [][]*x509.Certificate{{cert}}}
	ctx := peer.NewContext(context.Background(), &peer.Peer{
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, AuthInfo: credentials.TLSInfo{State: state}})
	if token != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
	}
	return ctx
}

// The certificate path of the interceptors, with the peer a TLS
// connection would give them, and the stream interceptor.
func TestGRPCAuthCertificates(t *testing.T) {
	g := &grpcAuth{cfg: &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t))}, m: newMetrics(metricsSources{}), log: discardLogger()}
	tests := []struct {
		name, cn, token, method string
		want                    codes.Code
		msg                     string
	}{
		{"reader reads", "reader", "", pb.KV_Get_FullMethodName, codes.OK, ""},
		{"reader writes", "reader", "", pb.KV_Put_FullMethodName, codes.PermissionDenied, `user "reader" has roles read; this request needs role write`},
		{"writer deletes", "writer", "", pb.KV_Delete_FullMethodName, codes.OK, ""},
		{"unlisted user", "mallory", "", pb.KV_Get_FullMethodName, codes.PermissionDenied, `user "mallory" is not in the auth file`},
		{"admin pings", "admin", "", pb.Internode_Ping_FullMethodName, codes.OK, ""},
		{"token over TLS", "", tokenWrite, pb.KV_Put_FullMethodName, codes.OK, ""},
		{"token wins", "admin", tokenRead, pb.Internode_Ping_FullMethodName, codes.PermissionDenied, `token "ci"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tlsPeerContext(tt.cn, tt.token)
			called := false
			_, err := g.unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(context.Context, any) (any, error) {
				called = true
				return nil, nil
			})
			if status.Code(err) != tt.want || called != (tt.want == codes.OK) {
				t.Fatalf("unary: %v (handler called %v), want %v", err, called, tt.want)
			}
			if !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Errorf("message %q does not contain %q", status.Convert(err).Message(), tt.msg)
			}
			called = false
			err = g.stream(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: tt.method}, func(any, grpc.ServerStream) error {
				called = true
				return nil
			})
			if status.Code(err) != tt.want || called != (tt.want == codes.OK) {
				t.Fatalf("stream: %v (handler called %v), want %v", err, called, tt.want)
			}
		})
	}
	// Without an auth file a verified certificate may do anything.
	g.cfg = &AuthConfig{Authorizer: auth.NewStaticAuthorizer(nil)}
	if err := g.authorize(tlsPeerContext("anyone", ""), pb.Internode_Scan_FullMethodName); err != nil {
		t.Errorf("without an auth file: %v", err)
	}
}

// fakeStream is a server stream that only has a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }
