package server

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/ring"
)

// membership is what a node needs to know about the cluster: the ring
// records (who owns data, and where each node serves) and liveness.
// *gossip.Membership provides it through gossipMembership; tests on the
// in-memory network use staticMembership.
type membership interface {
	ID() string
	Alive(node string) bool
	Records() []gossip.MemberRecord
	// RingHash changes whenever the records do.
	RingHash() uint64
	// Subscribe notifies after the records or liveness changed.
	Subscribe() (<-chan struct{}, func())
	Close() error
}

type gossipMembership struct{ *gossip.Membership }

func (g gossipMembership) Records() []gossip.MemberRecord { return g.Ring().Records() }

// staticMembership is a fixed ring of members placed at bootstrap, with
// liveness given by a function (the in-memory network's links).
type staticMembership struct {
	self    string
	records []gossip.MemberRecord
	alive   func(node string) bool
}

func newStaticMembership(self string, members []string, alive func(string) bool) *staticMembership {
	m := &staticMembership{self: self, alive: alive}
	for _, id := range members {
		m.records = append(m.records, gossip.MemberRecord{ID: id, Weight: 1, Status: gossip.StatusActive, Placed: true, Version: 1})
	}
	return m
}

func (m *staticMembership) ID() string                     { return m.self }
func (m *staticMembership) Alive(node string) bool         { return node == m.self || m.alive(node) }
func (m *staticMembership) Records() []gossip.MemberRecord { return slices.Clone(m.records) }
func (m *staticMembership) RingHash() uint64               { return 1 }

// Subscribe never notifies: the records are fixed and liveness follows
// the network's links, which hint delivery polls.
func (m *staticMembership) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}
func (m *staticMembership) Close() error { return nil }

// ringMembers returns the placed records as the ring's membership history
// (removed members included).
func ringMembers(recs []gossip.MemberRecord) []ring.Member {
	members := make([]ring.Member, 0, len(recs))
	for _, r := range recs {
		if r.Placed {
			members = append(members, ring.Member{ID: r.ID, Zone: r.Zone, Weight: r.Weight, Joined: r.Joined, Removed: r.Removed})
		}
	}
	return members
}

// buildRing computes the ring of the placed records.
func buildRing(recs []gossip.MemberRecord, cfg ring.Config) (*ring.Ring, error) {
	rg, err := ring.New(ringMembers(recs), cfg)
	if err != nil {
		return nil, fmt.Errorf("server: build ring: %w", err)
	}
	return rg, nil
}

// joinCluster joins the seeds, or bootstraps a new cluster when there are
// none.
func joinCluster(ctx context.Context, g *gossip.Membership, seeds []string) error {
	if len(seeds) == 0 {
		return g.Bootstrap(ctx)
	}
	return g.Join(ctx, seeds)
}

// rejoinRemembered reaches out, in the background until one answers or
// the node closes, to the members this node saw alive before it
// restarted, when it was started without seeds: they may have declared it
// dead, and memberlist does not probe dead nodes, so without this they
// would never see it alive again (hints for it would wait for good).
func (n *Node) rejoinRemembered() {
	addrs := n.gossip.Remembered()
	if len(addrs) == 0 {
		return // a new cluster's first node
	}
	n.log.Info("started without seeds: rejoining the members last seen alive", "members", addrs)
	n.wg.Go(func() {
		if err := n.gossip.Rejoin(n.life); err != nil && n.life.Err() == nil {
			n.log.Warn("could not rejoin the members last seen alive", "members", addrs, "err", err)
		}
	})
}
