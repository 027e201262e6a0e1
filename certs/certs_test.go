package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/chorustest"
)

// cluster is a certificates directory with a CA, a node certificate for
// 127.0.0.1 and a client certificate of alice, and the loaded node.
type cluster struct {
	dir  string
	node *certs.Node
	log  *chorustest.Buffer
}

func opts(dir string) certs.CreateOptions { return certs.CreateOptions{Dir: dir} }

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	mustOK(t, certs.CreateCA(opts(dir)))
	mustOK(t, certs.CreateNode(opts(dir), "node0", []string{"127.0.0.1", "node0.example"}))
	mustOK(t, certs.CreateClient(opts(dir), "alice"))
	log := &chorustest.Buffer{}
	n, err := certs.LoadNode(dir, slog.New(slog.NewTextHandler(log, nil)))
	mustOK(t, err)
	return &cluster{dir: dir, node: n, log: log}
}

// outcome is what one handshake gave each side.
type outcome struct {
	serverErr, clientErr error
	state                tls.ConnectionState // the server's, when it succeeded
}

// handshake connects a client to a server over loopback TCP and exchanges
// one byte, so that a refusal by either side (in TLS 1.3 the server checks
// the client's certificate after the client has finished) reaches both.
func handshake(t *testing.T, server, client *tls.Config) outcome {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	mustOK(t, err)
	defer lis.Close()
	var o outcome
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := lis.Accept()
		if err != nil {
			o.serverErr = err
			return
		}
		sc := tls.Server(c, server)
		defer sc.Close()
		if o.serverErr = sc.Handshake(); o.serverErr == nil {
			o.state = sc.ConnectionState()
			_, o.serverErr = sc.Write([]byte{1})
		}
	}()
	c, err := net.Dial("tcp", lis.Addr().String())
	mustOK(t, err)
	cc := tls.Client(c, client)
	if o.clientErr = cc.Handshake(); o.clientErr == nil {
		_, o.clientErr = cc.Read(make([]byte, 1))
	}
	cc.Close()
	<-done
	return o
}

// clientTLS is the config of user's client of the cluster in dir.
func clientTLS(t *testing.T, dir, user string) *tls.Config {
	t.Helper()
	cfg, err := certs.LoadClient(dir, user)
	mustOK(t, err)
	cfg.ServerName = "127.0.0.1"
	return cfg
}

func wantRefused(t *testing.T, o outcome, log *chorustest.Buffer, why string) {
	t.Helper()
	if o.serverErr == nil && o.clientErr == nil {
		t.Fatalf("handshake succeeded, want it refused (%s)", why)
	}
	if !strings.Contains(log.String(), why) {
		t.Errorf("log %q does not say %q", log.String(), why)
	}
}

func TestCreateFiles(t *testing.T) {
	dir := t.TempDir()
	mustOK(t, certs.CreateCA(opts(dir)))
	for name, mode := range map[string]fs.FileMode{certs.CAFile: 0o644, certs.CAKeyFile: 0o600, certs.GossipKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		mustOK(t, err)
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if err := certs.CreateCA(opts(dir)); !errors.Is(err, certs.ErrExists) {
		t.Errorf("second CreateCA: %v, want ErrExists", err)
	}
	o := opts(dir)
	o.Overwrite = true
	mustOK(t, certs.CreateCA(o))

	if err := certs.CreateNode(opts(t.TempDir()), "n", []string{"127.0.0.1"}); !errors.Is(err, certs.ErrNoCA) {
		t.Errorf("CreateNode without a CA: %v, want ErrNoCA", err)
	}
	for _, hosts := range [][]string{nil, {"bad host"}, {"-x.example"}} {
		if err := certs.CreateNode(opts(dir), "n", hosts); !errors.Is(err, certs.ErrInvalid) {
			t.Errorf("CreateNode hosts %q: %v, want ErrInvalid", hosts, err)
		}
	}
	for _, user := range []string{"", "a/b", "..", strings.Repeat("x", 65), "al ice"} {
		if err := certs.CreateClient(opts(dir), user); !errors.Is(err, certs.ErrInvalid) {
			t.Errorf("CreateClient %q: %v, want ErrInvalid", user, err)
		}
	}
	mustOK(t, certs.CreateNode(opts(dir), "node0", []string{"10.0.0.1", "chorus-0.chorus.default.svc"}))
	mustOK(t, certs.CreateClient(opts(dir), "bob"))

	ca := readCert(t, filepath.Join(dir, certs.CAFile))
	node := readCert(t, filepath.Join(dir, certs.NodeCertFile))
	client := readCert(t, filepath.Join(dir, certs.ClientCertFile("bob")))
	if !ca.IsCA || ca.NotAfter.Sub(ca.NotBefore) < certs.DefaultCALifetime {
		t.Errorf("CA: IsCA %v, valid %v", ca.IsCA, ca.NotAfter.Sub(ca.NotBefore))
	}
	if got := node.Subject; got.CommonName != "node0" || got.OrganizationalUnit[0] != certs.RoleNode {
		t.Errorf("node subject %v", got)
	}
	if len(node.ExtKeyUsage) != 2 || len(node.IPAddresses) != 1 || node.DNSNames[0] != "chorus-0.chorus.default.svc" {
		t.Errorf("node usages %v, IPs %v, DNS %v", node.ExtKeyUsage, node.IPAddresses, node.DNSNames)
	}
	if got := client.Subject; got.CommonName != "bob" || got.OrganizationalUnit[0] != certs.RoleClient ||
		len(client.ExtKeyUsage) != 1 || client.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("client subject %v usages %v", got, client.ExtKeyUsage)
	}
	for _, c := range []*x509.Certificate{ca, node, client} {
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", c.Subject.CommonName, c.PublicKey)
		}
		if c.SerialNumber.BitLen() < 64 {
			t.Errorf("%s: serial %x has %d bits, want about 128 random ones", c.Subject.CommonName, c.SerialNumber, c.SerialNumber.BitLen())
		}
	}
	if node.SerialNumber.Cmp(client.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}

	n, err := certs.LoadNode(dir, nil)
	mustOK(t, err)
	key, err := n.GossipKey()
	if err != nil || len(key) != 32 {
		t.Errorf("GossipKey: %d bytes, %v; want 32", len(key), err)
	}
	mustOK(t, os.Remove(filepath.Join(dir, certs.GossipKeyFile)))
	if key, err := n.GossipKey(); key != nil || err != nil {
		t.Errorf("GossipKey without the file: %v, %v; want nil, nil", key, err)
	}
}

// A certificate never outlives its CA.
func TestLifetimeCappedByCA(t *testing.T) {
	dir := t.TempDir()
	o := opts(dir)
	o.Lifetime = 48 * time.Hour
	mustOK(t, certs.CreateCA(o))
	o.Lifetime = 0
	mustOK(t, certs.CreateClient(o, "alice"))
	ca, c := readCert(t, filepath.Join(dir, certs.CAFile)), readCert(t, filepath.Join(dir, certs.ClientCertFile("alice")))
	if !c.NotAfter.Equal(ca.NotAfter) {
		t.Errorf("client expires %v, CA %v: want capped at the CA's", c.NotAfter, ca.NotAfter)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	mustOK(t, err)
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	mustOK(t, err)
	return c
}
