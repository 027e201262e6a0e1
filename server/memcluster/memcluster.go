package memcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/memnet"
	"github.com/chorusdb/chorus/vclock"
)

// ErrBadConfig is wrapped by Validate's and Start's errors for a Config
// that cannot start a cluster.
var ErrBadConfig = errors.New("memcluster: invalid config")

// Config configures a Cluster.
type Config struct {
	// Nodes are the nodes' IDs; every node has all of them as its fixed
	// membership. Default (when empty) NodeIDs(3).
	Nodes []string
	// Network configures the in-memory network, as memnet.New takes it:
	// its Seed decides which messages SetDrop loses. DefaultConfig sets
	// memnet.DefaultConfig(); the zero value is seed 0 and no message
	// size limit.
	Network memnet.Config
	// Configure, when set, adjusts node id's Config before it starts.
	Configure func(id string, cfg *server.Config)
	// Logger receives the nodes' logs. Default: discarded.
	Logger *slog.Logger
	// WaitTimeout bounds how long DrainHints and WaitConverged wait. It
	// is never waited out when the condition comes to hold: they return
	// at the first check after it does. Default 30 s, long enough for a
	// loaded machine. Zero means the default.
	WaitTimeout time.Duration
}

// defaultWait is WaitTimeout's default.
const defaultWait = 30 * time.Second

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{Nodes: NodeIDs(3), Network: memnet.DefaultConfig(), WaitTimeout: defaultWait}
}

func (c Config) withDefaults() Config {
	if len(c.Nodes) == 0 {
		c.Nodes = NodeIDs(3)
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = defaultWait
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// NodeIDs returns the IDs node0 … node<n-1>, as localcluster names its
// nodes.
func NodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node%d", i)
	}
	return ids
}

// Validate reports a Config Start cannot use (zero fields take their
// defaults); errors wrap ErrBadConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for _, id := range c.Nodes {
		if id == "" || seen[id] {
			return bad("node IDs %q: each must be non-empty and unique", c.Nodes)
		}
		seen[id] = true
	}
	if c.WaitTimeout < 0 {
		return bad("WaitTimeout %v: want >= 0", c.WaitTimeout)
	}
	if err := c.Network.Validate(); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Cluster is a cluster of in-memory nodes on one in-memory network.
type Cluster struct {
	// Net is the network the nodes talk over: partition, slow, drop,
	// pause or intercept it to inject faults.
	Net *memnet.Network
	// IDs are the nodes' IDs, in Config.Nodes order.
	IDs []string
	// Nodes are the running nodes by ID.
	Nodes map[string]*server.Node

	cfg       Config
	closeOnce sync.Once
	closeErr  error
}

// Start starts one node per ID of cfg.Nodes on a new network. It returns
// once every node serves; on error it closes the nodes it started and the
// network.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Cluster{Net: memnet.New(cfg.Network), IDs: slices.Clone(cfg.Nodes),
		Nodes: make(map[string]*server.Node, len(cfg.Nodes)), cfg: cfg}
	for _, id := range c.IDs {
		n, err := server.Start(ctx, c.nodeConfig(id))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("memcluster: start %s: %w", id, err), c.Close())
		}
		c.Nodes[id] = n
	}
	return c, nil
}

// nodeConfig returns the Config node id starts with.
func (c *Cluster) nodeConfig(id string) server.Config {
	cfg := server.DefaultConfig()
	cfg.NodeID, cfg.InMemory, cfg.MemNet, cfg.Members = id, true, c.Net, c.IDs
	cfg.Logger = c.cfg.Logger
	if c.cfg.Configure != nil {
		c.cfg.Configure(id, &cfg)
	}
	return cfg
}

// Close closes every node, then the network, and waits for them. Later
// calls return the first call's error.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, id := range c.IDs {
			if n := c.Nodes[id]; n != nil {
				if err := n.Close(); err != nil {
					errs = append(errs, fmt.Errorf("memcluster: close %s: %w", id, err))
				}
			}
		}
		errs = append(errs, c.Net.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Primaries returns the primary replicas of key. Membership is fixed, so
// every node's ring is the same; the first node's is asked.
func (c *Cluster) Primaries(key string) []string {
	r := c.Nodes[c.IDs[0]].Ring()
	return r.PreferenceList([]byte(key), r.Replicas())
}

// Stored returns node id's stored set of key, empty when it holds none.
func (c *Cluster) Stored(ctx context.Context, id, key string) (vclock.Set, error) {
	n, ok := c.Nodes[id]
	if !ok {
		return vclock.Set{}, fmt.Errorf("memcluster: no node %q", id)
	}
	p := n.Ring().Partition([]byte(key))
	s, err := n.Storage().Get(ctx, p, []byte(key))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return vclock.Set{}, fmt.Errorf("memcluster: %s: get %q: %w", id, key, err)
	}
	return s, nil
}

// ReplicaSets returns each primary's stored set of key.
func (c *Cluster) ReplicaSets(ctx context.Context, key string) (map[string]vclock.Set, error) {
	out := map[string]vclock.Set{}
	for _, id := range c.Primaries(key) {
		s, err := c.Stored(ctx, id, key)
		if err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, nil
}

// Converged reports whether every set is non-empty and all are equal.
func Converged(sets map[string]vclock.Set) bool {
	var first *vclock.Set
	for _, s := range sets {
		if s.IsEmpty() {
			return false
		}
		if first == nil {
			first = &s
		} else if !first.Equal(s) {
			return false
		}
	}
	return true
}

// WaitConverged waits until every primary of key holds the same
// non-empty set.
func (c *Cluster) WaitConverged(ctx context.Context, key string) error {
	return c.await(ctx, fmt.Sprintf("the replicas of %q to converge", key), func(ctx context.Context) (string, error) {
		sets, err := c.ReplicaSets(ctx, key)
		if err != nil || Converged(sets) {
			return "", err
		}
		return fmt.Sprintf("sets %v", sets), nil
	})
}

// DrainHints prompts every node to deliver its hints and waits until no
// node holds any. The network must let them through (Heal it first).
func (c *Cluster) DrainHints(ctx context.Context) error {
	return c.await(ctx, "the hints to drain", func(context.Context) (string, error) {
		var pending []string
		for _, id := range c.IDs {
			n := c.Nodes[id]
			n.NotifyHints()
			if n.HintsPending() > 0 {
				pending = append(pending, fmt.Sprintf("%s: %+v", id, n.Status().Hints))
			}
		}
		if len(pending) > 0 {
			return "hints pending on " + strings.Join(pending, "; "), nil
		}
		return "", nil
	})
}

// pollEvery is how often await checks its condition: often, because a
// condition that holds should end the wait at once.
const pollEvery = time.Millisecond

// await checks cond until it reports nothing pending, for at most
// Config.WaitTimeout. cond returns what is still missing, or an error
// that ends the wait at once (unless the wait's context ended: then the
// error says what was missing at the last complete check).
func (c *Cluster) await(ctx context.Context, what string, cond func(context.Context) (pending string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.WaitTimeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	last := "not checked once"
	for {
		pending, err := cond(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("memcluster: waiting for %s: %w", what, err)
		case err == nil && pending == "":
			return nil
		case err == nil:
			last = pending
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("memcluster: still waiting for %s (%s): %w", what, last, ctx.Err())
		case <-tick.C:
		}
	}
}
