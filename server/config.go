package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/transport/memnet"
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("server: invalid config")

// Config configures one node. Start from DefaultConfig.
type Config struct {
	// NodeID names the node in the ring. Empty means the ID persisted in
	// the data directory, or a new random one on the first start.
	NodeID string
	// DataDir holds the node's data. Empty requires InMemory.
	DataDir string
	// InMemory keeps all data in memory (tests, demos without a disk).
	InMemory bool
	// HTTPAddr, GRPCAddr and GossipAddr are where the node listens,
	// host:port; port 0 picks a free port (Node.Addrs reports it).
	HTTPAddr, GRPCAddr, GossipAddr string
	// PeerAddr is where the node serves other nodes (internode RPCs and
	// forwarded writes), host:port; with TLS only certificates of the
	// cluster's CA with the node role are accepted there. Empty serves
	// them on GRPCAddr, beside the client API, which TLS does not allow.
	PeerAddr string
	// TLS secures every listener and every connection to a peer. Nil
	// serves plaintext, with a warning in the log and in /v1/status.
	TLS Credentials
	// Advertise is the host other nodes and clients use to reach this one,
	// an IP address or a DNS name (resolved by whoever connects, so a
	// Kubernetes pod's stable name works); empty means the host of each
	// listen address, which must then not be a wildcard (0.0.0.0 or ::).
	Advertise string
	// Join lists gossip addresses of nodes already in the cluster, host
	// names allowed (resolved anew at every attempt); this node's own
	// address among them is skipped. Empty, or only this node, bootstraps
	// a new cluster with this node.
	Join []string
	// JoinTimeout bounds Start's wait for a seed to answer. Zero means the
	// default, 1 min; a negative value retries until a seed answers or
	// Start's context ends.
	JoinTimeout time.Duration
	// Zone is the node's failure domain.
	Zone string
	// Ring holds Q (partitions) and N (replicas); every node of a cluster
	// must use the same values.
	Ring ring.Config
	// GossipKey, when set, encrypts gossip (16, 24 or 32 bytes).
	GossipKey []byte
	// Defaults are the quorum settings of requests that do not set them.
	// Defaults.N may not exceed Ring.Replicas: no request may ask for more
	// replicas than the ring keeps.
	Defaults replica.Options
	// Hints configures the hinted-handoff queue.
	Hints hints.Config
	// AntiEntropy paces Merkle anti-entropy (its Pairs and Logger are set
	// by the node; zero fields take repair's defaults).
	AntiEntropy repair.Config
	// NoAntiEntropy turns anti-entropy off: no trees kept on the write
	// path, no exchanges. Other nodes' exchanges with this one then fail
	// as not ready.
	NoAntiEntropy bool
	// Tombstones configures tombstone collection (its Targets and Logger
	// are set by the node). Grace, default 1 h, is also the longest a
	// hint may wait (Hints.MaxAge is capped to it: an older hint could
	// bring back a collected delete) and the longest a node may be down
	// before it must be wiped (see ForceRejoin).
	Tombstones repair.CollectorConfig
	// StorageGCInterval is how often storage's garbage collection looks
	// for disk to reclaim (storage.Options.GCInterval): 0 its default
	// (1 min), negative off.
	StorageGCInterval time.Duration
	// Handoff paces ownership handoff (Self, Store, Source, Liveness and
	// Logger are set by the node).
	Handoff handoff.Config
	// ForceRejoin lets a node whose data is older than the tombstone grace
	// period start anyway, at the risk of bringing back deleted values.
	ForceRejoin bool
	// ShutdownTimeout bounds how long Close waits for in-flight requests.
	// Default 10 s.
	ShutdownTimeout time.Duration
	// HTTP bounds the connections of the HTTP API.
	HTTP HTTPConfig
	// Backup paces the backup scans the node serves and bounds restore
	// batches (zero fields take their defaults).
	Backup BackupConfig
	// Auth, when set, checks the credentials of every client request
	// (HTTP, and the KV service of gRPC) against roles. Nil with TLS
	// means no auth file: every client certificate of the cluster's CA
	// has every role, and a request without one is refused. Nil without
	// TLS serves every request to anyone (--insecure, in-memory test
	// clusters).
	Auth *AuthConfig
	// Logger receives the node's logs. Nil means slog.Default().
	Logger *slog.Logger
	// FaultInjection lets an admin inject faults into the running node
	// through /v1/faults (a wall-clock offset, a full or slow disk under
	// the commit log; see faults.go), for fault tests such as chorus
	// nemesis. Never for a node that holds data anyone needs.
	FaultInjection bool

	// MemNet, when set, replaces gRPC and gossip by an in-memory network
	// for tests: the node registers its handlers there under NodeID and
	// reaches its peers through it. Members is then the fixed ring
	// membership, and a node counts as alive while the network links it
	// to this one.
	MemNet  *memnet.Network
	Members []string
}

// HTTPConfig bounds each connection of the HTTP API, so that a client
// that stalls or goes quiet cannot hold a connection, and the handler
// reading from it, forever. Zero fields take their defaults.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's line and headers.
	// Default 10 s; at most ReadTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, from its
	// first byte. A PUT whose body stalls is answered 408 when it passes.
	// Default 1 min.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer: reading the body, serving the request (whose
	// own timeout is at most 1 min) and writing the answer to a client
	// that may read it slowly. Default 3 min; it must exceed ReadTimeout
	// by more than the 1 min a request may take.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection may wait for its
	// next request. Default 2 min.
	IdleTimeout time.Duration
}

// DefaultHTTPConfig returns the defaults described on HTTPConfig.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 3 * time.Minute, IdleTimeout: 2 * time.Minute}
}

// withDefaults returns c with every zero field set to its default.
func (c HTTPConfig) withDefaults() HTTPConfig {
	d := DefaultHTTPConfig()
	for _, f := range []struct{ v, d *time.Duration }{
		{&c.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&c.ReadTimeout, &d.ReadTimeout},
		{&c.WriteTimeout, &d.WriteTimeout}, {&c.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return c
}

// Validate reports the first field out of range; zero fields are valid.
func (c HTTPConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout}} {
		if f.v < 0 {
			return fmt.Errorf("http: %s %v is negative", f.name, f.v)
		}
	}
	c = c.withDefaults()
	if c.ReadHeaderTimeout > c.ReadTimeout {
		return fmt.Errorf("http: ReadHeaderTimeout %v exceeds ReadTimeout %v", c.ReadHeaderTimeout, c.ReadTimeout)
	}
	if c.WriteTimeout <= c.ReadTimeout+maxTimeout {
		return fmt.Errorf("http: WriteTimeout %v leaves no time to answer: it must exceed ReadTimeout %v plus the longest request timeout %v",
			c.WriteTimeout, c.ReadTimeout, maxTimeout)
	}
	return nil
}

// DefaultConfig returns a node listening on the default loopback ports
// with N=3, R=2, W=2 durable requests.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:        "127.0.0.1:8080",
		GRPCAddr:        "127.0.0.1:9090",
		GossipAddr:      "127.0.0.1:7946",
		PeerAddr:        "127.0.0.1:9190",
		JoinTimeout:     time.Minute,
		Ring:            ring.DefaultConfig(),
		Defaults:        replica.DefaultOptions(),
		Hints:           hints.DefaultConfig(),
		ShutdownTimeout: 10 * time.Second,
		HTTP:            DefaultHTTPConfig(),
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if c.DataDir == "" && !c.InMemory {
		return bad("a data directory is required (or in-memory mode)")
	}
	if c.DataDir != "" && c.InMemory {
		return bad("data directory %q given in in-memory mode", c.DataDir)
	}
	if err := c.Ring.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := c.Defaults.Validate(0); err != nil {
		return bad("default quorum: %v", err)
	}
	rf := c.Ring.Replicas
	if rf == 0 {
		rf = ring.DefaultReplicas
	}
	if c.Defaults.N > rf {
		return bad("default quorum: n=%d exceeds the ring's replication factor %d", c.Defaults.N, rf)
	}
	if err := c.Hints.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := c.HTTP.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := c.Backup.Validate(); err != nil {
		return bad("%v", err)
	}
	if c.Auth != nil {
		if err := c.Auth.Validate(); err != nil {
			return bad("%v", err)
		}
	}
	ae := c.AntiEntropy
	ae.Pairs = func() []repair.Pair { return nil } // set by the node
	if err := ae.Validate(); err != nil {
		return bad("anti-entropy: %v", err)
	}
	tc := c.Tombstones
	tc.Targets = func() []repair.Target { return nil } // set by the node
	if err := tc.Validate(); err != nil {
		return bad("tombstones: %v", err)
	}
	if c.MemNet != nil {
		if c.NodeID == "" || len(c.Members) == 0 {
			return bad("in-memory network mode needs NodeID and Members")
		}
		return nil
	}
	if c.TLS != nil && c.PeerAddr == "" {
		return bad("TLS needs a peer address: other nodes are served on a listener of their own")
	}
	if c.Auth != nil && c.PeerAddr == "" {
		return bad("authorization needs a peer address: other nodes, which present no client credentials, are served on a listener of their own")
	}
	addrs := []struct{ name, addr string }{
		{"http address", c.HTTPAddr}, {"grpc address", c.GRPCAddr}, {"gossip address", c.GossipAddr},
	}
	if c.PeerAddr != "" {
		addrs = append(addrs, struct{ name, addr string }{"peer address", c.PeerAddr})
	}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a.addr)
		if err != nil {
			return bad("%s %q: %v", a.name, a.addr, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return bad("%s %q: bad port", a.name, a.addr)
		}
		if c.Advertise == "" && isWildcard(host) {
			return bad("%s %q listens on every interface: set the advertised host", a.name, a.addr)
		}
	}
	return nil
}

func isWildcard(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TLS != nil && c.Auth == nil {
		// A listener that takes connections without a client certificate
		// (for tokens) must not serve them unauthenticated.
		c.Auth = &AuthConfig{Authorizer: auth.NewStaticAuthorizer(nil)}
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = d.JoinTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	c.HTTP = c.HTTP.withDefaults()
	if c.Defaults == (replica.Options{}) {
		c.Defaults = d.Defaults
	}
	if c.Tombstones.Grace == 0 {
		c.Tombstones.Grace = repair.DefaultGrace
	}
	if c.Hints.MaxAge == 0 || c.Hints.MaxAge > c.Tombstones.Grace {
		c.Hints.MaxAge = c.Tombstones.Grace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return c
}
