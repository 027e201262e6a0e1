package gossip

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"

	"github.com/chorusdb/chorus/sourceaddr"
)

// Membership is one node's view of the cluster: the ring state it
// gossips and persists, and the liveness memberlist reports. Its methods
// are safe for concurrent use.
type Membership struct {
	cfg Config
	log *slog.Logger
	id  string
	// self holds the fields this node asserts about itself: zone, weight,
	// addresses and, once placed, Placed and Joined (guarded by writeMu
	// after New). Its Status, Version and Removed are unused.
	self  MemberRecord
	meta  []byte
	ml    *memberlist.Memberlist
	queue *memberlist.TransmitLimitedQueue

	// writeMu serialises every change of the ring state: merge or local
	// change, then SaveState, then publish, then broadcast.
	writeMu sync.Mutex
	cur     atomic.Pointer[snapshot]

	// Remote states wait in pending, merged into one, until the apply
	// loop takes them; wake (buffered, size 1) tells it there is work.
	// This keeps memberlist's delegates from blocking on SaveState.
	pendMu  sync.Mutex
	pending State
	wake    chan struct{}

	liveMu sync.RWMutex
	live   map[string]LiveMember

	// book is the peer book (peerbook.go): node ID → gossip address of
	// every member seen alive; bookDirty says the apply loop must save it.
	bookMu    sync.Mutex
	book      map[string]string
	bookDirty bool

	subMu sync.Mutex
	subs  map[chan struct{}]struct{} // nil once closed

	closed    atomic.Bool
	halted    atomic.Bool // memberlist shut down
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	wg        sync.WaitGroup
}

// snapshot is the published ring state with its encoding, which
// LocalState sends as is.
type snapshot struct {
	state State
	enc   []byte
	hash  uint64
}

// LiveMember is a node that memberlist currently considers alive, with
// the metadata it advertises.
type LiveMember struct {
	Meta
	// GossipAddr is the node's memberlist address, host:port.
	GossipAddr string
}

// New starts this node's membership: it loads the persisted state,
// enters the ring (or re-enters it under its persisted ID), saves the
// result and starts memberlist. It does not contact other nodes; call
// Join for that. Close releases what New started.
func New(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Membership{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "gossip"),
		wake: make(chan struct{}, 1),
		live: make(map[string]LiveMember),
		subs: make(map[chan struct{}]struct{}),
		stop: make(chan struct{}),
	}
	if err := m.loadAndEnter(); err != nil {
		return nil, err
	}
	m.loadPeerBook()
	meta, err := EncodeMeta(Meta{NodeID: m.id, Zone: m.self.Zone, GRPCAddr: cfg.GRPCAddr, HTTPAddr: cfg.HTTPAddr, PeerAddr: cfg.PeerAddr})
	if err != nil {
		return nil, err
	}
	m.meta = meta
	m.queue = &memberlist.TransmitLimitedQueue{
		NumNodes:       m.numLive,
		RetransmitMult: cfg.Memberlist.RetransmitMult,
	}
	m.wg.Add(1)
	go m.applyLoop()
	ml, err := m.createMemberlist()
	if err != nil {
		close(m.stop)
		m.wg.Wait()
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	m.ml = ml
	m.log.Info("gossip started", "node", m.id, "addr", m.GossipAddr(),
		"status", m.Local().Status, "ring_members", m.Ring().Len())
	return m, nil
}

// createMemberlist starts memberlist. On a specific bind address (not a
// wildcard) and without a transport given, its TCP streams are dialed
// from that address (sourceTransport), so that the node's own address is
// on every packet it sends.
func (m *Membership) createMemberlist() (*memberlist.Memberlist, error) {
	c := m.memberlistConfig()
	if local := sourceaddr.For(net.JoinHostPort(c.BindAddr, "0")); c.Transport == nil && local != nil {
		t, err := newSourceTransport(c, local)
		if err != nil {
			return nil, err
		}
		c.Transport = t
		ml, err := memberlist.Create(c)
		if err != nil {
			_ = t.Shutdown()
		}
		return ml, err
	}
	return memberlist.Create(c)
}

// loadAndEnter reads the persisted state, settles this node's ID and
// record, and saves the result before anything is gossiped.
func (m *Membership) loadAndEnter() error {
	var (
		storedID string
		st       State
	)
	if m.cfg.Store != nil {
		b, err := m.cfg.Store.LoadState()
		if err != nil {
			return fmt.Errorf("gossip: load state: %w", err)
		}
		if len(b) > 0 {
			if storedID, st, err = decodePersisted(b); err != nil {
				return err
			}
		}
	}
	switch id := m.cfg.NodeID; {
	case id != "" && storedID != "" && id != storedID:
		return fmt.Errorf("%w: config %q, store %q", ErrNodeIDMismatch, id, storedID)
	case id != "":
		m.id = id
	case storedID != "":
		m.id = storedID
	default:
		m.id = newNodeID()
	}
	old, ok := st.Get(m.id)
	if ok && old.Status == StatusRemoved {
		return fmt.Errorf("%w: %q (version %d)", ErrRemoved, m.id, old.Version)
	}
	rec := MemberRecord{
		ID: m.id, Zone: m.cfg.Zone, Weight: m.cfg.Weight,
		GRPCAddr: m.cfg.GRPCAddr, HTTPAddr: m.cfg.HTTPAddr, PeerAddr: m.cfg.PeerAddr,
		Status: m.cfg.InitialStatus, Version: old.Version + 1,
	}
	if ok {
		rec.Status = old.Status
		rec.Placed, rec.Joined = old.Placed, old.Joined // epochs never change
		if rec.Zone == "" {
			rec.Zone = old.Zone
		}
		if rec.Weight == 0 {
			rec.Weight = old.Weight
		}
	}
	if rec.Weight == 0 {
		rec.Weight = 1
	}
	m.self = rec
	return m.publish(st.with(rec))
}

func newNodeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand docs)
	return hex.EncodeToString(b[:])
}

// publish saves s and makes it the current state. The caller holds
// writeMu (or is New, before any goroutine runs).
func (m *Membership) publish(s State) error {
	if m.cfg.Store != nil {
		if err := m.cfg.Store.SaveState(encodePersisted(m.id, s)); err != nil {
			return fmt.Errorf("gossip: save state: %w", err)
		}
	}
	enc := EncodeState(s)
	m.cur.Store(&snapshot{state: s, enc: enc, hash: s.Hash()})
	return nil
}

// commit makes next the current state if it differs from prev: it
// saves it, publishes it, queues a broadcast of the records that changed
// and wakes subscribers. The caller holds writeMu.
func (m *Membership) commit(prev, next State) (bool, error) {
	diff := changed(prev, next)
	if len(diff) == 0 {
		return false, nil
	}
	if err := m.publish(next); err != nil {
		return false, err
	}
	for _, r := range diff {
		m.queue.QueueBroadcast(newRecordBroadcast(r))
		m.log.Debug("ring record changed", "node", r.ID, "status", r.Status, "version", r.Version)
	}
	m.notify()
	return true, nil
}

// applyLoop merges remote states handed over by the delegate. It is the
// only goroutine Membership runs for its whole life.
func (m *Membership) applyLoop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.wake:
		}
		if err := m.mergeRemote(); err != nil {
			// The state stays as it was; push/pull will offer it again.
			m.log.Error("cannot apply remote ring state", "err", err)
		}
		m.savePeerBook()
	}
}

// enqueue hands a decoded remote state to the apply loop without
// blocking.
func (m *Membership) enqueue(s State) {
	m.pendMu.Lock()
	m.pending = m.pending.Merge(s)
	m.pendMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// mergeRemote merges and commits the pending remote states.
func (m *Membership) mergeRemote() error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	prev := m.cur.Load().state
	_, err := m.commit(prev, m.withPending(prev))
	return err
}

// withPending takes the pending remote states and returns prev merged
// with them, this node's record reasserted. The caller holds writeMu and
// commits the result (or the pending states are lost, until push/pull
// offers them again). Taking pending only under writeMu means that a
// caller holding writeMu sees every state enqueued before it locked,
// whether the apply loop has merged it yet or not: Join relies on that to
// place this node after the seed's state.
func (m *Membership) withPending(prev State) State {
	m.pendMu.Lock()
	in := m.pending
	m.pending = State{}
	m.pendMu.Unlock()
	return m.reassertSelf(prev, prev.Merge(in))
}

// reassertSelf keeps this node's own fields (zone, weight, addresses)
// authoritative: if a merge brought a record of this node with other
// values (an older incarnation's, which won by version), it writes a
// newer record with the current values, keeping the winning status.
//
// Placement is kept from the winning record, never reset: a placed
// winner's Placed and Joined become this node's own (an older incarnation
// may have been placed). If the winner is not placed but this node is (a
// record of the same version written elsewhere from the unplaced one won
// the tie), the newer record restores this node's Placed and Joined, so
// an epoch, once given, stays.
func (m *Membership) reassertSelf(prev, next State) State {
	r, _ := next.Get(m.id)
	if r.Status == StatusRemoved {
		if p, _ := prev.Get(m.id); p.Status != StatusRemoved {
			m.log.Warn("this node has been removed from the ring", "node", m.id, "version", r.Version)
		}
		return next
	}
	if r.Placed {
		m.self.Placed, m.self.Joined = true, r.Joined
	}
	if r.Zone == m.self.Zone && r.Weight == m.self.Weight &&
		r.GRPCAddr == m.self.GRPCAddr && r.HTTPAddr == m.self.HTTPAddr && r.PeerAddr == m.self.PeerAddr &&
		r.Placed == m.self.Placed {
		return next
	}
	mine := m.self
	mine.Status, mine.Version, mine.Removed = r.Status, r.Version+1, 0
	return next.with(mine)
}

// numLive sizes the broadcast queue's retransmit count.
func (m *Membership) numLive() int {
	m.liveMu.RLock()
	defer m.liveMu.RUnlock()
	return max(1, len(m.live))
}

// ID returns this node's ID.
func (m *Membership) ID() string { return m.id }

// GossipAddr returns the address memberlist listens on for this node, as
// host:port; with BindPort 0 it reports the port actually chosen. Give it
// to other nodes as a seed.
func (m *Membership) GossipAddr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Ring returns the current ring state.
func (m *Membership) Ring() State { return m.cur.Load().state }

// RingHash returns Ring().Hash() without recomputing it.
func (m *Membership) RingHash() uint64 { return m.cur.Load().hash }

// Local returns this node's own record in the ring state.
func (m *Membership) Local() MemberRecord {
	r, _ := m.Ring().Get(m.id)
	return r
}

// Alive reports whether memberlist's failure detector considers nodeID
// alive (it has joined and is not dead or gone). A suspected node still
// counts as alive until it is declared dead. Liveness never changes the
// ring: a node may be in the ring and not alive, or alive and not (yet)
// in the ring.
func (m *Membership) Alive(nodeID string) bool {
	m.liveMu.RLock()
	defer m.liveMu.RUnlock()
	_, ok := m.live[nodeID]
	return ok
}

// LiveMembers returns the nodes memberlist considers alive, this one
// included, sorted by ID.
func (m *Membership) LiveMembers() []LiveMember {
	m.liveMu.RLock()
	out := make([]LiveMember, 0, len(m.live))
	for _, lm := range m.live {
		out = append(out, lm)
	}
	m.liveMu.RUnlock()
	slices.SortFunc(out, func(a, b LiveMember) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out
}

// Subscribe returns a channel that receives a value after the ring state
// or the set of live members changes, and a function that cancels the
// subscription. Notifications coalesce: the channel has room for one, and
// a change that finds it full is folded into the pending one, so a slow
// reader never blocks gossip and always finds out that something changed
// since its last read; it then calls Ring or LiveMembers. The channel is
// closed by cancel or by Close.
func (m *Membership) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if m.subs == nil {
		close(ch)
		return ch, func() {}
	}
	m.subs[ch] = struct{}{}
	return ch, func() {
		m.subMu.Lock()
		defer m.subMu.Unlock()
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			close(ch)
		}
	}
}

func (m *Membership) notify() {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Close leaves the cluster gracefully and stops this node's gossip: it
// tells memberlist to leave (waiting up to Config.LeaveTimeout for the
// message to go out, so peers see the node gone at once instead of after
// the failure detector's timeout), shuts memberlist down, stops the apply
// loop and waits for every goroutine this package started, and closes
// subscription channels. Leaving memberlist changes liveness only: the
// node's ring record is untouched (use Leave or Remove for that). Close
// is idempotent; later calls return the first call's result.
func (m *Membership) Close() error {
	m.closeOnce.Do(func() {
		m.writeMu.Lock() // see goTracked: no wg.Add after this
		m.closed.Store(true)
		m.writeMu.Unlock()
		var errs []error
		if !m.halted.Load() {
			if err := m.ml.Leave(m.cfg.LeaveTimeout); err != nil {
				m.log.Warn("memberlist leave", "err", err)
			}
		}
		errs = append(errs, m.halt())
		close(m.stop)
		m.wg.Wait()
		m.subMu.Lock()
		for ch := range m.subs {
			close(ch)
		}
		m.subs = nil
		m.subMu.Unlock()
		if err := errors.Join(errs...); err != nil {
			m.closeErr = fmt.Errorf("gossip: close: %w", err)
		}
		m.log.Info("gossip stopped", "node", m.id)
	})
	return m.closeErr
}

// halt shuts memberlist down without leaving, as a crash would: peers
// find out through the failure detector. Tests use it directly.
func (m *Membership) halt() error {
	if m.halted.Swap(true) {
		return nil
	}
	return m.ml.Shutdown()
}
