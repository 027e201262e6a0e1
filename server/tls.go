package server

import (
	"crypto/tls"
	"net"
)

// Credentials secure a node's listeners and its connections to peers.
// The certs package's Node implements it; its configurations read the
// current certificates on every handshake, so a reload (SIGHUP) applies
// to new connections without restarting a listener.
type Credentials interface {
	// ClientListener serves the HTTP and client gRPC APIs: the node's
	// certificate, and a client certificate verified if one is given.
	ClientListener() *tls.Config
	// PeerListener serves other nodes: a certificate of the cluster's CA
	// with the node role is required.
	PeerListener() *tls.Config
	// PeerDialTo connects to the peer listener at addr (host:port): the
	// server's certificate must be a node's and name that host.
	PeerDialTo(addr string) *tls.Config
}

// insecureWarning is logged at start and reported by every /v1/status of
// a node that serves plaintext.
const insecureWarning = "serving without TLS: every API, including membership changes and internode RPCs, is open to anyone who can reach its ports (--insecure)"

// tlsListener wraps lis in TLS when cfg is set.
func tlsListener(lis net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return lis
	}
	return tls.NewListener(lis, cfg)
}
