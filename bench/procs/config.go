package procs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Default ports of a Cluster: node i serves HTTP on 28080+i, gRPC on
// 29090+i, its peers on 29190+i and gossip on 27946+i, clear of the
// demo's (8080, 9090, 9190, 7946) and scripts/cluster.sh's (18080, 19090,
// 19190, 17946).
const (
	DefaultHTTPBase   = 28080
	DefaultGRPCBase   = 29090
	DefaultPeerBase   = 29190
	DefaultGossipBase = 27946
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("procs: invalid config")

// Config configures Start.
type Config struct {
	// Nodes is the number of node processes. Default 3.
	Nodes int
	// Bin is the chorus executable. Empty means the running executable,
	// which is chorus itself when the chorus command calls Start.
	Bin string
	// Dir holds the nodes' data (Dir/node<i>) and logs (Dir/node<i>.log).
	// Empty means a new temporary directory, removed by Close.
	Dir string
	// Extra are flags added to every node's command line.
	Extra []string
	// TLS secures the cluster as a deployment is: Start issues a CA, a
	// node certificate for 127.0.0.1 and a client certificate for root
	// into Dir/certs, the nodes serve with --certs-dir, and Dial and the
	// readiness checks use the client certificate. False runs the nodes
	// with --insecure.
	TLS bool
	// HTTPBase, GRPCBase, PeerBase and GossipBase place node i on
	// 127.0.0.1 at base+i. Defaults DefaultHTTPBase, DefaultGRPCBase,
	// DefaultPeerBase and DefaultGossipBase.
	HTTPBase, GRPCBase, PeerBase, GossipBase int
	// Hosts, when set, gives node i its own address Hosts[i] (127.0.0.2,
	// 127.0.0.3, ... on one machine), as separate machines have, so that
	// fault tests can cut traffic by address; it must list at least Nodes
	// IP addresses, and one more for each node Add starts later. Empty:
	// every node on 127.0.0.1.
	Hosts []string
	// ReadyTimeout bounds the wait for the ring to form. Default 1 min.
	ReadyTimeout time.Duration
	// StopTimeout is how long Close waits after SIGTERM before it kills
	// a node. Default 10 s.
	StopTimeout time.Duration
	// Log receives progress lines. Default io.Discard.
	Log io.Writer
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Nodes: 3, HTTPBase: DefaultHTTPBase, GRPCBase: DefaultGRPCBase, PeerBase: DefaultPeerBase, GossipBase: DefaultGossipBase,
		ReadyTimeout: time.Minute, StopTimeout: 10 * time.Second, Log: io.Discard}
}

// withDefaults fills the zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Nodes = or(c.Nodes, d.Nodes)
	c.HTTPBase, c.GRPCBase, c.GossipBase = or(c.HTTPBase, d.HTTPBase), or(c.GRPCBase, d.GRPCBase), or(c.GossipBase, d.GossipBase)
	c.PeerBase = or(c.PeerBase, d.PeerBase)
	c.ReadyTimeout, c.StopTimeout = or(c.ReadyTimeout, d.ReadyTimeout), or(c.StopTimeout, d.StopTimeout)
	if c.Log == nil {
		c.Log = d.Log
	}
	return c
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Validate reports negative counts, ports outside 1-65535 for any node,
// and negative timeouts; zero fields take their defaults. Errors wrap
// ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Nodes < 1 {
		errs = append(errs, fmt.Errorf("Nodes %d: want at least 1", c.Nodes))
	}
	for name, base := range map[string]int{"HTTPBase": c.HTTPBase, "GRPCBase": c.GRPCBase, "PeerBase": c.PeerBase, "GossipBase": c.GossipBase} {
		if base < 1 || base+c.Nodes-1 > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: ports %d-%d are not all valid", name, base, base, base+c.Nodes-1))
		}
	}
	if len(c.Hosts) > 0 && len(c.Hosts) < c.Nodes {
		errs = append(errs, fmt.Errorf("Hosts: %d addresses for %d nodes", len(c.Hosts), c.Nodes))
	}
	for _, h := range c.Hosts {
		if net.ParseIP(h) == nil {
			errs = append(errs, fmt.Errorf("Hosts: %q is not an IP address", h))
		}
	}
	if c.ReadyTimeout < 0 || c.StopTimeout < 0 {
		errs = append(errs, fmt.Errorf("ReadyTimeout %v and StopTimeout %v must not be negative", c.ReadyTimeout, c.StopTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}
