package antientropy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/cespare/xxhash/v2"

	"github.com/chorusdb/chorus/vclock"
)

// Default shape of a tree: 4096 segments grouped into 64 branches of 64
// segments each. A partition of 100,000 keys then has about 25 keys per
// segment, so a single diverged key costs one branch of 64 segment hashes
// and a scan that keeps about 25 keys.
const (
	DefaultSegments = 4096
	DefaultBranches = 64

	// MaxSegments bounds Config.Segments: a segment is a range of the
	// 16-bit Slot, so there can be at most one segment per slot. It also
	// keeps a bad configuration from allocating much per partition.
	MaxSegments = 1 << slotBits

	slotBits = 16
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("antientropy: invalid config")

// Config fixes the shape of a Tree. Two trees can only be compared if their
// configs are equal, so every node of a cluster must use the same one.
type Config struct {
	// Segments is the number of leaf hashes, a power of two. Zero means
	// DefaultSegments (4096); at most MaxSegments.
	Segments int
	// Branches is the number of branch hashes, a power of two no larger
	// than Segments; each branch covers Segments/Branches consecutive
	// segments. Zero means DefaultBranches (64).
	Branches int
}

// DefaultConfig returns 4096 segments in 64 branches.
func DefaultConfig() Config {
	return Config{Segments: DefaultSegments, Branches: DefaultBranches}
}

func (c Config) withDefaults() Config {
	if c.Segments == 0 {
		c.Segments = DefaultSegments
	}
	if c.Branches == 0 {
		c.Branches = DefaultBranches
	}
	return c
}

// Validate reports whether the config, with zero fields set to their
// defaults, describes a valid tree shape.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case !isPow2(c.Segments) || c.Segments > MaxSegments:
		return fmt.Errorf("%w: segments %d is not a power of two in [1, %d]",
			ErrInvalidConfig, c.Segments, MaxSegments)
	case !isPow2(c.Branches):
		return fmt.Errorf("%w: branches %d is not a positive power of two",
			ErrInvalidConfig, c.Branches)
	case c.Branches > c.Segments:
		return fmt.Errorf("%w: branches %d exceed segments %d",
			ErrInvalidConfig, c.Branches, c.Segments)
	}
	return nil
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// Tree is the hash tree of one partition: one hash per segment, one per
// branch (the XOR of its segments) and a root (the XOR of all branches).
// Each hash is the XOR of KeyHash over the keys it covers. A Tree is not
// safe for concurrent use; its owner serialises Update with reads.
type Tree struct {
	cfg   Config
	width int // segments per branch
	shift uint
	// slotShift turns a Slot into a segment number.
	slotShift uint
	segments  []uint64
	branches  []uint64
	root      uint64
}

// New returns an empty tree (all hashes zero) of the given shape.
func New(cfg Config) (*Tree, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	width := cfg.Segments / cfg.Branches
	return &Tree{
		cfg:       cfg,
		width:     width,
		shift:     uint(bits.TrailingZeros(uint(width))),
		slotShift: slotBits - uint(bits.TrailingZeros(uint(cfg.Segments))),
		segments:  make([]uint64, cfg.Segments),
		branches:  make([]uint64, cfg.Branches),
	}, nil
}

// Config returns the tree's shape, defaults filled in.
func (t *Tree) Config() Config { return t.cfg }

// KeyHash returns the hash a key with the sibling set s contributes to its
// segment: the xxhash of the key's length, the key and the canonical
// encoding of s. Equal (key, set) pairs hash equally on every node because
// vclock's encoding is canonical; the length prefix keeps (key, set) pairs
// whose concatenations coincide apart.
func KeyHash(key []byte, s vclock.Set) uint64 {
	var buf [256]byte
	return KeyHashEncoded(key, s.AppendEncode(buf[:0]))
}

// KeyHashEncoded is KeyHash of a set given in its canonical encoding (as
// vclock.Set.Encode returns it), for a store that holds sets encoded.
func KeyHashEncoded(key, set []byte) uint64 {
	var buf [binary.MaxVarintLen64]byte
	var d xxhash.Digest
	d.Reset()
	_, _ = d.Write(binary.AppendUvarint(buf[:0], uint64(len(key))))
	_, _ = d.Write(key)
	_, _ = d.Write(set)
	return d.Sum64()
}

// Flip XORs h into key's segment, branch and root: what Update does with
// precomputed hashes, for an owner that hashes encoded sets
// (KeyHashEncoded of the old set XOR that of the new one, an absent set
// contributing nothing).
func (t *Tree) Flip(key []byte, h uint64) {
	if h != 0 {
		t.flip(t.Segment(key), h)
	}
}

// Slot returns the 16-bit slot of key: the low 16 bits of its xxhash. The
// ring uses the top bits for the partition, so every key of a partition
// shares those and they would pile all keys into a few segments.
//
// A segment is a range of consecutive slots (SegmentSlots), so a store that
// orders each partition's keys by slot first can read one segment's keys as
// one range instead of scanning the partition.
func Slot(key []byte) uint16 {
	return uint16(xxhash.Sum64(key))
}

// Segment returns the segment of key: the top bits of its Slot.
func (t *Tree) Segment(key []byte) int {
	return int(Slot(key)) >> t.slotShift
}

// SegmentSlots returns the first and last slot of segment seg (inclusive).
func (t *Tree) SegmentSlots(seg int) (first, last uint16) {
	return t.cfg.SegmentSlots(seg)
}

// SegmentSlots returns the first and last slot (inclusive) of segment seg
// in a tree of this shape.
func (c Config) SegmentSlots(seg int) (first, last uint16) {
	c = c.withDefaults()
	shift := slotBits - uint(bits.TrailingZeros(uint(c.Segments)))
	lo := seg << shift
	return uint16(lo), uint16(lo + 1<<shift - 1)
}

// Branch returns the branch that holds segment seg.
func (t *Tree) Branch(seg int) int { return seg >> t.shift }

// Update records that key changed from old to new in O(1): it XORs out
// old's hash if old is non-empty and XORs in new's if new is non-empty. An
// empty set means the key is absent. The caller must pass as old exactly
// what it last gave the tree for key, or the tree drifts from the data
// until the next rebuild.
func (t *Tree) Update(key []byte, old, new vclock.Set) {
	var h uint64
	if !old.IsEmpty() {
		h = KeyHash(key, old)
	}
	if !new.IsEmpty() {
		h ^= KeyHash(key, new)
	}
	if h != 0 {
		t.flip(t.Segment(key), h)
	}
}

// Add XORs in key with set s, as Update(key, vclock.Set{}, s) does. It is
// meant for rebuilding a tree from a scan, which gives each key once;
// adding the same (key, set) twice cancels it out.
func (t *Tree) Add(key []byte, s vclock.Set) {
	t.Update(key, vclock.Set{}, s)
}

func (t *Tree) flip(seg int, h uint64) {
	t.segments[seg] ^= h
	t.branches[seg>>t.shift] ^= h
	t.root ^= h
}

// Root returns the XOR of all branch hashes; zero for an empty tree.
func (t *Tree) Root() uint64 { return t.root }

// Branches returns a copy of the branch hashes, in branch order.
func (t *Tree) Branches() []uint64 {
	return append([]uint64(nil), t.branches...)
}

// Segments returns a copy of the segment hashes of branch, in segment
// order, or nil if branch is out of range. Element i is the hash of segment
// branch*Segments/Branches + i.
func (t *Tree) Segments(branch int) []uint64 {
	if branch < 0 || branch >= len(t.branches) {
		return nil
	}
	lo := branch * t.width
	return append([]uint64(nil), t.segments[lo:lo+t.width]...)
}

// Clone returns an independent copy of the tree.
func (t *Tree) Clone() *Tree {
	c := *t
	c.segments = append([]uint64(nil), t.segments...)
	c.branches = append([]uint64(nil), t.branches...)
	return &c
}
