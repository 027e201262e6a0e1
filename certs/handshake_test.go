package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/certs"
)

func TestClientListener(t *testing.T) {
	c := newCluster(t)
	o := handshake(t, c.node.ClientListener(), clientTLS(t, c.dir, "alice"))
	if o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("alice: server %v, client %v", o.serverErr, o.clientErr)
	}
	if user, ok := certs.Identity(&o.state); !ok || user != "alice" {
		t.Errorf("Identity = %q, %v; want alice", user, ok)
	}
	if o.state.Version != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", o.state.Version)
	}

	// Without a certificate (a token client) the handshake succeeds and
	// there is no identity.
	o = handshake(t, c.node.ClientListener(), clientTLS(t, c.dir, "nobody"))
	if o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("no certificate: server %v, client %v", o.serverErr, o.clientErr)
	}
	if user, ok := certs.Identity(&o.state); ok {
		t.Errorf("Identity without a certificate = %q, want none", user)
	}
}

func TestClientListenerRefuses(t *testing.T) {
	c := newCluster(t)
	// Another cluster's client.
	other := t.TempDir()
	mustOK(t, certs.CreateCA(opts(other)))
	mustOK(t, certs.CreateClient(opts(other), "alice"))
	foreign := clientTLS(t, other, "alice")
	foreign.RootCAs = clientTLS(t, c.dir, "alice").RootCAs
	wantRefused(t, handshake(t, c.node.ClientListener(), foreign), c.log, "not signed by the cluster CA")

	// An expired client certificate of this cluster.
	expired := opts(c.dir)
	expired.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	expired.Lifetime = 24 * time.Hour
	mustOK(t, certs.CreateClient(expired, "old"))
	wantRefused(t, handshake(t, c.node.ClientListener(), clientTLS(t, c.dir, "old")), c.log, "expired at")

	// The node's own certificate presented by a client.
	asClient := clientTLS(t, c.dir, "nobody")
	pair, err := tls.LoadX509KeyPair(filepath.Join(c.dir, certs.NodeCertFile), filepath.Join(c.dir, certs.NodeKeyFile))
	mustOK(t, err)
	asClient.Certificates = []tls.Certificate{pair}
	wantRefused(t, handshake(t, c.node.ClientListener(), asClient), c.log, "a node certificate used as a client")
	if !strings.Contains(c.log.String(), "remote=127.0.0.1:") || !strings.Contains(c.log.String(), `CN=\"node0\"`) {
		t.Errorf("log does not say who: %s", c.log.String())
	}
}

func TestPeerListener(t *testing.T) {
	c := newCluster(t)
	// A second node of the same cluster dials the first.
	dial := c.node.PeerDial()
	dial.ServerName = "node0.example"
	if o := handshake(t, c.node.PeerListener(), dial); o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("peer: server %v, client %v", o.serverErr, o.clientErr)
	}
	// A client certificate on the peer listener.
	wantRefused(t, handshake(t, c.node.PeerListener(), clientTLS(t, c.dir, "alice")), c.log, "lacks the node role")
	// No certificate at all.
	o := handshake(t, c.node.PeerListener(), clientTLS(t, c.dir, "nobody"))
	if o.serverErr == nil && o.clientErr == nil {
		t.Error("peer without a certificate accepted")
	}
	// A node of another cluster.
	other := newCluster(t)
	dial = other.node.PeerDial()
	dial.InsecureSkipVerify, dial.VerifyConnection = true, nil // only the listener's check is tested here
	wantRefused(t, handshake(t, c.node.PeerListener(), dial), c.log, "not signed by the cluster CA")
}

func TestPeerDialVerifiesServer(t *testing.T) {
	c := newCluster(t)
	// By IP address, named on the config; by DNS name, set on a clone as
	// gRPC does (the name is then sent as SNI).
	if o := handshake(t, c.node.PeerListener(), c.node.PeerDialTo("127.0.0.1:9190")); o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("dial by IP: server %v, client %v", o.serverErr, o.clientErr)
	}
	dial := c.node.PeerDial().Clone()
	dial.ServerName = "node0.example"
	if o := handshake(t, c.node.PeerListener(), dial); o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("dial by name: server %v, client %v", o.serverErr, o.clientErr)
	}
	// The name dialed must be in the certificate.
	dial = c.node.PeerDial().Clone()
	dial.ServerName = "node1.example"
	wantRefused(t, handshake(t, c.node.PeerListener(), dial), c.log, "not node1.example")
	// An IP address the config names is checked.
	wantRefused(t, handshake(t, c.node.PeerListener(), c.node.PeerDialTo("10.9.9.9:9190")), c.log, "not 10.9.9.9")
	// A server of another cluster.
	other := newCluster(t)
	wantRefused(t, handshake(t, other.node.ClientListener(), c.node.PeerDialTo("127.0.0.1")), c.log, "not signed by the cluster CA")
}

func TestReload(t *testing.T) {
	c := newCluster(t)
	serial := func() string {
		t.Helper()
		cfg := clientTLS(t, c.dir, "alice")
		var got string
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			got = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}
		if o := handshake(t, c.node.ClientListener(), cfg); o.serverErr != nil || o.clientErr != nil {
			t.Fatalf("handshake: server %v, client %v", o.serverErr, o.clientErr)
		}
		return got
	}
	// The configs are made once, before every reload.
	listener := c.node.ClientListener()
	before := serial()

	// A re-issued node certificate is served after Reload.
	o := opts(c.dir)
	o.Overwrite = true
	mustOK(t, certs.CreateNode(o, "node0", []string{"127.0.0.1"}))
	if got := serial(); got != before {
		t.Fatalf("serial changed to %s before Reload", got)
	}
	mustOK(t, c.node.Reload())
	after := serial()
	if after == before {
		t.Fatal("Reload did not pick up the re-issued certificate")
	}

	// A new CA: the old CA's client is refused, the new CA's accepted, by
	// the config made before the reload.
	oldClient := clientTLS(t, c.dir, "alice")
	mustOK(t, certs.CreateCA(o))
	mustOK(t, certs.CreateNode(o, "node0", []string{"127.0.0.1"}))
	mustOK(t, certs.CreateClient(o, "alice"))
	mustOK(t, c.node.Reload())
	oldClient.RootCAs = clientTLS(t, c.dir, "alice").RootCAs
	wantRefused(t, handshake(t, listener, oldClient), c.log, "not signed by the cluster CA")
	if o := handshake(t, listener, clientTLS(t, c.dir, "alice")); o.serverErr != nil || o.clientErr != nil {
		t.Fatalf("new CA's client: server %v, client %v", o.serverErr, o.clientErr)
	}
	current := serial()

	// A bad file keeps the old credentials.
	mustOK(t, os.WriteFile(filepath.Join(c.dir, certs.NodeCertFile), []byte("garbage"), 0o644))
	err := c.node.Reload()
	if err == nil || !strings.Contains(err.Error(), certs.NodeCertFile) || !strings.Contains(err.Error(), "keeping") {
		t.Fatalf("Reload of a bad node.crt: %v, want an error naming it", err)
	}
	if got := serial(); got != current {
		t.Errorf("after a failed Reload the node serves %s, want the old %s", got, current)
	}
}

func TestLoadNodeErrors(t *testing.T) {
	c := newCluster(t)
	o := opts(c.dir)
	o.Overwrite = true
	cases := []struct {
		name  string
		setup func()
		want  string
	}{
		{"expired", func() {
			old := o
			old.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
			old.Lifetime = time.Hour
			mustOK(t, certs.CreateNode(old, "node0", []string{"127.0.0.1"}))
		}, "expired at"},
		{"client as node", func() {
			mustOK(t, certs.CreateClient(o, "x"))
			copyFile(t, filepath.Join(c.dir, certs.ClientCertFile("x")), filepath.Join(c.dir, certs.NodeCertFile))
			copyFile(t, filepath.Join(c.dir, certs.ClientKeyFile("x")), filepath.Join(c.dir, certs.NodeKeyFile))
		}, "lacks the node role"},
		{"other CA", func() {
			other := newCluster(t)
			copyFile(t, filepath.Join(other.dir, certs.NodeCertFile), filepath.Join(c.dir, certs.NodeCertFile))
			copyFile(t, filepath.Join(other.dir, certs.NodeKeyFile), filepath.Join(c.dir, certs.NodeKeyFile))
		}, "not signed by the CA"},
		{"missing key", func() { mustOK(t, os.Remove(filepath.Join(c.dir, certs.NodeKeyFile))) }, certs.NodeKeyFile},
	}
	for _, tc := range cases {
		mustOK(t, certs.CreateNode(o, "node0", []string{"127.0.0.1"}))
		tc.setup()
		_, err := certs.LoadNode(c.dir, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadNode: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadClient(t *testing.T) {
	c := newCluster(t)
	cfg, err := certs.LoadClient(c.dir, "alice")
	mustOK(t, err)
	if len(cfg.Certificates) != 1 || cfg.MinVersion != tls.VersionTLS13 {
		t.Errorf("alice: %d certificates, min version %x", len(cfg.Certificates), cfg.MinVersion)
	}
	if cfg, err := certs.LoadClient(c.dir, "root"); err != nil || len(cfg.Certificates) != 0 {
		t.Errorf("root without files: %v, %d certificates; want none, for a token", err, len(cfg.Certificates))
	}
	mustOK(t, os.Remove(filepath.Join(c.dir, certs.ClientKeyFile("alice"))))
	if _, err := certs.LoadClient(c.dir, "alice"); err == nil || !strings.Contains(err.Error(), certs.ClientKeyFile("alice")) {
		t.Errorf("certificate without key: %v, want an error naming the key", err)
	}
	if _, err := certs.LoadClient(t.TempDir(), "alice"); err == nil || !strings.Contains(err.Error(), certs.CAFile) {
		t.Errorf("no ca.crt: %v", err)
	}
}

// Identity trusts no certificate that a Node's listener did not verify.
func TestIdentityUnverified(t *testing.T) {
	c := newCluster(t)
	pair, err := tls.LoadX509KeyPair(filepath.Join(c.dir, certs.ClientCertFile("alice")), filepath.Join(c.dir, certs.ClientKeyFile("alice")))
	mustOK(t, err)
	if user, ok := certs.Identity(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{pair.Leaf}}); ok {
		t.Errorf("Identity of an unverified certificate = %q", user)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	mustOK(t, err)
	mustOK(t, os.WriteFile(to, b, 0o600))
}
