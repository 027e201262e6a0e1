package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/auth"
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
