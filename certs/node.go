package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Node holds a node's credentials: the cluster CA, and its own certificate
// and key. The tls.Configs it returns read the current credentials at each
// handshake, so Reload applies to every new connection without rebuilding
// a server or a config. It is safe for concurrent use.
type Node struct {
	dir    string
	logger *slog.Logger
	now    func() time.Time
	creds  atomic.Pointer[credentials]
	// reloadMu makes concurrent Reloads take turns, so the last to read
	// the files is the last to store.
	reloadMu sync.Mutex
}

// credentials are one consistent reading of the certificates directory.
type credentials struct {
	cert tls.Certificate // node.crt + node.key, Leaf set
	ca   *x509.Certificate
	pool *x509.CertPool
}

// LoadNode reads ca.crt, node.crt and node.key from dir and checks that the
// node certificate is signed by the CA, carries the node role, and is
// valid now. logger receives one line for every refused handshake (nil
// discards them).
func LoadNode(dir string, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{dir: dir, logger: logger, now: time.Now}
	c, err := n.read()
	if err != nil {
		return nil, err
	}
	n.creds.Store(c)
	return n, nil
}

// Reload re-reads the certificates directory (call it on SIGHUP). New
// handshakes use the new CA and certificate; connections already made are
// left as they are. On error the old credentials stay in use and the error
// says which file is wrong and why.
func (n *Node) Reload() error {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	c, err := n.read()
	if err != nil {
		return fmt.Errorf("%w (keeping the credentials loaded before)", err)
	}
	n.creds.Store(c)
	n.logger.Info("certs: reloaded", "dir", n.dir, "certificate", c.cert.Leaf.Subject.CommonName,
		"expires", c.cert.Leaf.NotAfter.UTC().Format(time.RFC3339), "ca_expires", c.ca.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// Expiry returns when the node certificate in use expires.
func (n *Node) Expiry() time.Time { return n.creds.Load().cert.Leaf.NotAfter }

// Name returns the CN of the node certificate in use.
func (n *Node) Name() string { return n.creds.Load().cert.Leaf.Subject.CommonName }

func (n *Node) read() (*credentials, error) {
	caPath := filepath.Join(n.dir, CAFile)
	ca, err := readCert(caPath)
	if err != nil {
		return nil, err
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("certs: %s is not a CA certificate", caPath)
	}
	certPath, keyPath := filepath.Join(n.dir, NodeCertFile), filepath.Join(n.dir, NodeKeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: %s, %s: %w", certPath, keyPath, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	now := n.now()
	if err := checkValid(cert.Leaf, now); err != nil {
		return nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	if !hasRole(cert.Leaf, RoleNode) {
		return nil, fmt.Errorf("certs: %s: lacks the node role (OU %q): %s", certPath, RoleNode, describe(cert.Leaf))
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("certs: %s: not signed by the CA in %s: %w", certPath, caPath, err)
	}
	return &credentials{cert: cert, ca: ca, pool: pool}, nil
}

// GossipKey returns the gossip encryption key of gossip.key, read at each
// call, or nil and no error when the file does not exist. The key must
// decode to 16, 24 or 32 bytes (AES-128, -192 or -256).
func (n *Node) GossipKey() ([]byte, error) {
	path := filepath.Join(n.dir, GossipKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("certs: %s: not base64: %w", path, err)
	}
	if l := len(key); l != 16 && l != 24 && l != 32 {
		return nil, fmt.Errorf("certs: %s: key of %d bytes, want 16, 24 or 32", path, l)
	}
	return key, nil
}

// readCert reads the first certificate of a PEM file.
func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certs: %s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", path, err)
	}
	return c, nil
}

// checkValid says when c expired or becomes valid, in words an operator
// can act on (x509's own error gives neither date).
func checkValid(c *x509.Certificate, now time.Time) error {
	if now.After(c.NotAfter) {
		return fmt.Errorf("expired at %s", c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("not valid before %s (check the clocks)", c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

func hasRole(c *x509.Certificate, role string) bool {
	return slices.Contains(c.Subject.OrganizationalUnit, role)
}

// describe names a certificate in a log line or an error.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("CN=%q OU=%q issuer=%q serial=%x", c.Subject.CommonName,
		strings.Join(c.Subject.OrganizationalUnit, ","), c.Issuer.CommonName, c.SerialNumber)
}
