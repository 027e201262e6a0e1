package handoff

import (
	"context"

	"github.com/chorusdb/chorus/ring"
)

// RingBefore returns the ring as it was before self joined, from the
// membership history (every placed member, removed ones included, as
// ring.New takes it): the members placed at an earlier epoch, as members.
// It is nil when there were none: self is of the cluster's first epoch,
// and no data existed before it.
//
// A node of the first epoch that starts with no handoff state while
// members that joined later are in the ring did not just found the
// cluster: its data directory was wiped (or predates handoff). It must
// not take its partitions as complete, so the ring before it is taken to
// be the other members: it pulls its partitions from them.
func RingBefore(self string, history []ring.Member, cfg ring.Config) *ring.Ring {
	var joined uint64
	for _, m := range history {
		if m.ID == self {
			joined = m.Joined
		}
	}
	later := false
	for _, m := range history {
		later = later || (m.ID != self && m.Removed == 0 && m.Joined > joined)
	}
	var before []ring.Member
	for _, m := range history {
		if m.ID == self || (m.Joined >= joined && !later) {
			continue
		}
		if m.Removed >= joined {
			m.Removed = 0 // still a member when self joined
		}
		if m.Removed == 0 {
			before = append(before, m)
		}
	}
	if len(before) == 0 {
		return nil
	}
	r, err := ring.New(before, cfg)
	if err != nil {
		return nil
	}
	return r
}

// UpdateFromHistory is Update for a caller that knows the ring's
// membership history but not the ring before this node joined: at the
// first ring of a node with no saved state (prev nil and Fresh), prev is
// RingBefore(history).
func (m *Manager) UpdateFromHistory(ctx context.Context, prev, next *ring.Ring, history []ring.Member, cfg ring.Config) error {
	if prev == nil && m.Fresh() {
		prev = RingBefore(m.cfg.Self, history, cfg)
	}
	return m.Update(ctx, prev, next)
}
