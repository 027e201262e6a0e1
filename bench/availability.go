package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/memcluster"
	"github.com/chorusdb/chorus/transport/memnet"
	"github.com/chorusdb/chorus/transport/pb"
)

// Fault is the failure an availability measurement runs under.
type Fault string

// Faults.
const (
	// NoFault measures the healthy cluster.
	NoFault Fault = "none"
	// OneDown cuts one node off from everyone: to the others and to the
	// clients it is dead.
	OneDown Fault = "one-down"
	// Partition splits the cluster into a minority and a majority (2|3
	// for five nodes); clients on both sides keep sending to the nodes
	// of their side.
	Partition Fault = "partition"
)

// AvailabilityConfig configures MeasureAvailability.
type AvailabilityConfig struct {
	// Nodes is the cluster size. Default 5.
	Nodes int
	// N, R and W are the requests' quorum. Strict adds PR=R and PW=W:
	// only primaries count, so no fallback (sloppy quorum) stands in.
	N, R, W int
	Strict  bool
	// Fault is the failure to measure under. Default NoFault.
	Fault Fault
	// Duration is how long requests are sent under the fault. Default 2 s.
	Duration time.Duration
	// Clients is the number of concurrent clients, spread over the
	// coordinators in turn. Default two per coordinator, so that every
	// coordinator (and each side of a partition) gets its share.
	Clients int
	// Rate is the requests per second each client sends, on a fixed
	// schedule whatever the answers (an open loop): a closed loop would
	// let clients whose requests fail at once send far more requests than
	// those that succeed, and the share would measure speed, not
	// availability. Default 200.
	Rate float64
	// Keys is the size of the key space, preloaded before the fault.
	// Default 1000.
	Keys int
	// Timeout is each request's quorum timeout. Default 500 ms.
	Timeout time.Duration
	// Seed seeds the network and the clients.
	Seed int64
}

func (c AvailabilityConfig) withDefaults() AvailabilityConfig {
	if c.Nodes == 0 {
		c.Nodes = 5
	}
	if c.Fault == "" {
		c.Fault = NoFault
	}
	if c.Duration == 0 {
		c.Duration = 2 * time.Second
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	if c.Keys == 0 {
		c.Keys = 1000
	}
	if c.Timeout == 0 {
		c.Timeout = 500 * time.Millisecond
	}
	return c
}

// Validate reports a quorum that does not fit the cluster and unknown
// faults; errors wrap ErrInvalidConfig.
func (c AvailabilityConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.N < 1 || c.N > c.Nodes || c.R < 1 || c.R > c.N || c.W < 1 || c.W > c.N {
		errs = append(errs, fmt.Errorf("want 1 <= R, W <= N <= Nodes, got N=%d R=%d W=%d with %d nodes", c.N, c.R, c.W, c.Nodes))
	}
	switch c.Fault {
	case NoFault, OneDown:
	case Partition:
		if c.Nodes < 2 {
			errs = append(errs, fmt.Errorf("a partition needs at least 2 nodes, got %d", c.Nodes))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown fault %q", c.Fault))
	}
	if c.Duration < 0 || c.Clients < 0 || c.Keys < 0 || c.Timeout < 0 || !(c.Rate > 0) {
		errs = append(errs, errors.New("Duration, Clients, Keys and Timeout must not be negative, and Rate must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

// Availability is the outcome of MeasureAvailability: the share of
// requests that succeeded under the fault. A read that found nothing
// succeeded (it met its quorum).
type Availability struct {
	Fault  Fault `json:"fault"`
	Strict bool  `json:"strict"`
	// Puts and Gets count the requests sent, PutOK and GetOK those that
	// succeeded.
	Puts  int64 `json:"puts"`
	PutOK int64 `json:"put_ok"`
	Gets  int64 `json:"gets"`
	GetOK int64 `json:"get_ok"`
	// Sloppy counts the successes that a fallback helped.
	Sloppy int64 `json:"sloppy"`
	// Errors counts the failures by message (at most MaxErrorKinds
	// kinds, then OtherErrors).
	Errors map[string]int64 `json:"errors,omitempty"`
}

// errorCounter counts errors by message; it is safe for concurrent use.
type errorCounter struct {
	mu sync.Mutex
	s  OpStats
}

func (c *errorCounter) add(err error) {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Code().String() + ": " + st.Message()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.addErrors(msg, 1)
}

// Share returns the share of all requests that succeeded (1 when none
// was sent).
func (a *Availability) Share() float64 {
	if a.Puts+a.Gets == 0 {
		return 1
	}
	return float64(a.PutOK+a.GetOK) / float64(a.Puts+a.Gets)
}

// MeasureAvailability starts a cluster of cfg.Nodes nodes on the
// in-memory network (transport/memnet: in-memory storage, failures
// detected at once), preloads cfg.Keys keys with W=N, applies cfg.Fault
// and sends a 50/50 mix of reads and writes for cfg.Duration through
// every coordinator a client can still reach, each client at cfg.Rate,
// and reports how many succeeded. The cluster is closed before it
// returns.
func MeasureAvailability(ctx context.Context, cfg AvailabilityConfig) (*Availability, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	mc, err := startMemCluster(ctx, cfg.Nodes, cfg.N, cfg.Seed)
	if err != nil {
		return nil, err
	}
	defer mc.Close()
	q := &pb.Quorum{N: uint32(cfg.N), R: uint32(cfg.R), W: uint32(cfg.W), NotDurable: true,
		TimeoutMs: uint32(cfg.Timeout.Milliseconds())}
	if cfg.Strict {
		q.Pr, q.Pw = q.R, q.W
	}
	if err := preload(ctx, mc, cfg.Keys, &pb.Quorum{N: q.N, R: q.N, W: q.N, NotDurable: true}); err != nil {
		return nil, err
	}
	coords := applyFault(mc, cfg.Fault)
	if cfg.Clients == 0 {
		cfg.Clients = 2 * len(coords)
	}
	a := &Availability{Fault: cfg.Fault, Strict: cfg.Strict}
	var puts, putOK, gets, getOK, sloppy atomic.Int64
	var errs errorCounter
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Clients {
		coord := coords[i%len(coords)]
		wg.Go(func() {
			rng := newRand(cfg.Seed, i)
			// Client i of C at Rate each is client i of a C*Rate schedule.
			pace := newPacer(start, cfg.Rate*float64(cfg.Clients), cfg.Clients, i)
			for runCtx.Err() == nil {
				if !pace.wait(runCtx, pace.next()) {
					return
				}
				key := []byte(Key(rng.IntN(cfg.Keys)))
				if rng.IntN(2) == 0 {
					// Requests run under ctx, not runCtx: one sent just
					// before the end still gets its whole quorum timeout,
					// instead of failing on the measurement's deadline.
					resp, err := coord.KV().Put(ctx, &pb.PutRequest{Key: key, Value: []byte("v"), Quorum: q})
					if ctx.Err() != nil {
						return
					}
					puts.Add(1)
					if err != nil {
						errs.add(err)
						continue
					}
					putOK.Add(1)
					if resp.GetInfo().GetSloppy() {
						sloppy.Add(1)
					}
					continue
				}
				resp, err := coord.KV().Get(ctx, &pb.GetRequest{Key: key, Quorum: q})
				if ctx.Err() != nil {
					return
				}
				gets.Add(1)
				if err != nil {
					errs.add(err)
					continue
				}
				getOK.Add(1)
				if resp.GetInfo().GetSloppy() {
					sloppy.Add(1)
				}
			}
		})
	}
	wg.Wait()
	a.Puts, a.PutOK, a.Gets, a.GetOK, a.Sloppy = puts.Load(), putOK.Load(), gets.Load(), getOK.Load(), sloppy.Load()
	a.Errors = errs.s.ErrorKinds
	return a, ctx.Err()
}

// startMemCluster starts nodes in-memory nodes whose ring keeps at least
// replicas copies of each key (requests may not ask for more), without
// anti-entropy.
func startMemCluster(ctx context.Context, nodes, replicas int, seed int64) (*memcluster.Cluster, error) {
	mc, err := memcluster.Start(ctx, memcluster.Config{Nodes: memcluster.NodeIDs(nodes), Network: memnet.Config{Seed: seed},
		Configure: func(_ string, cfg *server.Config) {
			cfg.NoAntiEntropy = true
			cfg.Ring.Replicas = max(cfg.Ring.Replicas, replicas)
		}})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return mc, nil
}

// preload writes every key once through the nodes in turn.
func preload(ctx context.Context, mc *memcluster.Cluster, keys int, q *pb.Quorum) error {
	for i := range keys {
		n := mc.Nodes[mc.IDs[i%len(mc.IDs)]]
		if _, err := n.KV().Put(ctx, &pb.PutRequest{Key: []byte(Key(i)), Value: []byte("v"), Quorum: q}); err != nil {
			return fmt.Errorf("bench: preload %s: %w", Key(i), err)
		}
	}
	return nil
}

// applyFault applies f and returns the coordinators clients still reach:
// every node but a dead one.
func applyFault(mc *memcluster.Cluster, f Fault) []*server.Node {
	ids := mc.IDs
	switch f {
	case OneDown:
		last := len(ids) - 1
		mc.Net.Partition(ids[last:], ids[:last])
		ids = ids[:last]
	case Partition:
		minority := len(ids) / 2
		mc.Net.Partition(ids[:minority], ids[minority:])
	}
	coords := make([]*server.Node, len(ids))
	for i, id := range ids {
		coords[i] = mc.Nodes[id]
	}
	return coords
}
