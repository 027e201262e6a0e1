package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/transport/pb"
)

// downFor is how long a node whose connection failed is skipped (tried
// last) by routing. gRPC reconnects in the background meanwhile; the
// refresh triggered by the failure brings the cluster's own view.
const downFor = 2 * time.Second

// table is one immutable routing table built from a ClusterInfoResponse.
type table struct {
	info   *pb.ClusterInfoResponse
	owners [][]uint32 // per partition, primaries best first, indexes into info.Members
}

// newTable checks resp and cuts its owners into partitions. A response
// without partitions or owners gives an empty table (routing then uses the
// endpoints); a malformed one is an error.
func newTable(resp *pb.ClusterInfoResponse) (*table, error) {
	t := &table{info: resp}
	q, o := int(resp.GetPartitions()), resp.GetOwners()
	if q == 0 || len(o) == 0 {
		return t, nil
	}
	if q&(q-1) != 0 || len(o)%q != 0 {
		return nil, fmt.Errorf("malformed routing table: %d owners for %d partitions", len(o), q)
	}
	per := len(o) / q
	for _, i := range o {
		if int(i) >= len(resp.Members) {
			return nil, fmt.Errorf("malformed routing table: member index %d of %d", i, len(resp.Members))
		}
	}
	t.owners = make([][]uint32, q)
	for p := range q {
		t.owners[p] = o[p*per : (p+1)*per]
	}
	return t, nil
}

// primaries returns the members serving key as primaries, best first; nil
// when the table is empty.
func (t *table) primaries(key []byte) []*pb.Member {
	if t == nil || len(t.owners) == 0 {
		return nil
	}
	idx := t.owners[ring.PartitionOf(key, len(t.owners))]
	ms := make([]*pb.Member, 0, len(idx))
	for _, i := range idx {
		ms = append(ms, t.info.Members[i])
	}
	return ms
}

// candidates returns the addresses to try for key, in order: the
// primaries that are alive and reachable, then the other primaries (a
// last resort: the failure detector may be wrong), or the endpoints when
// the table has no primary with an address.
func (c *Client) candidates(key []byte) []string {
	var good, bad []string
	for _, m := range c.table.Load().primaries(key) {
		addr := m.GetGrpcAddr()
		if addr == "" {
			continue
		}
		if m.GetAlive() && !c.isDown(addr) {
			good = append(good, addr)
		} else {
			bad = append(bad, addr)
		}
	}
	if len(good)+len(bad) == 0 {
		return c.cfg.Endpoints
	}
	return append(good, bad...)
}

func (c *Client) isDown(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.down[addr]
	return ok && c.cfg.Clock.Since(at) < downFor
}

// markDown records that addr could not be reached and asks for a refresh.
func (c *Client) markDown(addr string) {
	c.mu.Lock()
	c.down[addr] = c.cfg.Clock.Now()
	c.mu.Unlock()
	c.kick()
}

// kick asks the refresher for a refresh now, without blocking.
func (c *Client) kick() {
	select {
	case c.refreshNow <- struct{}{}:
	default:
	}
}

// refreshLoop is the client's one goroutine: it refreshes the table every
// RefreshInterval and when kicked, until Close.
func (c *Client) refreshLoop() {
	defer c.wg.Done()
	tick, ticks := c.cfg.Clock.NewTicker(c.cfg.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticks:
		case <-c.refreshNow:
		}
		ctx, cancel := context.WithTimeout(c.stopCtx, c.cfg.RequestTimeout)
		if _, err := c.refresh(ctx); err != nil {
			c.cfg.Logger.Warn("client: routing table refresh failed", "err", err)
		}
		cancel()
	}
}

// refresh fetches ClusterInfo from the first node that answers (the alive
// members of the current table, then the endpoints), installs the new
// table and returns the response.
func (c *Client) refresh(ctx context.Context) (*pb.ClusterInfoResponse, error) {
	var lastErr error
	sources := c.infoSources()
	for _, addr := range sources {
		resp, err := c.clusterInfo(ctx, addr)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		t, err := newTable(resp)
		if err != nil {
			lastErr = &Error{Code: codes.Internal, Message: err.Error(), Node: addr}
			continue
		}
		if old := c.table.Load(); old == nil || old.info.GetRingVersion() != resp.GetRingVersion() {
			c.cfg.Logger.Debug("client: routing table", "ring_version", resp.GetRingVersion(),
				"members", len(resp.GetMembers()), "partitions", resp.GetPartitions(), "from", addr)
		}
		c.table.Store(t)
		return resp, nil
	}
	if lastErr == nil {
		return nil, &Error{Code: codes.Unavailable, NotSent: true, Message: "no node to ask for cluster info"}
	}
	var e *Error
	if !errors.As(lastErr, &e) {
		return nil, lastErr // ErrClosed
	}
	return nil, &Error{Code: e.Code, Node: e.Node, NotSent: e.NotSent,
		Message: fmt.Sprintf("cluster info: no node answered (tried %s): %s", strings.Join(sources, ", "), e.Message)}
}

func (c *Client) clusterInfo(ctx context.Context, addr string) (*pb.ClusterInfoResponse, error) {
	kv, err := c.kv(ctx, addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	resp, err := kv.ClusterInfo(ctx, &pb.ClusterInfoRequest{})
	return resp, convert(err, addr)
}

// infoSources lists where to ask for ClusterInfo, without duplicates.
func (c *Client) infoSources() []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if t := c.table.Load(); t != nil {
		for _, m := range t.info.GetMembers() {
			if m.GetAlive() && !c.isDown(m.GetGrpcAddr()) {
				add(m.GetGrpcAddr())
			}
		}
	}
	for _, e := range c.cfg.Endpoints {
		add(e)
	}
	return out
}
