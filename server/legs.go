package server

import (
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/transport"
)

// legWindow is how many of the most recent batches' delays a node keeps
// per leg.
const legWindow = 8192

// LegSamples are one-way delays of a node's recent replicate and fetch
// batches, as the staleness model (WARS) names its legs: W from sending a
// write to the replica having applied it, A from then to the ack's
// arrival, R from sending a read to the replica having read, S from then
// to the answer's arrival. A replica stamps its answer when the batch
// became visible there, before its sync, so a durable write's sync is
// part of A. L is the coordinator's own copy: from the start of its local
// write until that copy counted as acknowledged (visible at once, then
// synced when durable). Each holds up to the last 8192 samples, oldest
// first. In JSON (GET /v1/legs) they are in nanoseconds.
type LegSamples struct {
	W []time.Duration `json:"w_ns"`
	A []time.Duration `json:"a_ns"`
	R []time.Duration `json:"r_ns"`
	S []time.Duration `json:"s_ns"`
	L []time.Duration `json:"l_ns"`
}

// LegsView is what GET /v1/legs answers: the node and its LegSamples.
type LegsView struct {
	Node string `json:"node"`
	LegSamples
}

// legRecorder keeps the window of LegSamples; it is safe for concurrent
// use.
type legRecorder struct {
	mu            sync.Mutex
	w, a, r, s, l window
}

// window is a ring of the last legWindow delays.
type window struct {
	buf  []time.Duration
	next int
}

func (w *window) add(d time.Duration) {
	if len(w.buf) < legWindow {
		w.buf = append(w.buf, d)
		return
	}
	w.buf[w.next] = d
	w.next = (w.next + 1) % legWindow
}

// ordered returns a copy, oldest first.
func (w *window) ordered() []time.Duration {
	return slices.Concat(w.buf[w.next:], w.buf[:w.next])
}

func (l *legRecorder) note(x transport.Legs) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if x.Fetch {
		l.r.add(x.Out)
		l.s.add(x.Back)
	} else {
		l.w.add(x.Out)
		l.a.add(x.Back)
	}
}

// noteLocal records the ack delay of the coordinator's own copy.
func (l *legRecorder) noteLocal(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l.add(d)
}

func (l *legRecorder) samples() LegSamples {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LegSamples{W: l.w.ordered(), A: l.a.ordered(), R: l.r.ordered(), S: l.s.ordered(), L: l.l.ordered()}
}

func (l *legRecorder) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w, l.a, l.r, l.s, l.l = window{}, window{}, window{}, window{}, window{}
}

// Legs returns the one-way delays of this node's recent batches to its
// peers, as a coordinator saw them. They are split by the replicas'
// clocks, so they are exact only where every node shares this node's
// clock (a local cluster).
func (n *Node) Legs() LegSamples { return n.legs.samples() }

// ResetLegs forgets the delays Legs returns, so that a measurement can
// start afresh.
func (n *Node) ResetLegs() { n.legs.reset() }
