package server

import (
	"encoding/json"
	"math"
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
// first. In JSON (GET /v1/legs) they are in milliseconds, fractional
// (w_ms, a_ms, r_ms, s_ms, l_ms).
type LegSamples struct {
	W, A, R, S, L []time.Duration
}

// LegsView is what GET /v1/legs answers: the node and its LegSamples.
type LegsView struct {
	Node string
	LegSamples
}

// legsJSON is the JSON form of LegsView and LegSamples.
type legsJSON struct {
	Node string    `json:"node,omitempty"`
	W    []float64 `json:"w_ms"`
	A    []float64 `json:"a_ms"`
	R    []float64 `json:"r_ms"`
	S    []float64 `json:"s_ms"`
	L    []float64 `json:"l_ms"`
}

// MarshalJSON writes the samples in milliseconds.
func (l LegSamples) MarshalJSON() ([]byte, error) { return json.Marshal(l.wire("")) }

// UnmarshalJSON reads what MarshalJSON writes.
func (l *LegSamples) UnmarshalJSON(b []byte) error {
	var w legsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*l = w.samples()
	return nil
}

// MarshalJSON writes the node and its samples in milliseconds.
func (v LegsView) MarshalJSON() ([]byte, error) { return json.Marshal(v.wire(v.Node)) }

// UnmarshalJSON reads what MarshalJSON writes.
func (v *LegsView) UnmarshalJSON(b []byte) error {
	var w legsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = LegsView{Node: w.Node, LegSamples: w.samples()}
	return nil
}

func (l LegSamples) wire(node string) legsJSON {
	return legsJSON{Node: node, W: millis(l.W), A: millis(l.A), R: millis(l.R), S: millis(l.S), L: millis(l.L)}
}

func (w legsJSON) samples() LegSamples {
	return LegSamples{W: durations(w.W), A: durations(w.A), R: durations(w.R), S: durations(w.S), L: durations(w.L)}
}

// millis converts ds to (fractional) milliseconds; [] for none, so that
// JSON never says null.
func millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// durations converts milliseconds back, to the nanosecond.
func durations(ms []float64) []time.Duration {
	if ms == nil {
		return nil
	}
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(math.Round(m * float64(time.Millisecond)))
	}
	return out
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
