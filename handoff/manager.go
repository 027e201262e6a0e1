package handoff

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/pace"
	"github.com/chorusdb/chorus/ring"
)

// phase is where a node stands with one partition's data.
type phase uint8

const (
	phaseNone      phase = iota // not held, or held in part and stale
	phasePending                // an owner still pulling the data
	phaseComplete               // an owner holding the data whole
	phaseHandedOff              // held whole until the ring moved it away
)

// transfer is one partition being pulled. The exported fields are saved.
type transfer struct {
	Partition uint32 `json:"partition"`
	// Replaced is the node the ring replaced, the preferred source;
	// empty when the partition gained a primary without losing one.
	Replaced string `json:"replaced,omitempty"`
	// Others are the other old holders, pulled from (all of them) when
	// Replaced is gone or cannot serve.
	Others []string `json:"others,omitempty"`
	// Source is the node being pulled from and Cursor the last key merged
	// from it; Pulled lists the sources finished (union pulls).
	Source string   `json:"source,omitempty"`
	Cursor []byte   `json:"cursor,omitempty"`
	Pulled []string `json:"pulled,omitempty"`
	// ReplacedPart is set once Replaced, holding only part of the
	// partition, was read to the end and merged (see pull).
	ReplacedPart bool      `json:"replaced_part,omitempty"`
	Keys         uint64    `json:"keys"`
	Bytes        uint64    `json:"bytes"`
	Started      time.Time `json:"started"`

	running      bool
	cancel       context.CancelFunc
	lastProgress time.Time
	stalled      bool
	retryAt      time.Time
	err          string
}

// saved is the persisted state.
type saved struct {
	Version   int         `json:"version"`
	Complete  []uint32    `json:"complete"`
	HandedOff []uint32    `json:"handed_off"`
	Pending   []*transfer `json:"pending"`
}

const stateVersion = 1

// Manager pulls the data of the partitions this node gains. Its methods
// are safe for concurrent use.
type Manager struct {
	cfg   Config
	pacer atomic.Pointer[pace.Pacer]

	mu       sync.Mutex
	phases   map[uint32]phase
	pending  map[uint32]*transfer
	fresh    bool                 // nothing was saved before this run
	outgoing map[outKey]uint64    // handoffs owed since start, with the Update that made each owed
	updates  uint64               // Updates so far
	served   map[outKey]time.Time // when a node last pulled a partition to the end
	sent     map[outKey]sentCount // keys and bytes served toward an owed handoff
	lost     map[uint32]bool      // partitions lost while pending: leftovers to drop
	current  *ring.Ring           // the ring of the last Update
	stats    Stats
	// anyPending mirrors len(pending) > 0 for Incomplete's fast path:
	// reads ask on every request, and almost always nothing is pending.
	anyPending atomic.Bool
	anyLost    atomic.Bool   // mirrors len(lost) > 0, for the same
	busy       time.Duration // summed duration of completed transfers' runs
	wake       chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// saveMu serialises saves; lastSave is when the state was last saved.
	saveMu   sync.Mutex
	lastSave time.Time
}

// saveEvery is how often progress is saved while transfers run. Saving
// less often only means redoing a little more after a crash: a partition
// is never saved complete before the merges that completed it are synced,
// because the save's sync covers them.
const saveEvery = 500 * time.Millisecond

// outKey is a partition this node handed off and the node taking it.
type outKey struct {
	Partition uint32
	To        string
}

// sentCount is what was served toward one owed handoff.
type sentCount struct{ Keys, Bytes uint64 }

// Stats count transfers since start.
type Stats struct {
	Completed uint64 // transfers finished
	Keys      uint64 // keys pulled
	Bytes     uint64 // bytes pulled
	Stalls    uint64 // times a transfer was reported stalled
	Failures  uint64 // page requests that failed
}

// New loads the saved state and, unless cfg.Manual, starts the workers.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Manager{cfg: cfg, phases: map[uint32]phase{}, pending: map[uint32]*transfer{},
		outgoing: map[outKey]uint64{}, served: map[outKey]time.Time{}, sent: map[outKey]sentCount{}, lost: map[uint32]bool{}, wake: make(chan struct{}, 1)}
	m.pacer.Store(pace.New(float64(cfg.KeysPerSecond), cfg.Clock))
	if err := m.load(); err != nil {
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if !cfg.Manual {
		for range cfg.Concurrency {
			m.wg.Go(m.worker)
		}
	}
	return m, nil
}

// Close stops every transfer and waits, then saves their progress.
func (m *Manager) Close() error {
	m.cancel()
	m.wg.Wait()
	return m.save(context.Background())
}

// SetKeysPerSecond changes the pull rate (Config.KeysPerSecond) of the
// pages merged from now on.
func (m *Manager) SetKeysPerSecond(n int) {
	m.pacer.Store(pace.New(float64(max(0, n)), m.cfg.Clock))
}

// Fresh reports whether the node had no saved handoff state when it
// started: a new node, whose first ring must be compared with the ring
// before it joined.
func (m *Manager) Fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fresh
}

func (m *Manager) load() error {
	b, err := m.cfg.Store.LoadState()
	if err != nil {
		return fmt.Errorf("handoff: load state: %w", err)
	}
	if b == nil {
		m.fresh = true
		return nil
	}
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("handoff: decode saved state: %w", err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("handoff: saved state has version %d, this build reads %d", s.Version, stateVersion)
	}
	for _, p := range s.Complete {
		m.phases[p] = phaseComplete
	}
	for _, p := range s.HandedOff {
		m.phases[p] = phaseHandedOff
	}
	for _, t := range s.Pending {
		m.phases[t.Partition] = phasePending
		m.pending[t.Partition] = t
		m.anyPending.Store(true)
	}
	return nil
}

// saveLocked encodes the state; the caller saves it outside the lock.
func (m *Manager) saveLocked() []byte {
	s := saved{Version: stateVersion, Complete: []uint32{}, HandedOff: []uint32{}, Pending: []*transfer{}}
	for p, ph := range m.phases {
		switch ph {
		case phaseComplete:
			s.Complete = append(s.Complete, p)
		case phaseHandedOff:
			s.HandedOff = append(s.HandedOff, p)
		}
	}
	for _, t := range m.pending {
		s.Pending = append(s.Pending, t)
	}
	slices.Sort(s.Complete)
	slices.Sort(s.HandedOff)
	slices.SortFunc(s.Pending, func(a, b *transfer) int { return cmp.Compare(a.Partition, b.Partition) })
	b, _ := json.Marshal(s) // plain data: cannot fail
	return b
}

func (m *Manager) save(ctx context.Context) error {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.Lock()
	b := m.saveLocked()
	m.mu.Unlock()
	if err := m.cfg.Store.SaveState(ctx, b); err != nil {
		return fmt.Errorf("handoff: save state: %w", err)
	}
	m.lastSave = m.cfg.Clock.Now()
	return nil
}

// maybeSave saves if the last save is older than saveEvery, or if no
// transfer is left (so the final state is saved at once).
func (m *Manager) maybeSave(ctx context.Context) error {
	m.saveMu.Lock()
	recent := m.cfg.Clock.Since(m.lastSave) < saveEvery
	m.saveMu.Unlock()
	m.mu.Lock()
	left := len(m.pending)
	m.mu.Unlock()
	if recent && left > 0 {
		return nil
	}
	return m.save(ctx)
}

// Update plans the transfers of a ring change from prev to next.
//
// At a node's first ring, prev is the ring as it was before the node
// joined: nil for a member of the cluster's first epoch (a new cluster has
// no data anywhere, so a fresh node of it holds its partitions whole), or
// nil at a restart, when the saved state says what the node holds and only
// partitions gained while it was down are pulled (from their other
// primaries).
func (m *Manager) Update(ctx context.Context, prev, next *ring.Ring) error {
	if next == nil {
		return nil
	}
	self := m.cfg.Self
	replaced := map[uint32]string{}
	for _, mv := range ring.Moves(prev, next) {
		if mv.To == self && mv.From != "" {
			replaced[mv.Partition] = mv.From
		}
	}
	m.mu.Lock()
	m.current = next
	bootstrap := prev == nil && m.fresh
	m.fresh = false
	for p := range uint32(next.Partitions()) {
		owner := slices.Contains(next.Primaries(p), self)
		switch ph := m.phases[p]; {
		case owner && (ph == phaseNone || ph == phaseHandedOff):
			t := m.plan(p, prev, next, replaced[p])
			if bootstrap || (t.Replaced == "" && len(t.Others) == 0) {
				m.phases[p] = phaseComplete // nobody else ever held it
				continue
			}
			m.phases[p] = phasePending
			m.pending[p] = t
			m.anyPending.Store(true)
		case !owner && ph == phaseComplete:
			m.phases[p] = phaseHandedOff
		case !owner && ph == phasePending:
			if t := m.pending[p]; t.cancel != nil {
				t.cancel()
			}
			delete(m.pending, p)
			m.lost[p] = true // what it pulled so far is a leftover
			m.anyLost.Store(true)
			m.anyPending.Store(len(m.pending) > 0)
			m.phases[p] = phaseNone
		}
	}
	m.updates++
	if prev != nil {
		for _, mv := range ring.Moves(prev, next) {
			if mv.From == self && mv.To != "" {
				m.outgoing[outKey{mv.Partition, mv.To}] = m.updates
			}
		}
	}
	// A handoff is no longer owed once its new owner is no primary of the
	// partition any more (another change moved it on: that owner's
	// successor pulls from the others), or once this node owns it again.
	for k := range m.outgoing {
		prim := next.Primaries(k.Partition)
		if (!slices.Contains(prim, k.To) || slices.Contains(prim, self)) && m.served[k].IsZero() {
			delete(m.outgoing, k)
			delete(m.sent, k)
		}
	}
	m.mu.Unlock()
	m.poke()
	return m.save(ctx)
}

// plan returns the transfer of partition p, gained with the ring change.
func (m *Manager) plan(p uint32, prev, next *ring.Ring, from string) *transfer {
	t := &transfer{Partition: p, Replaced: from, Started: m.cfg.Clock.Now()}
	var old []string
	if prev != nil {
		old = prev.Primaries(p)
	} else {
		old = next.Primaries(p)
	}
	for _, n := range old {
		if n != m.cfg.Self && n != from {
			t.Others = append(t.Others, n)
		}
	}
	return t
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Incomplete reports whether this node owns p but is still pulling its
// data, or lost p while it was pulling it (a partial copy kept for its new
// owners): its copy may lack writes, so its reads must not count toward R.
func (m *Manager) Incomplete(p uint32) bool {
	if !m.anyPending.Load() && !m.anyLost.Load() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ph := m.phases[p]
	return ph == phasePending || (ph == phaseNone && m.lost[p])
}

// SourceComplete reports whether this node holds p whole, as an owner or
// as the owner the ring just replaced: whether a new owner may pull p
// from it.
func (m *Manager) SourceComplete(p uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ph := m.phases[p]
	return ph == phaseComplete || ph == phaseHandedOff
}

// NoteServed records that node to read partition p from this node to the
// end (done): a handoff this node owed is delivered.
func (m *Manager) NoteServed(p uint32, to string, done bool) { m.NotePage(p, to, 0, 0, done) }

// NotePage records a page of partition p served to node to: keys and
// bytes are counted toward the handoffs this node owes, and done (the page
// ends the partition) delivers the handoff.
func (m *Manager) NotePage(p uint32, to string, keys, bytes int, done bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := outKey{p, to}
	if _, owed := m.outgoing[k]; owed {
		c := m.sent[k]
		c.Keys += uint64(keys)
		c.Bytes += uint64(bytes)
		m.sent[k] = c
	}
	if !done {
		return
	}
	// Kept even before this node has seen the ring change that makes the
	// handoff owed: the new owner may see it, and pull, first.
	m.served[k] = m.cfg.Clock.Now()
}

// Outgoing returns how many handoffs this node owes to new owners since it
// started, and how many of them were delivered.
func (m *Manager) Outgoing() (owed, delivered int) {
	o := m.OutgoingStatus()
	return o.Owed, o.Delivered
}

// Outbound sums the handoffs this node owes new owners since it started:
// one per partition and new owner.
type Outbound struct {
	Owed      int `json:"owed"`
	Delivered int `json:"delivered"`
	// Partitions counts the distinct partitions owed.
	Partitions int `json:"partitions"`
	// Keys and Bytes were served to the new owners of owed partitions
	// (a page served twice, after a retry, counts twice).
	Keys  uint64 `json:"keys"`
	Bytes uint64 `json:"bytes"`
}

// OutgoingStatus returns the handoffs owed, delivered and served so far.
func (m *Manager) OutgoingStatus() Outbound { return m.OutgoingSince(0) }

// Updates returns how many ring changes Update has taken: a mark for
// OutgoingSince.
func (m *Manager) Updates() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updates
}

// OutgoingSince is OutgoingStatus restricted to the handoffs made owed by
// the ring changes after mark (an earlier Updates): those of one leave,
// say, without the ones the node delivered when others joined.
func (m *Manager) OutgoingSince(mark uint64) Outbound {
	m.mu.Lock()
	defer m.mu.Unlock()
	var o Outbound
	parts := map[uint32]bool{}
	for k, gen := range m.outgoing {
		if gen <= mark {
			continue
		}
		o.Owed++
		parts[k.Partition] = true
		if !m.served[k].IsZero() {
			o.Delivered++
		}
		o.Keys += m.sent[k].Keys
		o.Bytes += m.sent[k].Bytes
	}
	o.Partitions = len(parts)
	return o
}

// Droppable returns the partitions whose copy here is a leftover: those
// this node handed off and whose every new owner pulled them to the end at
// least settle ago (the new owners have saved, and so synced, their copies
// by then), and those it lost while still pulling them. Partitions handed
// off before this node started are not listed (their deliveries were not
// seen).
func (m *Manager) Droppable(settle time.Duration) []uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	owed := map[uint32]bool{}
	ready := map[uint32]bool{}
	for k := range m.outgoing {
		if ph := m.phases[k.Partition]; ph != phaseHandedOff && !(ph == phaseNone && m.lost[k.Partition]) {
			continue
		}
		at := m.served[k]
		ok := !at.IsZero() && m.cfg.Clock.Since(at) >= settle
		if !owed[k.Partition] {
			owed[k.Partition], ready[k.Partition] = true, ok
		} else {
			ready[k.Partition] = ready[k.Partition] && ok
		}
	}
	var out []uint32
	for p, ok := range ready {
		if ok {
			out = append(out, p)
		}
	}
	for p := range m.lost {
		// A partial copy may hold writes taken since the partition was
		// gained, which its new owners merge (see pull): kept, like a
		// whole one, until they have pulled it and settled.
		if m.phases[p] == phaseNone && (!owed[p] || ready[p]) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MarkDropped records that this node is about to delete its copy of a
// handed-off partition: from now on it is no source for it. Call it before
// deleting, so that no puller reads a half-deleted partition as whole.
// It reports false (and changes nothing) if p is no longer handed off.
//
// The change is saved before MarkDropped returns true, so that a restart
// during the deletion does not find the partition handed off whole.
func (m *Manager) MarkDropped(ctx context.Context, p uint32) (bool, error) {
	m.mu.Lock()
	lost := m.lost[p] && m.phases[p] == phaseNone
	if m.phases[p] != phaseHandedOff && !lost {
		m.mu.Unlock()
		return false, nil
	}
	delete(m.lost, p)
	m.anyLost.Store(len(m.lost) > 0)
	m.phases[p] = phaseNone
	for k := range m.outgoing {
		if k.Partition == p {
			delete(m.outgoing, k)
			delete(m.sent, k)
		}
	}
	m.mu.Unlock()
	if err := m.save(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// errNoSource means no source could serve the partition right now.
var errNoSource = errors.New("handoff: no source up that holds the partition whole")
