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
// to the answer's arrival. Each holds up to the last 8192 batches, oldest
// first.
type LegSamples struct {
	W, A, R, S []time.Duration
}

// legRecorder keeps the window of LegSamples; it is safe for concurrent
// use.
type legRecorder struct {
	mu         sync.Mutex
	w, a, r, s window
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

func (l *legRecorder) samples() LegSamples {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LegSamples{W: l.w.ordered(), A: l.a.ordered(), R: l.r.ordered(), S: l.s.ordered()}
}

func (l *legRecorder) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w, l.a, l.r, l.s = window{}, window{}, window{}, window{}
}

// Legs returns the one-way delays of this node's recent batches to its
// peers, as a coordinator saw them. They are split by the replicas'
// clocks, so they are exact only where every node shares this node's
// clock (a local cluster).
func (n *Node) Legs() LegSamples { return n.legs.samples() }

// ResetLegs forgets the delays Legs returns, so that a measurement can
// start afresh.
func (n *Node) ResetLegs() { n.legs.reset() }
