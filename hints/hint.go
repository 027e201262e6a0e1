package hints

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// Hint is a write a fallback replica holds for a primary that was down:
// the sibling set of Key in Partition, to be merged into Target's copy.
type Hint struct {
	// Target is the node ID of the intended owner.
	Target string
	// Partition is the ring partition of Key.
	Partition uint32
	// Key is the user key.
	Key []byte
	// Set is the sibling set to hand over; the owner merges it.
	Set vclock.Set
	// Created is when the hint was queued; Add fills it in if zero.
	// MaxAge is measured from it.
	Created time.Time
}

// ErrMalformed is wrapped by every error decoding a stored hint.
var ErrMalformed = errors.New("hints: malformed hint")

// Payload encoding, version 1. The target is not stored: it is part of the
// storage key.
//
//	payload = version(1 byte) partition(uvarint) created(varint, unix ns)
//	          len(key)(uvarint) key set(vclock encoding, rest of payload)
const encodingV1 = 1

// encode returns the stored payload of h.
func (h Hint) encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(h.Key)+64)
	b = append(b, encodingV1)
	b = binary.AppendUvarint(b, uint64(h.Partition))
	b = binary.AppendVarint(b, h.Created.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(h.Key)))
	b = append(b, h.Key...)
	return h.Set.AppendEncode(b)
}

// decodeHint parses a payload stored for target. It copies what it keeps.
func decodeHint(target string, b []byte) (Hint, error) {
	if len(b) == 0 || b[0] != encodingV1 {
		return Hint{}, fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	b = b[1:]
	part, n := binary.Uvarint(b)
	if n <= 0 || part > 1<<32-1 {
		return Hint{}, fmt.Errorf("%w: bad partition", ErrMalformed)
	}
	b = b[n:]
	created, n := binary.Varint(b)
	if n <= 0 {
		return Hint{}, fmt.Errorf("%w: bad creation time", ErrMalformed)
	}
	b = b[n:]
	klen, n := binary.Uvarint(b)
	if n <= 0 || klen == 0 || klen > uint64(len(b)-n) {
		return Hint{}, fmt.Errorf("%w: bad key length", ErrMalformed)
	}
	b = b[n:]
	key := append([]byte(nil), b[:klen]...)
	set, err := vclock.Decode(b[klen:])
	if err != nil {
		return Hint{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return Hint{Target: target, Partition: uint32(part), Key: key, Set: set,
		Created: time.Unix(0, created)}, nil
}

// hintID returns the storage ID of a hint: its creation time in unix
// nanoseconds and a sequence number, both big-endian, so that ID order is
// age order and two hints created in the same nanosecond do not collide.
func hintID(created time.Time, seq uint64) []byte {
	id := make([]byte, 16)
	binary.BigEndian.PutUint64(id, uint64(created.UnixNano()))
	binary.BigEndian.PutUint64(id[8:], seq)
	return id
}

// idSeq returns the sequence number of an ID made by hintID, or 0.
func idSeq(id []byte) uint64 {
	if len(id) != 16 {
		return 0
	}
	return binary.BigEndian.Uint64(id[8:])
}
