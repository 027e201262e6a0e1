package server_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/transport/pb"
)

// A node started with Config.Auth checks credentials on its HTTP API and
// its gRPC KV service, on real loopback sockets.
func TestNodeAuthorizesClients(t *testing.T) {
	const reader, writer = "chorus_reader-token", "chorus_writer-token"
	table := auth.NewTable(&auth.File{Tokens: []auth.TokenEntry{
		{Name: "r", SHA256: auth.HashToken(reader), Roles: auth.Roles(auth.Read)},
		{Name: "w", SHA256: auth.HashToken(writer), Roles: auth.Roles(auth.Read | auth.Write)},
	}})
	cfg := server.DefaultConfig()
	cfg.InMemory = true
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.GossipAddr, cfg.PeerAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ring.Replicas = 1
	cfg.Defaults = replica.Options{N: 1, R: 1, W: 1, Timeout: replica.DefaultOptions().Timeout}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Auth = &server.AuthConfig{Authorizer: auth.NewStaticAuthorizer(table), PlaintextTokens: true}
	n, err := server.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })

	httpDo := func(method, path, token string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, "http://"+n.Addrs().HTTP+path, strings.NewReader("v"))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		method, path, token string
		want                int
	}{
		{"PUT", "/v1/kv/k", "", 401},
		{"PUT", "/v1/kv/k", reader, 403},
		{"PUT", "/v1/kv/k", writer, 204},
		{"GET", "/v1/kv/k", reader, 200},
		{"GET", "/metrics", writer, 403},
	} {
		if got := httpDo(tt.method, tt.path, tt.token); got != tt.want {
			t.Errorf("%s %s with token %q: %d, want %d", tt.method, tt.path, tt.token, got, tt.want)
		}
	}

	conn, err := grpc.NewClient(n.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kv := pb.NewKVClient(conn)
	put := func(token string) error {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
		_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("g"), Value: []byte("v")})
		return err
	}
	if err := put(reader); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC Put with the read token: %v, want PermissionDenied", err)
	}
	if err := put(writer); err != nil {
		t.Errorf("gRPC Put with the write token: %v", err)
	}
	if _, err := kv.Get(t.Context(), &pb.GetRequest{Key: []byte("g")}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC Get without a token: %v, want Unauthenticated", err)
	}
}

// Over real TLS: a client certificate's user has the roles the auth file
// gives it, a user the file does not list is refused, a client without a
// certificate is refused unless it sends a known token, and the same holds
// on the gRPC client port.
func TestNodeAuthorizesClientsOverTLS(t *testing.T) {
	const token = "chorus_a-writer-token-over-tls"
	table := auth.NewTable(&auth.File{
		Users:  []auth.User{{Name: "alice", Roles: auth.Roles(auth.Read)}},
		Tokens: []auth.TokenEntry{{Name: "w", SHA256: auth.HashToken(token), Roles: auth.Roles(auth.Read | auth.Write)}},
	})
	n, dir := startTLSNode(t, &server.AuthConfig{Authorizer: auth.NewStaticAuthorizer(table)})
	alice, mallory, anonymous := clientTLS(t, dir, "alice"), clientTLS(t, dir, "mallory"), clientTLS(t, dir, "nobody") // nobody has no certificate
	httpDo := func(c *tls.Config, method, path, tok string) int { return httpsStatus(t, c, n, method, path, tok) }
	for _, tt := range []struct {
		name         string
		c            *tls.Config
		method, path string
		token        string
		want         int
	}{
		{"alice reads", alice, "GET", "/v1/kv/k", "", 404},
		{"alice may not write", alice, "PUT", "/v1/kv/k", "", 403},
		{"mallory is not in the file", mallory, "GET", "/v1/kv/k", "", 403},
		{"no certificate, no token", anonymous, "GET", "/v1/kv/k", "", 401},
		{"a token without a certificate", anonymous, "PUT", "/v1/kv/k", token, 204},
		{"an unknown token", anonymous, "GET", "/v1/kv/k", "chorus_guess", 401},
	} {
		if got := httpDo(tt.c, tt.method, tt.path, tt.token); got != tt.want {
			t.Errorf("HTTP: %s: %s %s = %d, want %d", tt.name, tt.method, tt.path, got, tt.want)
		}
	}

	kvAs := func(c *tls.Config) pb.KVClient {
		t.Helper()
		conn, err := grpc.NewClient(n.Addrs().GRPC, grpc.WithTransportCredentials(credentials.NewTLS(c)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return pb.NewKVClient(conn)
	}
	ctx := t.Context()
	if _, err := kvAs(alice).Get(ctx, &pb.GetRequest{Key: []byte("k")}); err != nil {
		t.Errorf("gRPC: alice reads: %v", err)
	}
	if _, err := kvAs(alice).Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC: alice writes: %v, want PermissionDenied", err)
	}
	if _, err := kvAs(anonymous).Get(ctx, &pb.GetRequest{Key: []byte("k")}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC: no certificate, no token: %v, want Unauthenticated", err)
	}
	withToken := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := kvAs(anonymous).Put(withToken, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Errorf("gRPC: a token without a certificate: %v", err)
	}
}

// A TLS node without an auth config authorizes anyway: every client
// certificate of the cluster's CA has every role, and a client without one
// is refused, since the listener accepts connections without certificates
// for tokens.
func TestNodeOverTLSAuthorizesByDefault(t *testing.T) {
	n, dir := startTLSNode(t, nil)
	if got := httpsStatus(t, clientTLS(t, dir, "nobody"), n, "PUT", "/v1/kv/k", ""); got != http.StatusUnauthorized {
		t.Errorf("PUT without a certificate: %d, want 401", got)
	}
	if got := httpsStatus(t, clientTLS(t, dir, "alice"), n, "PUT", "/v1/kv/k", ""); got != http.StatusNoContent {
		t.Errorf("PUT with a client certificate: %d, want 204", got)
	}
	if got := httpsStatus(t, clientTLS(t, dir, "alice"), n, "GET", "/v1/kv/k", "chorus_some-token"); got != http.StatusUnauthorized {
		t.Errorf("a token without an auth file: %d, want 401", got)
	}
}

// startTLSNode starts a one-node cluster on loopback with TLS from a new
// CA in a temporary directory (with client certificates for alice and
// mallory) and authorization a; it returns the node and the directory.
func startTLSNode(t *testing.T, a *server.AuthConfig) (*server.Node, string) {
	t.Helper()
	dir := t.TempDir()
	opts := certs.CreateOptions{Dir: dir}
	if err := certs.CreateCA(opts); err != nil {
		t.Fatal(err)
	}
	if err := certs.CreateNode(opts, "node", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "mallory"} {
		if err := certs.CreateClient(opts, user); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	creds, err := certs.LoadNode(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.InMemory = true
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.GossipAddr, cfg.PeerAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ring.Replicas = 1
	cfg.Defaults = replica.Options{N: 1, R: 1, W: 1, Timeout: replica.DefaultOptions().Timeout}
	cfg.Logger, cfg.TLS, cfg.Auth = quiet, creds, a
	n, err := server.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n, dir
}

// clientTLS is the TLS config of user's client in dir: with its
// certificate when dir has one, else none.
func clientTLS(t *testing.T, dir, user string) *tls.Config {
	t.Helper()
	c, err := certs.LoadClient(dir, user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// httpsStatus sends one request to n's HTTP API over c, with token when
// given, and returns the answer's status.
func httpsStatus(t *testing.T, c *tls.Config, n *server.Node, method, path, token string) int {
	t.Helper()
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	defer web.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, "https://"+n.Addrs().HTTP+path, strings.NewReader("v"))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := web.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
