package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Wire formats. Every encoding starts with a kind byte and a format
// version byte, so a decoder can reject what it does not understand
// instead of misreading it, and a later version can change the layout.
// Strings are a uvarint length followed by the bytes; integers are
// uvarints; a weight is the 8 big-endian bytes of its IEEE-754 bits.
//
//	state:     'S' 3 count record...          records sorted by ID, no duplicates
//	record:    id zone grpc http peer weight status(1 byte) version
//	           placed(1 byte, 0 or 1) joined removed
//	meta:      'M' 2 id zone grpc http peer
//	persisted: 'P' 3 localID state
//
// Version 2 of the state and persisted formats added the ring epochs
// (placed, joined, removed); version 1 is rejected, as no version 1 data
// was ever deployed. Version 3 (and meta version 2) added the peer
// address, where a node serves other nodes. A persisted version 2 state
// is still read from disk (its records have no peer address until their
// nodes gossip one; PeerAddrOf falls back to the gRPC address), so a data
// directory survives the upgrade; on the network only the current
// versions are accepted: every node of a cluster runs the same format.
//
// Encodings are canonical: one value has exactly one encoding, and the
// decoders reject anything else (unsorted records, trailing bytes), so
// decode(encode(x)) == x and encode(decode(b)) == b for every b a decoder
// accepts. Decoders read untrusted network input: they check every
// length against the bytes left and never panic.
const (
	kindState     = 'S'
	kindMeta      = 'M'
	kindPersisted = 'P'
	formatMeta    = 2 // format version of meta
	formatState   = 3 // format version of state and persisted
	// formatStateNoPeer is the previous state format, read only from disk.
	formatStateNoPeer = 2
)

// MetaMaxSize is the most bytes node metadata may take; it is memberlist's
// limit (memberlist.MetaMaxSize).
const MetaMaxSize = 512

// minRecordSize is the fewest bytes one encoded record takes: a one-byte
// ID with its length, four empty strings, the weight, status, version,
// placed, joined and removed.
const minRecordSize = 2 + 4 + 8 + 1 + 1 + 3

// EncodeState returns the canonical encoding of s.
func EncodeState(s State) []byte {
	recs := s.Records()
	b := make([]byte, 0, 16+len(recs)*48)
	b = append(b, kindState, formatState)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	return b
}

// DecodeState decodes an encoding made by EncodeState. It returns an
// error, never panics, on malformed input.
func DecodeState(b []byte) (State, error) {
	d := decoder{b: b}
	s := d.state()
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return State{}, fmt.Errorf("gossip: decode state: %w", d.err)
	}
	return s, nil
}

func appendRecord(b []byte, r MemberRecord) []byte {
	b = appendString(b, r.ID)
	b = appendString(b, r.Zone)
	b = appendString(b, r.GRPCAddr)
	b = appendString(b, r.HTTPAddr)
	b = appendString(b, r.PeerAddr)
	w := r.Weight
	if w == 0 {
		w = 0 // -0 encodes as 0, so equal records encode equally
	}
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(w))
	b = append(b, byte(r.Status))
	b = binary.AppendUvarint(b, r.Version)
	var placed byte
	if r.Placed {
		placed = 1
	}
	b = append(b, placed)
	b = binary.AppendUvarint(b, r.Joined)
	return binary.AppendUvarint(b, r.Removed)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Meta is the node metadata that rides on memberlist's alive messages, so
// that every member learns a live node's addresses even before that node
// has a record in the ring.
type Meta struct {
	NodeID   string
	Zone     string
	GRPCAddr string
	HTTPAddr string
	PeerAddr string
}

// ErrMetaTooLong is returned when node metadata does not fit in
// MetaMaxSize bytes.
var ErrMetaTooLong = errors.New("gossip: node metadata too long")

// EncodeMeta returns the encoding of m, or ErrMetaTooLong (wrapped) if it
// exceeds MetaMaxSize bytes.
func EncodeMeta(m Meta) ([]byte, error) {
	b := []byte{kindMeta, formatMeta}
	for _, s := range []string{m.NodeID, m.Zone, m.GRPCAddr, m.HTTPAddr, m.PeerAddr} {
		b = appendString(b, s)
	}
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMetaTooLong, len(b), MetaMaxSize)
	}
	return b, nil
}

// DecodeMeta decodes an encoding made by EncodeMeta. It returns an error,
// never panics, on malformed input.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) > MetaMaxSize {
		return Meta{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMetaTooLong, len(b), MetaMaxSize)
	}
	d := decoder{b: b}
	d.header(kindMeta, formatMeta)
	m := Meta{
		NodeID:   d.string(MetaMaxSize),
		Zone:     d.string(MetaMaxSize),
		GRPCAddr: d.string(MetaMaxSize),
		HTTPAddr: d.string(MetaMaxSize),
		PeerAddr: d.string(MetaMaxSize),
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return Meta{}, fmt.Errorf("gossip: decode meta: %w", d.err)
	}
	return m, nil
}

// encodePersisted is what a node hands its StateStore: its own ID, so a
// restart keeps it, and the ring state.
func encodePersisted(localID string, s State) []byte {
	b := []byte{kindPersisted, formatState}
	b = appendString(b, localID)
	return append(b, EncodeState(s)...)
}

func decodePersisted(b []byte) (localID string, s State, err error) {
	d := decoder{b: b}
	version := byte(formatState)
	if len(b) >= 2 && b[0] == kindPersisted && b[1] == formatStateNoPeer {
		version = formatStateNoPeer // written before records had a peer address
	}
	d.header(kindPersisted, version)
	localID = d.string(MaxIDLen)
	if d.err == nil && localID == "" {
		d.fail("empty local node ID")
	}
	if d.err == nil {
		s = d.stateVersion(version)
		if d.err == nil && len(d.b) != 0 {
			d.fail("%d trailing bytes", len(d.b))
		}
	}
	if d.err != nil {
		return "", State{}, fmt.Errorf("gossip: decode persisted state: %w", d.err)
	}
	return localID, s, nil
}

// decoder reads the formats above. The first error sticks: later reads
// return zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) header(kind, version byte) {
	switch {
	case len(d.b) < 2:
		d.fail("short header (%d bytes)", len(d.b))
	case d.b[0] != kind:
		d.fail("kind byte %#x, want %q", d.b[0], kind)
	case d.b[1] != version:
		d.fail("unknown format version %d", d.b[1])
	default:
		d.b = d.b[2:]
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal uvarint") // would break canonical encoding
		return 0
	}
	d.b = d.b[n:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func (d *decoder) string(limit int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("string of %d bytes (limit %d, %d left)", n, limit, len(d.b))
		return ""
	}
	s := string(d.b[:n]) // copies: callers' buffers may be reused
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bool reads a byte that must be 0 or 1, so that encodings stay
// canonical.
func (d *decoder) bool() bool {
	c := d.byte()
	if c > 1 {
		d.fail("bool byte %d", c)
	}
	return c == 1
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) record(version byte) MemberRecord {
	r := MemberRecord{
		ID:       d.string(MaxIDLen),
		Zone:     d.string(MaxZoneLen),
		GRPCAddr: d.string(MaxAddrLen),
		HTTPAddr: d.string(MaxAddrLen),
	}
	if version >= formatState {
		r.PeerAddr = d.string(MaxAddrLen)
	}
	r2 := MemberRecord{
		Weight:  d.float(),
		Status:  Status(d.byte()),
		Version: d.uvarint(),
		Placed:  d.bool(),
		Joined:  d.uvarint(),
		Removed: d.uvarint(),
	}
	r.Weight, r.Status, r.Version, r.Placed, r.Joined, r.Removed = r2.Weight, r2.Status, r2.Version, r2.Placed, r2.Joined, r2.Removed
	if d.err == nil {
		if err := r.validate(); err != nil {
			d.fail("record %q: %v", r.ID, err)
		}
	}
	return r
}

func (d *decoder) state() State { return d.stateVersion(formatState) }

// stateVersion reads a state of the given format version (an older one
// only from disk, see decodePersisted).
func (d *decoder) stateVersion(version byte) State {
	d.header(kindState, version)
	minSize := minRecordSize
	if version < formatState {
		minSize-- // no peer address
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/minSize) {
		d.fail("%d records cannot fit in %d bytes", n, len(d.b))
	}
	if d.err != nil {
		return State{}
	}
	s := State{recs: make(map[string]MemberRecord, n)}
	prev := ""
	for i := uint64(0); i < n && d.err == nil; i++ {
		r := d.record(version)
		if d.err == nil && i > 0 && strings.Compare(r.ID, prev) <= 0 {
			d.fail("record %q out of order after %q", r.ID, prev)
		}
		s.recs[r.ID] = r
		prev = r.ID
	}
	return s
}
