package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
)

// The peer book is what Serf's snapshot keeps for a restart, reduced to
// what a restart needs: the gossip address of every member this node has
// seen alive, by node ID, persisted in Config.PeerStore. memberlist stops
// probing a node it declared dead, so a node restarted without seeds (the
// first node of a cluster, started with no --join) would otherwise never
// be seen alive again, and hints and handoffs for it would wait for good:
// Rejoin reaches out to the book instead.

// peerBookVersion is the encoding's version; a book of another version
// is ignored (it is only a hint).
const peerBookVersion = 1

// MaxPeerBook bounds the members the book keeps (and a decoded book may
// hold): far more than a Dynamo-style cluster's members, and a bound on
// what a damaged store can make a node read.
const MaxPeerBook = 1024

type peerBookFile struct {
	Version int               `json:"version"`
	Peers   map[string]string `json:"peers"` // node ID → gossip host:port
}

func encodePeerBook(peers map[string]string) []byte {
	b, _ := json.Marshal(peerBookFile{Version: peerBookVersion, Peers: peers}) // maps of strings always encode
	return b
}

// decodePeerBook decodes a saved book and checks every entry, so that
// nothing a damaged store holds is dialed or kept.
func decodePeerBook(b []byte) (map[string]string, error) {
	var f peerBookFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("gossip: peer book: %w", err)
	}
	if f.Version != peerBookVersion {
		return nil, fmt.Errorf("gossip: peer book version %d, this node reads %d", f.Version, peerBookVersion)
	}
	if len(f.Peers) > MaxPeerBook {
		return nil, fmt.Errorf("gossip: peer book of %d members, limit %d", len(f.Peers), MaxPeerBook)
	}
	for id, addr := range f.Peers {
		if err := checkPeer(id, addr); err != nil {
			return nil, fmt.Errorf("gossip: peer book: %w", err)
		}
	}
	if f.Peers == nil {
		f.Peers = map[string]string{}
	}
	return f.Peers, nil
}

func checkPeer(id, addr string) error {
	switch {
	case id == "" || len(id) > MaxIDLen:
		return fmt.Errorf("node ID of %d bytes, want 1 to %d", len(id), MaxIDLen)
	case len(addr) > MaxAddrLen:
		return fmt.Errorf("address of node %q is %d bytes, limit %d", id, len(addr), MaxAddrLen)
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
		return fmt.Errorf("address %q of node %q is not host:port", addr, id)
	}
	return nil
}

// loadPeerBook reads the book saved by an earlier run. A book that cannot
// be read is logged and started afresh: it only helps a restart.
func (m *Membership) loadPeerBook() {
	m.book = map[string]string{}
	if m.cfg.PeerStore == nil {
		return
	}
	b, err := m.cfg.PeerStore.LoadState()
	if err == nil && len(b) > 0 {
		var peers map[string]string
		if peers, err = decodePeerBook(b); err == nil {
			m.book = peers
		}
	}
	if err != nil {
		m.log.Warn("the members last seen alive cannot be read; starting without them", "err", err)
	}
	delete(m.book, m.id)
}

// notePeer records that node id was seen alive at addr, for the apply
// loop to save. It does no I/O: memberlist calls it with its lock held.
func (m *Membership) notePeer(id, addr string) {
	if m.cfg.PeerStore == nil || id == m.id || checkPeer(id, addr) != nil {
		return
	}
	m.bookMu.Lock()
	defer m.bookMu.Unlock()
	if m.book[id] == addr {
		return
	}
	m.book[id] = addr
	m.bookDirty = true
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// savePeerBook saves the book if it changed, first dropping the members
// the ring says were removed (they will not come back) and, past
// MaxPeerBook, the members the ring no longer knows. A failed save is
// logged and tried again at the next change.
func (m *Membership) savePeerBook() {
	m.bookMu.Lock()
	if !m.bookDirty {
		m.bookMu.Unlock()
		return
	}
	st := m.cur.Load().state
	for id := range m.book {
		if r, ok := st.Get(id); ok && r.Status == StatusRemoved {
			delete(m.book, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.book)) {
		if len(m.book) <= MaxPeerBook {
			break
		}
		if _, ok := st.Get(id); !ok {
			delete(m.book, id)
		}
	}
	b := encodePeerBook(m.book)
	m.bookDirty = false
	m.bookMu.Unlock()
	if err := m.cfg.PeerStore.SaveState(b); err != nil {
		m.bookMu.Lock()
		m.bookDirty = true
		m.bookMu.Unlock()
		m.log.Warn("the members seen alive were not saved; a restart without seeds may not find them", "err", err)
	}
}

// Remembered returns the gossip addresses of the members this node has
// seen alive, in this run or an earlier one (Config.PeerStore), other
// than itself and those the ring says were removed, sorted.
func (m *Membership) Remembered() []string {
	st := m.cur.Load().state
	m.bookMu.Lock()
	defer m.bookMu.Unlock()
	var out []string
	for id, addr := range m.book {
		if r, ok := st.Get(id); ok && r.Status == StatusRemoved {
			continue
		}
		out = append(out, addr)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Rejoin joins the members this node remembers (Remembered), as Join
// does with seeds: it retries until one answers or ctx ends. A node
// restarted without seeds calls it so that members that declared it dead
// see it alive again. It returns ErrNoSeeds if it remembers no member.
func (m *Membership) Rejoin(ctx context.Context) error {
	addrs := m.Remembered()
	if len(addrs) == 0 {
		return ErrNoSeeds
	}
	return m.Join(ctx, addrs)
}
