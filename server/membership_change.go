package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/ring"
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
	n.leave.begin(time.Now(), n.handoff.Updates())
	self := n.ID()
	_ = n.gossip.Leave(ctx) // informational: the status others see until the removal spreads
	if err := n.gossip.Remove(ctx, self); err != nil && ctx.Err() != nil {
		return fmt.Errorf("server: leave: %w", err)
	}
	n.log.Info("leaving: removed from the ring; handing data off")
	lastLog, lastDelivered, lastProgress := time.Now(), -1, time.Now()
	for {
		inRing, out, mine := n.leaveView()
		hints := n.HintsPending()
		if !inRing && out.Delivered == out.Owed && hints == 0 {
			took := n.leave.finish(time.Now())
			n.log.Info("left the cluster: every partition handed off", "handoffs", mine.Owed,
				"partitions", mine.Partitions, "keys", mine.Keys, "bytes", mine.Bytes, "took", took.Round(time.Millisecond))
			close(n.left)
			return nil
		}
		if out.Delivered != lastDelivered {
			lastDelivered, lastProgress = out.Delivered, time.Now()
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			stalled := time.Since(lastProgress) > leaveStallAfter
			log := n.log.Info
			if stalled {
				log = n.log.Warn
			}
			log("leaving: handing data off", "delivered", out.Delivered, "owed", out.Owed, "hints", hints,
				"stalled", stalled, "since_progress", time.Since(lastProgress).Round(time.Second))
		}
		n.notifyHints()
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: leave: %d of %d handoffs delivered, %d hints left after %v: %w",
				out.Delivered, out.Owed, hints, n.leave.elapsed(time.Now()).Round(time.Millisecond), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// updateLeavers tells the coordinator which nodes left the ring but may
// still hold partitions whole (ring.Departures of this change, and of the
// earlier ones while their node stays out of the ring): reads ask such a
// node, while it is up, in place of a new owner that answers partially
// because it is still pulling, so a leave costs reads no replica. A node
// that finished leaving stops, and a node that is down is never asked.
// The caller holds ringMu.
func (n *Node) updateLeavers(prev, next *ring.Ring) {
	member := map[string]bool{}
	for _, m := range next.Members() {
		member[m.ID] = true
	}
	merged := ring.Departures(prev, next)
	for p, ids := range n.leavers {
		for _, id := range ids {
			if !member[id] && !slices.Contains(merged[p], id) {
				merged[p] = append(merged[p], id)
			}
		}
	}
	if len(merged) == 0 && len(n.leavers) == 0 {
		return
	}
	n.leavers = merged
	n.coord.SetLeavers(merged)
}

// leaveView reports whether this node is still a primary in the ring the
// node routes by, the handoffs it owes (all of them: every one must be
// delivered before it stops), and those the leave made owed (what it
// reports). They are read under ringMu, which refreshRing holds from
// installing a ring to planning its handoffs: read apart, a leave could
// see the ring without this node before the handoffs it makes owed are
// recorded, find 0 of 0 owed, and stop with nothing handed off.
func (n *Node) leaveView() (inRing bool, all, mine handoff.Outbound) {
	n.ringMu.Lock()
	defer n.ringMu.Unlock()
	r := n.coord.Ring()
	inRing = r != nil && len(r.PrimaryPartitions(n.ID())) > 0
	return inRing, n.handoff.OutgoingStatus(), n.handoff.OutgoingSince(n.leave.since())
}

// leaveClock times a leave, and marks the ring changes before it.
type leaveClock struct {
	mu                sync.Mutex
	started, finished time.Time
	mark              uint64 // handoff.Manager.Updates when it began
}

func (c *leaveClock) begin(now time.Time, mark uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started, c.mark = now, mark
}

// since is the mark of the ring changes before the leave; before a leave
// began, the largest (nothing is the leave's yet).
func (c *leaveClock) since() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		return math.MaxUint64
	}
	return c.mark
}

// finish marks the leave done and returns how long it took.
func (c *leaveClock) finish(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = now
	return now.Sub(c.started)
}

// elapsed is the leave's duration so far, or in all once finished; zero
// before it began.
func (c *leaveClock) elapsed(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.started.IsZero():
		return 0
	case !c.finished.IsZero():
		return c.finished.Sub(c.started)
	}
	return now.Sub(c.started)
}

// LeaveStatus is a leave's progress, as GET /v1/cluster/leave answers it.
type LeaveStatus struct {
	Node    string `json:"node"`
	Leaving bool   `json:"leaving"`
	// Left is set once every handoff is delivered; the node then stops.
	Left bool `json:"left"`
	// InRing is whether the node is still a primary in its own ring (the
	// removal not applied yet).
	InRing bool `json:"in_ring"`
	// Outbound are the handoffs the leave made owed: the partitions,
	// keys and bytes it hands off.
	handoff.Outbound
	// Waiting counts every handoff still owed, the leave's and any owed
	// from earlier ring changes: all are delivered before the node stops.
	Waiting int `json:"waiting"`
	// Hints are those this node still holds for others.
	Hints     int     `json:"hints"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// LeaveStatus returns the node's leave progress.
func (n *Node) LeaveStatus() LeaveStatus {
	inRing, all, mine := n.leaveView()
	st := LeaveStatus{Node: n.ID(), Leaving: n.leaving.Load(), InRing: inRing, Outbound: mine, Waiting: all.Owed - all.Delivered,
		Hints: n.HintsPending(), ElapsedMS: float64(n.leave.elapsed(time.Now())) / float64(time.Millisecond)}
	select {
	case <-n.left:
		st.Left = true
	default:
	}
	return st
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
	// LeaveStatus reports its progress.
	LeaveStatus() LeaveStatus
	// Left is closed once the leave is done.
	Left() <-chan struct{}
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

func (a nodeAdmin) LeaveStatus() LeaveStatus { return a.n.LeaveStatus() }
func (a nodeAdmin) Left() <-chan struct{}    { return a.n.Left() }

func (a *httpAPI) leave(admin adminBackend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := admin.StartLeave(); err != nil {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"leaving": true,
			"progress": "GET /v1/cluster/leave: owed and delivered handoffs; the node stops when all are delivered"})
	}
}

// maxLeaveWait bounds GET /v1/cluster/leave?wait=.
const maxLeaveWait = 10 * time.Second

// leaveStatus answers the leave's progress. With ?wait=D it first waits up
// to D (at most maxLeaveWait) for the leave to finish: a caller that polls
// this way has a request in flight when the node finishes, which the
// node's graceful shutdown answers with the final counts, where a plain
// poll would find the port closed.
func (a *httpAPI) leaveStatus(admin adminBackend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("wait"); v != "" {
			ms, err := parseTimeout(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			t := time.NewTimer(min(time.Duration(ms)*time.Millisecond, maxLeaveWait))
			defer t.Stop()
			select {
			case <-admin.Left():
			case <-t.C:
			case <-r.Context().Done():
			}
		}
		writeJSON(w, http.StatusOK, admin.LeaveStatus())
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
