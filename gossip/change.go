package gossip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"time"
)

// Join contacts the seeds (host:port, memberlist's gossip addresses) and
// exchanges full state with every one that answers: liveness and the ring
// state, which is merged both ways. It retries, pausing between
// Config.JoinBackoff and JoinMaxBackoff, until at least one seed answers
// or ctx ends; then it returns an error that wraps ctx.Err() and names
// the last failure. Seeds may be DNS names, resolved anew at every
// attempt (a name that does not resolve yet is retried); seeds that are
// this node's own address, or names resolving to it, are skipped. One attempt may outlive a cancelled ctx by up to memberlist's
// TCPTimeout; Close waits for it.
//
// Join also places this node in the ring if it is not placed yet. When
// the only seed is this node's own address, it is the first node and Join
// does what Bootstrap does. Otherwise, once a seed has answered, the
// node takes epoch maxEpoch+1 of the state merged with the seed's (see
// Bootstrap), saves that and spreads it as SetStatus does; a failure to
// push it to peers is only logged, as gossip spreads it anyway. It
// returns ErrRemoved (wrapped) if the ring says this node was removed.
func (m *Membership) Join(ctx context.Context, seeds []string) error {
	if m.closed.Load() {
		return ErrClosed
	}
	pause := m.cfg.JoinBackoff
	for attempt := 1; ; attempt++ {
		targets := m.otherSeeds(ctx, seeds)
		if len(targets) == 0 {
			if len(seeds) > 0 {
				return m.Bootstrap(ctx) // only ourselves: we are the first node
			}
			return ErrNoSeeds
		}
		n, err := m.pushPull(ctx, targets)
		if n > 0 {
			m.log.Info("joined cluster", "node", m.id, "seeds_answered", n, "attempts", attempt)
			return m.placeAfterJoin(ctx)
		}
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("gossip: join %v: no seed answered after %d attempts: %w (last error: %v)",
				targets, attempt, ctx.Err(), err)
		}
		m.log.Debug("join attempt failed", "seeds", targets, "attempt", attempt, "err", err)
		// Jitter by ±25% so nodes started together do not retry in step.
		d := pause*3/4 + rand.N(pause/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gossip: join %v: no seed answered after %d attempts: %w (last error: %v)",
				targets, attempt, ctx.Err(), err)
		case <-m.stop:
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		pause = min(2*pause, m.cfg.JoinMaxBackoff)
	}
}

// otherSeeds returns the seeds that are not this node. A seed whose host
// is a name is this node when one of the name's addresses, with the
// seed's port, is this node's gossip address; a name that does not
// resolve (yet) is kept, so that the attempt fails and is retried.
func (m *Membership) otherSeeds(ctx context.Context, seeds []string) []string {
	own := m.GossipAddr()
	_, ownPort, _ := net.SplitHostPort(own)
	ownIP := m.ml.LocalNode().Addr
	var out []string
	for _, s := range seeds {
		if s == "" || s == own {
			continue
		}
		host, port, err := net.SplitHostPort(s)
		if err == nil && port == ownPort && net.ParseIP(host) == nil {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ips, err := net.DefaultResolver.LookupIP(rctx, "ip", host)
			cancel()
			if err == nil && slices.ContainsFunc(ips, func(ip net.IP) bool { return ip.Equal(ownIP) }) {
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// placeAfterJoin places this node after a successful push/pull, if it
// is not placed yet.
func (m *Membership) placeAfterJoin(ctx context.Context) error {
	changed, err := m.place(false)
	if err != nil || !changed {
		return err
	}
	if err := m.spread(ctx); err != nil {
		m.log.Warn("placement saved but not pushed to a peer", "node", m.id, "err", err)
	}
	return nil
}

// Bootstrap places this node in the ring if it is not placed yet: it
// gives the node its Joined epoch, bumps its record's version, saves the
// state and spreads it as SetStatus does (see Remove for what an error
// after the save means). The epoch is maxEpoch, the largest Joined or
// Removed epoch of any record, when no other record is placed (the first
// node of a cluster gets epoch 0), and maxEpoch+1 otherwise. A placed
// node keeps its epoch: Bootstrap is then a no-op, which makes it
// idempotent, also across restarts with the same Store. It returns
// ErrRemoved (wrapped) if the ring says this node was removed.
//
// Join(ctx, []string{m.GossipAddr()}) does the same. Nodes that join a
// cluster are placed by Join; Bootstrap is for the first node, or for a
// node that must be placed without contacting anyone.
func (m *Membership) Bootstrap(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	changed, err := m.place(true)
	if err != nil || !changed {
		return err
	}
	return m.spread(ctx)
}

// place gives this node its Joined epoch unless it has one, after merging
// the remote states not applied yet (so that, after a push/pull, the
// seed's state counts). With first set and no other record placed, the
// epoch is maxEpoch (0 in a new cluster); otherwise it is maxEpoch+1.
// Nodes placed concurrently may get the same epoch; the ring orders
// same-epoch joins by ID, so that is harmless.
func (m *Membership) place(first bool) (bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if m.closed.Load() { // Close sets it under writeMu: no save after Close
		return false, ErrClosed
	}
	prev := m.cur.Load().state
	next := m.withPending(prev)
	r, _ := next.Get(m.id)
	switch {
	case r.Status == StatusRemoved:
		if _, err := m.commit(prev, next); err != nil {
			return false, err
		}
		return false, fmt.Errorf("%w: %q", ErrRemoved, m.id)
	case !r.Placed:
		epoch := maxEpoch(next) + 1
		if first && !placedOther(next, m.id) {
			epoch--
		}
		r.Placed, r.Joined, r.Version = true, epoch, r.Version+1
		next = next.with(r)
		m.log.Info("placed in the ring", "node", m.id, "epoch", epoch, "version", r.Version)
	}
	changed, err := m.commit(prev, next)
	if err == nil {
		m.self.Placed, m.self.Joined = r.Placed, r.Joined
	}
	return changed, err
}

// pushPull runs memberlist's Join (a TCP push/pull with each address) on
// a goroutine Close waits for, and returns when it finishes or ctx ends.
func (m *Membership) pushPull(ctx context.Context, addrs []string) (int, error) {
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1) // buffered: the goroutine never blocks on an abandoned call
	if err := m.goTracked(func() {
		n, err := m.ml.Join(addrs)
		done <- result{n, err}
	}); err != nil {
		return 0, err
	}
	select {
	case r := <-done:
		if r.n == 0 && r.err == nil {
			r.err = errors.New("no address answered")
		}
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// goTracked runs f on a goroutine that Close waits for, unless Close has
// begun.
func (m *Membership) goTracked(f func()) error {
	m.writeMu.Lock() // orders Add against Close's closed flag + Wait
	defer m.writeMu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
	return nil
}

// SetStatus sets the status of node nodeID (this node or another) to
// joining, active or leaving: a change of ownership, so it bumps the
// record's version, saves the new state, broadcasts it and pushes it to
// a few live peers (see Remove for what the error means). Setting the
// current status is a no-op. It returns ErrUnknownNode for a node not in
// the ring and ErrRemoved for a removed one; use Remove to remove.
func (m *Membership) SetStatus(ctx context.Context, nodeID string, st Status) error {
	if st != StatusJoining && st != StatusActive && st != StatusLeaving {
		return fmt.Errorf("gossip: set status of %q to %v: not joining, active or leaving", nodeID, st)
	}
	return m.change(ctx, nodeID, st)
}

// Leave marks this node leaving in the ring, so that the others plan to
// take over its partitions, and spreads that as SetStatus does. It does
// not stop gossip: the node keeps serving while it hands its data off.
// The full sequence of a graceful departure is Leave, hand-off,
// Remove(ctx, m.ID()), Close.
func (m *Membership) Leave(ctx context.Context) error {
	return m.change(ctx, m.id, StatusLeaving)
}

// Remove marks node nodeID removed from the ring: an operator's decision
// (or the last step of Leave), which is final for that node ID. The
// record stays as a tombstone. If the node is placed, its record gets
// Removed = maxEpoch+1 (see Bootstrap), an epoch after every Joined and
// Removed this node has seen; a node removed before it was placed keeps
// Removed = 0 and is no part of the ring's history. It returns
// ErrUnknownNode for a node not in the ring; removing a removed node is a
// no-op.
//
// Like SetStatus, Remove saves the change before it returns and queues
// it for broadcast, then pushes the state to up to three live peers over
// TCP and waits for that within ctx. An error after the save means only
// that no peer confirmed: the change stands locally and will spread by
// gossip and push/pull.
func (m *Membership) Remove(ctx context.Context, nodeID string) error {
	return m.change(ctx, nodeID, StatusRemoved)
}

func (m *Membership) change(ctx context.Context, nodeID string, st Status) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	changed, err := m.applyLocal(nodeID, st)
	if err != nil || !changed {
		return err
	}
	return m.spread(ctx)
}

func (m *Membership) applyLocal(nodeID string, st Status) (bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	prev := m.cur.Load().state
	r, ok := prev.Get(nodeID)
	switch {
	case !ok:
		return false, fmt.Errorf("%w: %q", ErrUnknownNode, nodeID)
	case r.Status == st:
		return false, nil
	case r.Status == StatusRemoved:
		return false, fmt.Errorf("%w: %q", ErrRemoved, nodeID)
	}
	r.Status, r.Version = st, r.Version+1
	if st == StatusRemoved && r.Placed {
		r.Removed = maxEpoch(prev) + 1
	}
	m.log.Info("ring status change", "node", nodeID, "status", st, "version", r.Version, "removed_epoch", r.Removed)
	return m.commit(prev, prev.with(r))
}

// spread pushes the current state to up to three random live peers.
func (m *Membership) spread(ctx context.Context) error {
	var peers []string
	for _, lm := range m.LiveMembers() {
		if lm.NodeID != m.id {
			peers = append(peers, lm.GossipAddr)
		}
	}
	if len(peers) == 0 {
		return nil
	}
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	peers = peers[:min(3, len(peers))]
	if _, err := m.pushPull(ctx, peers); err != nil {
		return fmt.Errorf("gossip: change saved but no peer confirmed it (it will spread by gossip): %w", err)
	}
	return nil
}
