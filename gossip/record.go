package gossip

import (
	"bytes"
	"fmt"
	"math"
)

// Status is where a node stands in the ring's ownership life cycle. Only
// explicit actions change it: a join, a leave, or an operator's removal;
// the failure detector never does.
type Status uint8

// The statuses, in their tie-break order: when two records for the same
// node carry the same Version, the one with the larger Status wins.
const (
	// StatusJoining: the node is in the ring but is still receiving the
	// data of the partitions it will own.
	StatusJoining Status = 1
	// StatusActive: the node owns its partitions and serves them.
	StatusActive Status = 2
	// StatusLeaving: the node is handing its partitions off before it
	// goes.
	StatusLeaving Status = 3
	// StatusRemoved: the node is out of the ring for good. Its record
	// stays as a tombstone so an old message cannot bring it back.
	StatusRemoved Status = 4
)

// String returns the lowercase name of s ("active"), or "status(N)" for an
// unknown value.
func (s Status) String() string {
	switch s {
	case StatusJoining:
		return "joining"
	case StatusActive:
		return "active"
	case StatusLeaving:
		return "leaving"
	case StatusRemoved:
		return "removed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Valid reports whether s is one of the four defined statuses.
func (s Status) Valid() bool { return s >= StatusJoining && s <= StatusRemoved }

// Field limits of a MemberRecord and of Meta. They keep one record well
// inside a UDP broadcast and the node metadata inside memberlist's 512
// bytes.
const (
	MaxIDLen   = 128
	MaxZoneLen = 64
	MaxAddrLen = 128
)

// MemberRecord is one node's entry in the ring state.
type MemberRecord struct {
	// ID is the node ID, also the node's memberlist name.
	ID string
	// Zone is the node's failure domain.
	Zone string
	// Weight scales the node's share of the ring; zero means 1.
	Weight float64
	// GRPCAddr and HTTPAddr are where the node serves, as host:port.
	GRPCAddr string
	HTTPAddr string
	// PeerAddr is where the node serves other nodes (internode RPCs and
	// forwarded requests); empty in records persisted before it existed,
	// when PeerAddrOf falls back to GRPCAddr.
	PeerAddr string
	// Status is the node's place in the ownership life cycle.
	Status Status
	// Version is the record's Lamport counter: every change to the record,
	// on any node, sets it to one more than the largest version seen.
	Version uint64

	// Placed reports that the node has been given a ring epoch and so
	// counts as a ring member (or, once removed, as ring history). A node
	// enters the ring unplaced and is placed by Bootstrap or Join; Placed
	// never goes back to false.
	Placed bool
	// Joined is the ring epoch the node entered at; it is meaningful (and
	// may be non-zero) only when Placed, and never changes once set.
	Joined uint64
	// Removed is the ring epoch the node left at, or 0. Remove of a placed
	// node sets it, once, above every epoch the remover has seen, so
	// Removed > Joined; a node removed before it was placed keeps 0 and is
	// no part of the ring's history.
	Removed uint64
}

// validate checks the limits a decoder enforces on network input.
func (r MemberRecord) validate() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("empty node ID")
	case len(r.ID) > MaxIDLen:
		return fmt.Errorf("node ID is %d bytes, limit %d", len(r.ID), MaxIDLen)
	case len(r.Zone) > MaxZoneLen:
		return fmt.Errorf("zone is %d bytes, limit %d", len(r.Zone), MaxZoneLen)
	case len(r.GRPCAddr) > MaxAddrLen || len(r.HTTPAddr) > MaxAddrLen || len(r.PeerAddr) > MaxAddrLen:
		return fmt.Errorf("address longer than %d bytes", MaxAddrLen)
	case !r.Status.Valid():
		return fmt.Errorf("invalid status %d", uint8(r.Status))
	case !(r.Weight >= 0) || r.Weight > maxWeight || math.Signbit(r.Weight): // also NaN, -0
		return fmt.Errorf("weight %v is not finite and non-negative", r.Weight)
	}
	return r.validateEpochs()
}

// validateEpochs checks that the epochs are consistent: only a placed
// record has epochs, only a removed one has Removed, after Joined, and a
// placed removed record always says when it left (ring.New would
// otherwise count it as a member).
func (r MemberRecord) validateEpochs() error {
	removed := r.Status == StatusRemoved
	switch {
	case !r.Placed && (r.Joined != 0 || r.Removed != 0):
		return fmt.Errorf("epochs joined %d, removed %d on a record that is not placed", r.Joined, r.Removed)
	case r.Removed != 0 && !removed:
		return fmt.Errorf("removed at epoch %d but status %v", r.Removed, r.Status)
	case r.Removed != 0 && r.Removed <= r.Joined:
		return fmt.Errorf("removed at epoch %d, not after it joined at %d", r.Removed, r.Joined)
	case r.Placed && removed && r.Removed == 0:
		return fmt.Errorf("placed and removed without a removal epoch")
	}
	return nil
}

// maxWeight bounds Weight to a finite value.
const maxWeight = 1e300

// Compare orders two records of the same node: it returns +1 if a wins
// over b in a merge, -1 if b wins and 0 if they are identical. The order
// is total, which is what makes Merge commutative, associative and
// idempotent. It compares, in turn:
//
//  1. removal: a removed record beats any record that is not removed, so a
//     removed node ID stays removed (see the package comment);
//  2. Version, higher wins;
//  3. Status, in the order joining < active < leaving < removed;
//  4. the records' encodings, byte by byte.
func Compare(a, b MemberRecord) int {
	ra, rb := a.Status == StatusRemoved, b.Status == StatusRemoved
	switch {
	case ra && !rb:
		return 1
	case rb && !ra:
		return -1
	case a.Version != b.Version:
		return cmpUint(a.Version, b.Version)
	case a.Status != b.Status:
		return cmpUint(uint64(a.Status), uint64(b.Status))
	}
	return bytes.Compare(appendRecord(nil, a), appendRecord(nil, b))
}

func cmpUint(a, b uint64) int {
	if a > b {
		return 1
	}
	return -1
}

// PeerAddrOf returns where r's node serves other nodes: its peer address,
// or its gRPC address in a record from before nodes had one.
func (r MemberRecord) PeerAddrOf() string {
	if r.PeerAddr != "" {
		return r.PeerAddr
	}
	return r.GRPCAddr
}
