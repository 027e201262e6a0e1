package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrCannotChange is returned by Leave and Remove for a change the node
// cannot make: a node on the in-memory network, removing itself (use
// Leave), or an unknown node.
var ErrCannotChange = errors.New("server: membership change refused")

// leaveStallAfter is how long Leave waits without a handoff delivered
// before it reports the leave stalled (it keeps waiting).
const leaveStallAfter = time.Minute

// Leave hands this node's data to the nodes that take over its partitions
// and then reports it left (Left is closed); the caller stops the node. It
// removes the node from the ring first, so that writes go to the new
// owners at once while this node keeps serving its data to them until
// each has pulled its partitions, and until its hints are delivered.
// Progress is logged, and a leave that stops making progress is reported.
func (n *Node) Leave(ctx context.Context) error {
	if n.gossip == nil {
		return fmt.Errorf("%w: nodes on the in-memory network cannot leave", ErrCannotChange)
	}
	if !n.leaving.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: already leaving", ErrCannotChange)
	}
	self := n.ID()
	_ = n.gossip.Leave(ctx) // informational: the status others see until the removal spreads
	if err := n.gossip.Remove(ctx, self); err != nil && ctx.Err() != nil {
		return fmt.Errorf("server: leave: %w", err)
	}
	n.log.Info("leaving: removed from the ring; handing data off")
	lastLog, lastDelivered, lastProgress := time.Now(), -1, time.Now()
	for {
		r := n.coord.Ring()
		inRing := r != nil && len(r.PrimaryPartitions(self)) > 0
		owed, delivered := n.handoff.Outgoing()
		hints := n.HintsPending()
		if !inRing && delivered == owed && hints == 0 {
			n.log.Info("left the cluster: every partition handed off", "handoffs", owed)
			close(n.left)
			return nil
		}
		if delivered != lastDelivered {
			lastDelivered, lastProgress = delivered, time.Now()
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			stalled := time.Since(lastProgress) > leaveStallAfter
			log := n.log.Info
			if stalled {
				log = n.log.Warn
			}
			log("leaving: handing data off", "delivered", delivered, "owed", owed, "hints", hints,
				"stalled", stalled, "since_progress", time.Since(lastProgress).Round(time.Second))
		}
		n.notifyHints()
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: leave: %d of %d handoffs delivered, %d hints left: %w", delivered, owed, hints, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Left is closed once Leave has handed everything off.
func (n *Node) Left() <-chan struct{} { return n.left }

// Remove takes node id out of the ring for good: the operator's decision
// for a node that is gone. The remaining replicas of its partitions pull
// them from each other until every partition has N copies again.
func (n *Node) Remove(ctx context.Context, id string) error {
	if n.gossip == nil {
		return fmt.Errorf("%w: nodes on the in-memory network cannot change the ring", ErrCannotChange)
	}
	if id == n.ID() {
		return fmt.Errorf("%w: a node cannot remove itself; use leave", ErrCannotChange)
	}
	known := false
	for _, r := range n.members.Records() {
		known = known || r.ID == id
	}
	if !known {
		return fmt.Errorf("%w: no member %q", ErrCannotChange, id)
	}
	if err := n.gossip.Remove(ctx, id); err != nil {
		return fmt.Errorf("server: remove %s: %w", id, err)
	}
	n.log.Info("removed a node from the ring", "removed", id)
	return nil
}

// adminBackend is what the HTTP admin routes need.
type adminBackend interface {
	// StartLeave begins a leave in the background.
	StartLeave() error
	Remove(ctx context.Context, id string) error
}

// nodeAdmin serves the admin routes of a node.
type nodeAdmin struct{ n *Node }

// StartLeave runs Leave in a goroutine the node owns; it ends when the
// leave is done or the node closes.
func (a nodeAdmin) StartLeave() error {
	n := a.n
	if n.gossip == nil {
		return fmt.Errorf("%w: nodes on the in-memory network cannot leave", ErrCannotChange)
	}
	if n.leaving.Load() {
		return fmt.Errorf("%w: already leaving", ErrCannotChange)
	}
	n.wg.Go(func() {
		if err := n.Leave(n.life); err != nil && n.life.Err() == nil {
			n.log.Error("leave failed", "err", err)
		}
	})
	return nil
}

func (a nodeAdmin) Remove(ctx context.Context, id string) error { return a.n.Remove(ctx, id) }

func (a *httpAPI) leave(admin adminBackend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := admin.StartLeave(); err != nil {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"leaving": true,
			"progress": "GET /v1/transfers: owed and delivered handoffs; the node stops when all are delivered"})
	}
}

func (a *httpAPI) remove(admin adminBackend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("node")
		err := admin.Remove(r.Context(), id)
		switch {
		case errors.Is(err, ErrCannotChange):
			writeError(w, http.StatusBadRequest, err.Error())
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, map[string]any{"removed": id})
		}
	}
}
