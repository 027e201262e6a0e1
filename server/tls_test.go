package server_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/transport/pb"
)

// issueCluster writes a CA, a node certificate for loopback and a client
// certificate for root into a new directory.
func issueCluster(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	opts := certs.CreateOptions{Dir: dir}
	if err := certs.CreateCA(opts); err != nil {
		t.Fatal(err)
	}
	if err := certs.CreateNode(opts, "node", []string{"127.0.0.1", "localhost"}); err != nil {
		t.Fatal(err)
	}
	if err := certs.CreateClient(opts, "root"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTLSCluster runs a 2-node cluster on loopback with certificates: it
// replicates over mutual TLS and serves a client with a certificate over
// gRPC and HTTPS, and refuses plaintext on every port, a certificate of
// another CA, a client certificate on the peer port and a node
// certificate used as a client, logging why.
func TestTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-node loopback cluster")
	}
	dir := issueCluster(t)
	var logs chorustest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	creds, err := certs.LoadNode(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	key, err := creds.GossipKey()
	if err != nil || key == nil {
		t.Fatalf("gossip key: %v, %v", key, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 2, Dir: t.TempDir(), Logger: logger,
		Configure: func(_ int, c *server.Config) {
			c.TLS, c.GossipKey = creds, key
			c.Defaults.N, c.Defaults.R, c.Defaults.W = 2, 2, 2
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	a := lc.Nodes[0].Addrs()
	if st := lc.Nodes[0].Status(); !st.TLS || len(st.Warnings) != 0 {
		t.Errorf("status tls=%v warnings=%v, want TLS and no warning", st.TLS, st.Warnings)
	}

	client, err := certs.LoadClient(dir, "root")
	if err != nil {
		t.Fatal(err)
	}
	kv := func(addr string, tc *tls.Config) pb.KVClient {
		creds := insecure.NewCredentials()
		if tc != nil {
			creds = credentials.NewTLS(tc)
		}
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return pb.NewKVClient(cc)
	}
	if _, err := kv(a.GRPC, client).Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("put over TLS with W=2 (replicated over mutual TLS): %v", err)
	}
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: client}, Timeout: 10 * time.Second}
	resp, err := web.Get("https://" + lc.Nodes[1].Addrs().HTTP + "/v1/kv/k")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET over HTTPS: %v, %v", resp, err)
	}
	resp.Body.Close()

	refused := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: accepted, want refused", what)
		}
	}
	short, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	_, err = kv(a.GRPC, nil).Get(short, &pb.GetRequest{Key: []byte("k")})
	refused("plaintext gRPC", err)
	_, err = kv(a.Peer, nil).Get(short, &pb.GetRequest{Key: []byte("k")})
	refused("plaintext on the peer port", err)
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + a.HTTP + "/v1/kv/k"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plaintext HTTP answered 200")
		}
		resp.Body.Close()
	}

	other := issueCluster(t) // another CA
	foreign, err := certs.LoadClient(other, "root")
	if err != nil {
		t.Fatal(err)
	}
	foreign.RootCAs = client.RootCAs // trusts the server, but its certificate is of another CA
	_, err = kv(a.GRPC, foreign).Get(short, &pb.GetRequest{Key: []byte("k")})
	refused("a client certificate of another CA", err)
	_, err = kv(a.Peer, client).Get(short, &pb.GetRequest{Key: []byte("k")})
	refused("a client certificate on the peer port", err)
	nodeAsClient := client.Clone()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certs.NodeCertFile), filepath.Join(dir, certs.NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	nodeAsClient.Certificates, nodeAsClient.GetClientCertificate = []tls.Certificate{pair}, nil
	_, err = kv(a.GRPC, nodeAsClient).Get(short, &pb.GetRequest{Key: []byte("k")})
	refused("a node certificate used as a client", err)
	for _, why := range []string{"not signed by the cluster CA", "only nodes may use the peer listener", "a node certificate used as a client"} {
		if !strings.Contains(logs.String(), why) {
			t.Errorf("no refusal logged mentioning %q; logs:\n%s", why, logs.String())
		}
	}
}
