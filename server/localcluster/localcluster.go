package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chorusdb/chorus/server"
)

// ErrBadConfig is wrapped by Start's error for a Config it cannot start.
var ErrBadConfig = errors.New("localcluster: invalid config")

// Cluster is a cluster of nodes in this process on loopback, as `chorus
// demo` runs it.
type Cluster struct {
	cfg   Config
	Nodes []*server.Node
}

// Config configures a Cluster.
type Config struct {
	// Nodes is the number of nodes. Default 3.
	Nodes int
	// BasePort places node i's HTTP API on BasePort+i, its gRPC API on
	// BasePort+1010+i, its peer listener on BasePort+1110+i and its
	// gossip on BasePort-134+i (with 8080: HTTP 8080, gRPC 9090, peer
	// 9190, gossip 7946 for node 0, the defaults of `chorus node`). Zero
	// picks free ports.
	BasePort int
	// Dir holds node i's data in Dir/node<i>.
	Dir string
	// Configure, when set, adjusts each node's Config before it starts.
	Configure func(i int, cfg *server.Config)
	// Logger receives the nodes' logs.
	Logger *slog.Logger
}

// Ports returns node i's listen addresses under base.
func Ports(base, i int) server.Addrs {
	at := func(p int) string {
		if base == 0 {
			p = 0
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return server.Addrs{HTTP: at(base + i), GRPC: at(base + 1010 + i), Peer: at(base + 1110 + i), Gossip: at(base - 134 + i)}
}

// NodeConfig returns the Config of node i of a local cluster; seed is
// node 0's gossip address (empty for node 0 itself).
func (c Config) NodeConfig(i int, seed string) server.Config {
	cfg := server.DefaultConfig()
	cfg.NodeID = fmt.Sprintf("node%d", i)
	cfg.DataDir = filepath.Join(c.Dir, cfg.NodeID)
	a := Ports(c.BasePort, i)
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.PeerAddr, cfg.GossipAddr = a.HTTP, a.GRPC, a.Peer, a.Gossip
	if seed != "" {
		cfg.Join = []string{seed}
	}
	cfg.Logger = c.Logger
	if c.Configure != nil {
		c.Configure(i, &cfg)
	}
	return cfg
}

// Start starts a local cluster: node 0 bootstraps it and the others join
// node 0. It returns once every node sees the whole ring and has received
// its partitions. On error it closes the nodes it started.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.Nodes < 1 || cfg.Dir == "" {
		return nil, fmt.Errorf("%w: a local cluster needs at least one node and a directory", ErrBadConfig)
	}
	if cfg.BasePort != 0 && (cfg.BasePort < 134 || cfg.BasePort+1110+cfg.Nodes > 65535) {
		return nil, fmt.Errorf("%w: base port %d leaves no room for %d nodes' ports (HTTP P+i, gRPC P+1010+i, peer P+1110+i, gossip P-134+i)",
			ErrBadConfig, cfg.BasePort, cfg.Nodes)
	}
	lc := &Cluster{cfg: cfg}
	for i := range cfg.Nodes {
		seed := ""
		if i > 0 {
			seed = lc.Nodes[0].Addrs().Gossip
		}
		n, err := server.Start(ctx, cfg.NodeConfig(i, seed))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("localcluster: start node %d: %w", i, err), lc.Close())
		}
		lc.Nodes = append(lc.Nodes, n)
	}
	if err := lc.waitRing(ctx); err != nil {
		return nil, errors.Join(err, lc.Close())
	}
	return lc, nil
}

// ringWait bounds how long Start waits for every node to see the
// whole ring.
const ringWait = 30 * time.Second

// waitRing waits until every node's ring holds every node and every node
// has received its partitions (the joiners pull them, empty, from the
// first node), so that the first requests see the cluster they were
// started with and every replica counts toward R.
func (lc *Cluster) waitRing(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ringWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, n := range lc.Nodes {
			st := n.Transfers()
			if r := n.Ring(); r == nil || r.Size() < len(lc.Nodes) || st.Waiting+st.InFlight+st.Stalled > 0 {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localcluster: nodes do not all see the %d-node ring with their partitions received: %w",
				len(lc.Nodes), ctx.Err())
		case <-tick.C:
		}
	}
}

// Close stops every node.
func (lc *Cluster) Close() error {
	var errs []error
	for _, n := range lc.Nodes {
		if n != nil {
			errs = append(errs, n.Close())
		}
	}
	return errors.Join(errs...)
}
