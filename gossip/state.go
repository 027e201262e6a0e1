package gossip

import (
	"hash/fnv"
	"maps"
	"slices"
	"strings"
)

// State is the ring membership: who owns data, as one record per node ID
// that has ever been in the ring. The ring members are the records with
// Placed set and Removed == 0; placed records with Removed set are the
// history the ring needs to replay (see Records). It is a state-based CRDT: Merge keeps,
// per node, the record that wins by Compare, so any two nodes that have
// seen the same records hold the same State whatever the order of the
// messages.
//
// A State is an immutable value: methods that change it return a new
// State and never alter the receiver, so it may be shared between
// goroutines. The zero State is empty and ready to use.
type State struct {
	recs map[string]MemberRecord
}

// NewState returns the State holding records, merged as by Merge when
// two of them have the same ID.
func NewState(records ...MemberRecord) State {
	s := State{recs: make(map[string]MemberRecord, len(records))}
	for _, r := range records {
		if old, ok := s.recs[r.ID]; !ok || Compare(r, old) > 0 {
			s.recs[r.ID] = r
		}
	}
	return s
}

// Len returns the number of records, tombstones included.
func (s State) Len() int { return len(s.recs) }

// Get returns the record of node id.
func (s State) Get(id string) (MemberRecord, bool) {
	r, ok := s.recs[id]
	return r, ok
}

// Records returns every record, tombstones included, sorted by ID.
//
// The ring members are the records with Placed set and Removed == 0; a
// record that is not placed is a node that has entered the state but not
// yet been given an epoch by Bootstrap or Join, and is no part of the
// ring. Placed records with Removed != 0 are no longer members, but they
// are history the ring needs: ring.New replays every placed record by its
// Joined and Removed epochs, so callers pass all placed records, removed
// ones included, and every node that holds the same State computes the
// same ring.
func (s State) Records() []MemberRecord {
	return s.WithStatus()
}

// WithStatus returns the records whose status is one of statuses, sorted
// by ID; with no statuses it returns them all.
func (s State) WithStatus(statuses ...Status) []MemberRecord {
	out := make([]MemberRecord, 0, len(s.recs))
	for _, r := range s.recs {
		if len(statuses) == 0 || slices.Contains(statuses, r.Status) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b MemberRecord) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Merge returns the join of s and o: for every node ID in either, the
// record that wins by Compare.
func (s State) Merge(o State) State {
	if len(o.recs) == 0 {
		return s
	}
	if len(s.recs) == 0 {
		return o
	}
	out := State{recs: maps.Clone(s.recs)}
	for id, r := range o.recs {
		if old, ok := out.recs[id]; !ok || Compare(r, old) > 0 {
			out.recs[id] = r
		}
	}
	return out
}

// with returns s with r in place of the record of r.ID, whatever its
// order; callers bump Version themselves.
func (s State) with(r MemberRecord) State {
	out := State{recs: maps.Clone(s.recs)}
	if out.recs == nil {
		out.recs = make(map[string]MemberRecord, 1)
	}
	out.recs[r.ID] = r
	return out
}

// Equal reports whether s and o hold the same records.
func (s State) Equal(o State) bool {
	return maps.Equal(s.recs, o.recs)
}

// Hash returns a 64-bit FNV-1a hash of the canonical encoding of s: two
// States are equal exactly when (barring collisions) their hashes are, so
// a caller can tell that the ring changed by comparing hashes.
func (s State) Hash() uint64 {
	h := fnv.New64a()
	_, _ = h.Write(EncodeState(s))
	return h.Sum64()
}

// maxEpoch returns the largest Joined or Removed epoch of any record of
// s, or 0.
func maxEpoch(s State) uint64 {
	var e uint64
	for _, r := range s.recs {
		e = max(e, r.Joined, r.Removed)
	}
	return e
}

// placedOther reports whether s holds a placed record of a node other
// than id, removed ones included.
func placedOther(s State, id string) bool {
	for _, r := range s.recs {
		if r.Placed && r.ID != id {
			return true
		}
	}
	return false
}

// changed returns the records of next that differ from those of prev,
// sorted by ID.
func changed(prev, next State) []MemberRecord {
	var out []MemberRecord
	for id, r := range next.recs {
		if old, ok := prev.recs[id]; !ok || old != r {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b MemberRecord) int { return strings.Compare(a.ID, b.ID) })
	return out
}
