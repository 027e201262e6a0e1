package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/chorusdb/chorus/antientropy"
)

// Key layout. The first byte names the keyspace, so each keyspace is one
// contiguous range and can never collide with another:
//
//	data: 'd' | partition (2 bytes, big-endian) | slot (2 bytes) | user key
//	hint: 'h' | len(target) (1 byte) | target | hint ID
//	meta: 'm' | name
//
// Big-endian partitions sort numerically, and the partition is a fixed-width
// prefix, so one partition's keys are exactly one prefix scan. Within a
// partition keys sort by slot (antientropy.Slot, a 16-bit hash of the user
// key), then by user key, so the keys of one anti-entropy segment, a range
// of slots, are one range scan rather than a scan of the partition. The
// hint target is length-prefixed so that target "a" never matches the hints
// of target "ab".
const (
	spaceData byte = 'd'
	spaceHint byte = 'h'
	spaceMeta byte = 'm'

	partitionLen = 2
	slotLen      = 2
	prefixLen    = 1 + partitionLen
	dataHeader   = prefixLen + slotLen

	// MaxPartitions bounds the partition numbers storage accepts: a
	// partition must be < MaxPartitions. The ring uses at most 4096.
	MaxPartitions = 1 << (8 * partitionLen)

	// MaxHintTargetLen is the longest hint target (a node name), in bytes.
	MaxHintTargetLen = 255
)

// partitionPrefix returns the prefix shared by every data key of partition p.
func partitionPrefix(p uint32) []byte {
	b := make([]byte, prefixLen)
	b[0] = spaceData
	binary.BigEndian.PutUint16(b[1:], uint16(p))
	return b
}

// dataKey returns the engine key of user key k in partition p.
func dataKey(p uint32, k []byte) []byte {
	b := make([]byte, dataHeader, dataHeader+len(k))
	b[0] = spaceData
	binary.BigEndian.PutUint16(b[1:], uint16(p))
	binary.BigEndian.PutUint16(b[prefixLen:], antientropy.Slot(k))
	return append(b, k...)
}

// slotKey returns the first engine key of slot in partition p.
func slotKey(p uint32, slot uint16) []byte {
	b := partitionPrefix(p)
	return binary.BigEndian.AppendUint16(b, slot)
}

// decodeDataKey splits an engine data key into partition and user key. The
// user key aliases b.
func decodeDataKey(b []byte) (partition uint32, key []byte, err error) {
	if len(b) <= dataHeader || b[0] != spaceData {
		return 0, nil, fmt.Errorf("%w: bad data key %q", ErrCorrupt, b)
	}
	key = b[dataHeader:]
	if binary.BigEndian.Uint16(b[prefixLen:]) != antientropy.Slot(key) {
		return 0, nil, fmt.Errorf("%w: data key %q is stored under the wrong slot", ErrCorrupt, b)
	}
	return uint32(binary.BigEndian.Uint16(b[1:])), key, nil
}

// hintPrefix returns the prefix shared by every hint for target.
func hintPrefix(target string) []byte {
	b := make([]byte, 0, 2+len(target))
	b = append(b, spaceHint, byte(len(target)))
	return append(b, target...)
}

// hintKey returns the engine key of hint id for target.
func hintKey(target string, id []byte) []byte {
	return append(hintPrefix(target), id...)
}

// decodeHintKey splits an engine hint key into target and ID. The ID
// aliases b.
func decodeHintKey(b []byte) (target string, id []byte, err error) {
	if len(b) < 2 || b[0] != spaceHint {
		return "", nil, fmt.Errorf("%w: bad hint key %q", ErrCorrupt, b)
	}
	n := int(b[1])
	if n == 0 || len(b) <= 2+n {
		return "", nil, fmt.Errorf("%w: bad hint key %q", ErrCorrupt, b)
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

// metaKey returns the engine key of meta entry name.
func metaKey(name string) []byte {
	b := make([]byte, 0, 1+len(name))
	return append(append(b, spaceMeta), name...)
}

// CheckKey reports whether key is a user key the store accepts (not
// empty, at most Options.MaxKeyLen bytes), with the error every read and
// write of it would return, so that a caller can refuse it before any
// other work.
func (db *DB) CheckKey(key []byte) error {
	return db.checkName("key", len(key))
}

// checkKey validates a user key and its partition.
func (db *DB) checkKey(partition uint32, key []byte) error {
	if err := checkPartition(partition); err != nil {
		return err
	}
	return db.checkName("key", len(key))
}

func checkPartition(p uint32) error {
	if p >= MaxPartitions {
		return fmt.Errorf("%w: %d (must be < %d)", ErrBadPartition, p, MaxPartitions)
	}
	return nil
}

// checkName validates the length of a key, hint ID or meta name.
func (db *DB) checkName(what string, n int) error {
	if n == 0 {
		return fmt.Errorf("%w: %s is empty", ErrEmptyKey, what)
	}
	if n > db.opts.MaxKeyLen {
		return fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrKeyTooLong, what, n, db.opts.MaxKeyLen)
	}
	return nil
}

// checkTarget validates a hint target.
func checkTarget(target string) error {
	if target == "" {
		return fmt.Errorf("%w: hint target is empty", ErrEmptyKey)
	}
	if len(target) > MaxHintTargetLen {
		return fmt.Errorf("%w: hint target is %d bytes (limit %d)", ErrKeyTooLong, len(target), MaxHintTargetLen)
	}
	return nil
}

// checkValue validates the length of a value.
func (db *DB) checkValue(n int) error {
	if n > db.opts.MaxValueLen {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrValueTooLarge, n, db.opts.MaxValueLen)
	}
	return nil
}
