package vclock

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Encoding format, version 1 (all integers are minimal unsigned varints
// unless said otherwise):
//
//	set     = version(1 byte) clock nsib sibling*
//	clock   = nentries (len(node) node counter)*     entries sorted by node, counter >= 1
//	sibling = nodeIndex counter flags(1 byte) timestamp(zigzag varint) len(data) data
//
// nodeIndex points into the clock's entries, which every dot must be in,
// so a node ID is written once however many siblings it coordinated.
// Siblings are sorted by (node, counter). Decoders reject anything else, so
// each set has exactly one encoding.
const (
	formatV1 byte = 1

	flagTombstone byte = 1 << 0
	knownFlags         = flagTombstone

	// MaxNodeIDLen bounds node IDs in encoded clocks.
	MaxNodeIDLen = 1024

	// MaxContextLen bounds the text form of a context (Clock.String) that
	// ParseContext accepts, in bytes: 64 KiB, far above the few hundred
	// bytes of a key written by a handful of nodes, and far below the
	// 1 MiB an HTTP server accepts for all headers.
	MaxContextLen = 64 << 10
	// MaxContextNodes bounds the nodes a context may name. Only replicas
	// of a key mint its dots, so a real context names a few nodes.
	MaxContextNodes = 1024
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("vclock: malformed encoding")

// Encode returns the canonical binary form of the set.
func (s Set) Encode() []byte {
	return s.AppendEncode(make([]byte, 0, s.encodedSizeHint()))
}

func (s Set) encodedSizeHint() int {
	n := 1 + 10 + 10
	for _, e := range s.clock.entries {
		n += len(e.Node) + 12
	}
	for _, sib := range s.siblings {
		n += len(sib.Data) + 24
	}
	return n
}

// AppendEncode appends the canonical binary form of the set to dst.
func (s Set) AppendEncode(dst []byte) []byte {
	dst = append(dst, formatV1)
	dst = appendClock(dst, s.clock)
	dst = binary.AppendUvarint(dst, uint64(len(s.siblings)))
	for _, sib := range s.siblings {
		idx, _ := s.clock.find(sib.Dot.Node) // invariant: every dot's node is in the clock
		dst = binary.AppendUvarint(dst, uint64(idx))
		dst = binary.AppendUvarint(dst, sib.Dot.Counter)
		var flags byte
		if sib.Tombstone {
			flags |= flagTombstone
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, sib.Timestamp)
		dst = binary.AppendUvarint(dst, uint64(len(sib.Data)))
		dst = append(dst, sib.Data...)
	}
	return dst
}

func appendClock(dst []byte, c Clock) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.entries)))
	for _, e := range c.entries {
		dst = binary.AppendUvarint(dst, uint64(len(e.Node)))
		dst = append(dst, e.Node...)
		dst = binary.AppendUvarint(dst, e.Counter)
	}
	return dst
}

// Decode parses the canonical binary form of a set. It copies what it keeps,
// so b may be reused afterwards. Any malformed or non-canonical input
// returns an error wrapping ErrMalformed.
func Decode(b []byte) (Set, error) {
	// One copy up front lets the values alias it: one allocation for all
	// data instead of one per sibling.
	d := decoder{buf: append([]byte(nil), b...)}
	if v := d.byte(); d.err == nil && v != formatV1 {
		return Set{}, fmt.Errorf("%w: unknown format version %d", ErrMalformed, v)
	}
	clock := d.clock()
	sibs := d.siblings(clock)
	if d.err == nil && len(d.buf) > 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return Set{}, d.err
	}
	return Set{clock: clock, siblings: sibs}, nil
}

// decoder reads from buf and remembers the first error, after which every
// read returns zero values.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail("unexpected end of input")
		return 0
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	return v
}

// uvarint reads a varint and rejects non-minimal encodings, which would give
// one value two byte forms.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1) // zigzag, as binary.AppendVarint writes
}

func uvarintLen(v uint64) int {
	return max(1, (bits.Len64(v)+6)/7)
}

// count reads a length that must fit in what is left, each item taking at
// least minSize bytes, so garbage cannot make us allocate gigabytes.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minSize) {
		d.fail("count %d exceeds input", n)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	v := d.buf[:n:n]
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) clock() Clock {
	n := d.count(3)
	if n == 0 || d.err != nil {
		return Clock{}
	}
	entries := make([]Entry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		l := d.count(1)
		if l == 0 || l > MaxNodeIDLen {
			d.fail("node ID length %d", l)
			break
		}
		node := string(d.bytes(l))
		counter := d.uvarint()
		switch {
		case counter == 0:
			d.fail("zero counter for node %q", node)
		case i > 0 && entries[i-1].Node >= node:
			d.fail("clock entries not strictly sorted at %q", node)
		}
		entries = append(entries, Entry{Node: node, Counter: counter})
	}
	return Clock{entries: entries}
}

func (d *decoder) siblings(clock Clock) []Sibling {
	n := d.count(5)
	if n == 0 || d.err != nil {
		return nil
	}
	sibs := make([]Sibling, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		sib := d.sibling(clock)
		if d.err == nil && i > 0 && compareDots(sibs[i-1].Dot, sib.Dot) >= 0 {
			d.fail("siblings not strictly sorted at %s:%d", sib.Dot.Node, sib.Dot.Counter)
		}
		sibs = append(sibs, sib)
	}
	return sibs
}

func (d *decoder) sibling(clock Clock) Sibling {
	idx := d.uvarint()
	counter := d.uvarint()
	flags := d.byte()
	ts := d.varint()
	l := d.count(1)
	data := d.bytes(l)
	if d.err != nil {
		return Sibling{}
	}
	if idx >= uint64(len(clock.entries)) {
		d.fail("dot node index %d out of range", idx)
		return Sibling{}
	}
	e := clock.entries[idx]
	switch {
	case counter == 0 || counter > e.Counter:
		d.fail("dot %s:%d not covered by clock", e.Node, counter)
	case flags&^knownFlags != 0:
		d.fail("unknown flags %#x", flags)
	case flags&flagTombstone != 0 && l > 0:
		d.fail("tombstone with data")
	}
	var v Value
	if l > 0 {
		v.Data = data
	}
	v.Tombstone = flags&flagTombstone != 0
	v.Timestamp = ts
	return Sibling{Dot: Dot{Node: e.Node, Counter: counter}, Value: v}
}

// Context text form: the clock's binary form behind a version byte, in
// unpadded URL-safe base64, so it fits an HTTP header unescaped. Clients
// treat it as opaque.

// String returns the opaque text form of the clock, as sent to clients in
// the X-Chorus-Context header; the empty clock is the empty string.
func (c Clock) String() string {
	if c.IsEmpty() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.Encode())
}

// Encode returns the canonical binary form of the clock.
func (c Clock) Encode() []byte {
	return appendClock([]byte{formatV1}, c)
}

// ParseContext parses the text form produced by Clock.String. The empty
// string is the empty clock. Only the exact form String produces is
// accepted, so a context has one spelling. A context is client input, so
// beyond being well formed it must stay within MaxContextLen bytes and
// MaxContextNodes nodes (errors wrapping ErrContextTooLarge too), node IDs
// within MaxNodeIDLen bytes, and counters within MaxCounter. Every error
// wraps ErrMalformed.
func ParseContext(s string) (Clock, error) {
	if s == "" {
		return Clock{}, nil
	}
	if len(s) > MaxContextLen {
		return Clock{}, fmt.Errorf("%w: %w: %d bytes (limit %d)", ErrMalformed, ErrContextTooLarge, len(s), MaxContextLen)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Clock{}, fmt.Errorf("%w: context is not unpadded base64url: %v", ErrMalformed, err)
	}
	c, err := DecodeClock(b)
	if err != nil {
		return Clock{}, err
	}
	if c.IsEmpty() || c.String() != s {
		return Clock{}, fmt.Errorf("%w: context is not in canonical form", ErrMalformed)
	}
	if c.Len() > MaxContextNodes {
		return Clock{}, fmt.Errorf("%w: %w: names %d nodes (limit %d)", ErrMalformed, ErrContextTooLarge, c.Len(), MaxContextNodes)
	}
	for _, e := range c.entries {
		if e.Counter > MaxCounter {
			return Clock{}, fmt.Errorf("%w: counter %d of node %q is above %d", ErrMalformed, e.Counter, e.Node, uint64(MaxCounter))
		}
	}
	return c, nil
}

// checkContextSize reports whether ParseContext would refuse c's text
// form for its size.
func checkContextSize(c Clock) error {
	if c.Len() > MaxContextNodes {
		return fmt.Errorf("%w: the key's context would name %d nodes (limit %d)", ErrContextTooLarge, c.Len(), MaxContextNodes)
	}
	n := 1 + uvarintLen(uint64(len(c.entries)))
	for _, e := range c.entries {
		n += uvarintLen(uint64(len(e.Node))) + len(e.Node) + uvarintLen(e.Counter)
	}
	if l := base64.RawURLEncoding.EncodedLen(n); l > MaxContextLen {
		return fmt.Errorf("%w: the key's context would be %d bytes (limit %d)", ErrContextTooLarge, l, MaxContextLen)
	}
	return nil
}

// DecodeClock parses the binary form produced by Clock.Encode.
func DecodeClock(b []byte) (Clock, error) {
	d := decoder{buf: b}
	if v := d.byte(); d.err == nil && v != formatV1 {
		return Clock{}, fmt.Errorf("%w: unknown format version %d", ErrMalformed, v)
	}
	c := d.clock()
	if d.err == nil && len(d.buf) > 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return Clock{}, d.err
	}
	return c, nil
}
