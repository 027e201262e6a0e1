package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"weak"
)

// Protocols the listeners negotiate (ALPN). A config returned by
// GetConfigForClient replaces the server's own, including the protocols
// net/http and gRPC add to it, so the per-handshake config names them
// itself: HTTP/2 and HTTP/1.1 for the client listener (the HTTP API and
// client gRPC), HTTP/2 for the peer listener (gRPC only).
var (
	clientProtos = []string{"h2", "http/1.1"}
	peerProtos   = []string{"h2"}
)

// ClientListener returns the server config of the client listeners (HTTP
// API and client gRPC). It serves node.crt and accepts connections without
// a client certificate, so that bearer-token clients can connect and be
// answered 401 at the HTTP or gRPC level. A certificate that is presented
// must verify against the current CA, be valid now and carry the client
// role; anything else (another CA's, an expired one, a node certificate
// used as a client) fails the handshake, and the node logs who and why.
// Identity then gives the user of an accepted certificate.
func (n *Node) ClientListener() *tls.Config {
	return n.serverConfig(clientProtos, tls.RequestClientCert, n.verifyClient)
}

// PeerListener returns the server config of the internode listener: it
// requires a client certificate signed by the current CA with the node
// role, and refuses anything else at the handshake with a log line.
func (n *Node) PeerListener() *tls.Config {
	return n.serverConfig(peerProtos, tls.RequireAnyClientCert, n.verifyPeer)
}

// serverConfig builds a listener config whose every handshake gets a
// config made from the credentials current at its ClientHello, so that
// Reload applies to new connections and one handshake never mixes two
// readings. Chains are verified in VerifyConnection (tls is only asked to
// request the certificate) so that a refusal is logged with the peer's
// address and the reason, which crypto/tls would not log.
func (n *Node) serverConfig(protos []string, auth tls.ClientAuthType, verify func(*credentials, string, tls.ConnectionState) error) *tls.Config {
	// Each config gets its own copy: net/http appends to NextProtos.
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: slices.Clone(protos),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &n.creds.Load().cert, nil
		},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c := n.creds.Load()
			remote := "unknown"
			if hello.Conn != nil {
				remote = hello.Conn.RemoteAddr().String()
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				NextProtos:   slices.Clone(protos),
				Certificates: []tls.Certificate{c.cert},
				ClientAuth:   auth,
				// A resumed session would skip presenting the certificate;
				// a full handshake checks it against the current CA each time.
				SessionTicketsDisabled: true,
				VerifyConnection:       func(cs tls.ConnectionState) error { return verify(c, remote, cs) },
			}, nil
		},
	}
}

// verifyClient checks the certificate a client presented, if any.
func (n *Node) verifyClient(c *credentials, remote string, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // a token client: authorization happens per request
	}
	leaf := cs.PeerCertificates[0]
	err := n.verifyChain(c, cs.PeerCertificates, x509.ExtKeyUsageClientAuth, "")
	if err == nil && !hasRole(leaf, RoleClient) {
		if hasRole(leaf, RoleNode) {
			err = errors.New("a node certificate used as a client (create a client certificate: chorus certs create-client USER)")
		} else {
			err = fmt.Errorf("lacks the client role (OU %q)", RoleClient)
		}
	}
	if err != nil {
		n.logger.Warn("certs: refused client certificate", "remote", remote, "cert", describe(leaf), "reason", err.Error())
		return fmt.Errorf("certs: client certificate %s: %w", describe(leaf), err)
	}
	markVerified(leaf)
	return nil
}

// verifyPeer checks the certificate a peer node presented.
func (n *Node) verifyPeer(c *credentials, remote string, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		// RequireAnyClientCert refuses this before us; say so anyway.
		n.logger.Warn("certs: refused peer without a certificate", "remote", remote)
		return errors.New("certs: peer presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	err := n.verifyChain(c, cs.PeerCertificates, x509.ExtKeyUsageClientAuth, "")
	if err == nil && !hasRole(leaf, RoleNode) {
		err = fmt.Errorf("lacks the node role (OU %q): only nodes may use the peer listener", RoleNode)
	}
	if err != nil {
		n.logger.Warn("certs: refused peer certificate", "remote", remote, "cert", describe(leaf), "reason", err.Error())
		return fmt.Errorf("certs: peer certificate %s: %w", describe(leaf), err)
	}
	return nil
}

// verifyChain checks validity dates first (their error names the date),
// then the signature chain to the current CA, the key usage and, when
// host is set, that the certificate names host.
func (n *Node) verifyChain(c *credentials, chain []*x509.Certificate, usage x509.ExtKeyUsage, host string) error {
	now := n.now()
	if err := checkValid(chain[0], now); err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: c.pool, Intermediates: inter, CurrentTime: now,
		DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Errorf("not signed by the cluster CA (%q): %w", c.ca.Subject.CommonName, err)
	}
	return err
}

// PeerDial returns the client config for dialing peer nodes: it presents
// the current node certificate and verifies the server's against the
// current CA, requires the node role, and checks that the certificate
// names the server dialed. The verification is done in VerifyConnection,
// not by crypto/tls, so that a reloaded CA applies to the next connection.
//
// The server name checked is the one TLS sent (SNI: a DNS name, which
// gRPC takes from the address dialed), or else the ServerName of this
// config (PeerDialTo sets it). crypto/tls sends no IP address as SNI, so
// when one shared config dials peers by IP address (gRPC sets the address
// on its own clone, out of this config's sight) the name cannot be
// checked: the server must still hold a certificate of the cluster CA
// with the node role, which only nodes of the cluster have. Use
// PeerDialTo per peer to have IP addresses checked too.
func (n *Node) PeerDial() *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &n.creds.Load().cert, nil
		},
		// Not insecure: VerifyConnection below does the full verification
		// against the CA current at the handshake, which a static RootCAs
		// could not follow across Reload.
		InsecureSkipVerify: true,
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		name := cs.ServerName
		if name == "" {
			name = cfg.ServerName
		}
		return n.verifyServer(n.creds.Load(), name, cs)
	}
	return cfg
}

// PeerDialTo is PeerDial for the peer at addr ("host:port" or "host"):
// its ServerName is the host, an IP address or a DNS name.
func (n *Node) PeerDialTo(addr string) *tls.Config {
	cfg := n.PeerDial()
	cfg.ServerName = addr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	return cfg
}

func (n *Node) verifyServer(c *credentials, name string, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("certs: peer presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	// name is empty only for an IP address dialed through a shared config
	// (see PeerDial): the chain and the role are still checked.
	err := n.verifyChain(c, cs.PeerCertificates, x509.ExtKeyUsageServerAuth, name)
	if err == nil && !hasRole(leaf, RoleNode) {
		err = fmt.Errorf("lacks the node role (OU %q): not a Chorus node", RoleNode)
	}
	if err != nil {
		n.logger.Warn("certs: refused peer server certificate", "server", name, "cert", describe(leaf), "reason", err.Error())
		return fmt.Errorf("certs: server %s certificate %s: %w", name, describe(leaf), err)
	}
	return nil
}

// Identity returns the user (CN) of the client certificate of a
// connection a ClientListener config accepted, and false when the client
// presented none (a token client) or the certificate was not verified
// with the client role.
//
// The listener verifies chains itself (to log refusals), so crypto/tls
// leaves cs.VerifiedChains empty; the listener instead records each
// certificate it accepted, and Identity trusts only those (or a chain
// crypto/tls verified, from another config). A certificate from a config
// that merely requested one is never taken for an identity.
func Identity(cs *tls.ConnectionState) (user string, ok bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return "", false
	}
	leaf := cs.PeerCertificates[0]
	if !isVerified(leaf) && len(cs.VerifiedChains) == 0 {
		return "", false
	}
	if !hasRole(leaf, RoleClient) || !ValidUser(leaf.Subject.CommonName) {
		return "", false
	}
	return leaf.Subject.CommonName, true
}

// verified records the client certificates the listeners accepted, by
// identity of the parsed certificate: each handshake parses its own, so
// an entry vouches for one connection only. Entries are weak and removed
// when the certificate is collected, so closed connections leave nothing.
var verified sync.Map // weak.Pointer[x509.Certificate] -> struct{}

func markVerified(c *x509.Certificate) {
	wp := weak.Make(c)
	if _, loaded := verified.LoadOrStore(wp, struct{}{}); !loaded {
		runtime.AddCleanup(c, func(wp weak.Pointer[x509.Certificate]) { verified.Delete(wp) }, wp)
	}
}

func isVerified(c *x509.Certificate) bool {
	_, ok := verified.Load(weak.Make(c))
	return ok
}

// LoadClient returns the TLS config of a client (the CLI, the Go client)
// of the cluster whose certificates are in dir: it trusts ca.crt and, when
// client.USER.crt and client.USER.key both exist, presents them; without
// them it presents no certificate (for token authentication).
func LoadClient(dir, user string) (*tls.Config, error) {
	if !ValidUser(user) {
		return nil, fmt.Errorf("%w: user %q: want 1 to 64 of A-Z a-z 0-9 . _ -", ErrInvalid, user)
	}
	ca, err := readCert(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}
	certPath, keyPath := filepath.Join(dir, ClientCertFile(user)), filepath.Join(dir, ClientKeyFile(user))
	certOK, keyOK := exists(certPath), exists(keyPath)
	switch {
	case !certOK && !keyOK:
		return cfg, nil
	case !keyOK:
		return nil, fmt.Errorf("certs: %s exists but %s does not", certPath, keyPath)
	case !certOK:
		return nil, fmt.Errorf("certs: %s exists but %s does not", keyPath, certPath)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: %s, %s: %w", certPath, keyPath, err)
	}
	if !hasRole(cert.Leaf, RoleClient) || cert.Leaf.Subject.CommonName != user {
		return nil, fmt.Errorf("certs: %s: not a client certificate of user %q: %s", certPath, user, describe(cert.Leaf))
	}
	cfg.Certificates = []tls.Certificate{cert}
	return cfg, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
