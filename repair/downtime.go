package repair

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A node that was down longer than the tombstone grace period may hold
// values whose deletes the cluster has since collected; anti-entropy would
// bring them back. So a node records, now and then while it runs, when it
// was last alive, and refuses to start when that mark is older than the
// grace period.

// ErrDownTooLong is wrapped by CheckDowntime's error.
var ErrDownTooLong = errors.New("repair: node was down longer than the tombstone grace period")

// ErrBadAliveMark is wrapped by every error DecodeAliveMark returns.
var ErrBadAliveMark = errors.New("repair: malformed last-alive mark")

// Last-alive mark encoding, version 1 (docs/formats.md):
//
//	mark = version(1 byte, 1) unix_nanoseconds(8 bytes, big-endian, two's complement)
//
// Before version 1 the mark was the 8 time bytes alone; DecodeAliveMark
// still reads that form, told apart by its length.
const (
	aliveMarkV1     = 1
	aliveMarkLen    = 1 + 8
	aliveMarkLegacy = 8
)

// EncodeAliveMark returns the stored form of a last-alive mark at t.
func EncodeAliveMark(t time.Time) []byte {
	b := make([]byte, 0, aliveMarkLen)
	b = append(b, aliveMarkV1)
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// DecodeAliveMark parses a stored last-alive mark, of version 1 or of the
// unversioned form before it. Any other input is refused with an error
// wrapping ErrBadAliveMark.
func DecodeAliveMark(b []byte) (time.Time, error) {
	switch {
	case len(b) == aliveMarkLegacy:
		return time.Unix(0, int64(binary.BigEndian.Uint64(b))), nil
	case len(b) == aliveMarkLen && b[0] == aliveMarkV1:
		return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:]))), nil
	case len(b) == aliveMarkLen:
		return time.Time{}, fmt.Errorf("%w: version %d, this build reads %d", ErrBadAliveMark, b[0], aliveMarkV1)
	}
	return time.Time{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadAliveMark, len(b), aliveMarkLen)
}

// CheckDowntime returns nil if a node last alive at last may rejoin at
// now, and otherwise an error wrapping ErrDownTooLong that says how long
// it was down: longer than grace, the tombstone grace period.
func CheckDowntime(last, now time.Time, grace time.Duration) error {
	down := now.Sub(last)
	if down <= grace {
		return nil
	}
	return fmt.Errorf("%w: last up %s ago (at %s), grace %s", ErrDownTooLong,
		down.Round(time.Second), last.UTC().Format(time.RFC3339), grace)
}

// AliveMarkEvery returns how often a running node refreshes its
// last-alive mark under grace: often enough that a node is never judged by
// a mark much older than its stop (a tenth of the grace period, at most a
// minute, at least 10 ms).
func AliveMarkEvery(grace time.Duration) time.Duration {
	return min(time.Minute, max(grace/10, 10*time.Millisecond))
}
