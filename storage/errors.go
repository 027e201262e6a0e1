package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Errors returned by DB. Check them with errors.Is: most are wrapped with
// the details of the failing call (the key length, the sibling count, ...).
var (
	// ErrNotFound means the key, hint or meta entry does not exist.
	// A key whose siblings are all tombstones exists: Get returns its set.
	ErrNotFound = errors.New("storage: not found")

	// ErrClosed is returned by every method called after Close has begun.
	ErrClosed = errors.New("storage: closed")

	// ErrEmptyKey is returned for a zero-length key, hint target, hint ID or
	// meta name.
	ErrEmptyKey = errors.New("storage: empty key")

	// ErrKeyTooLong is returned for a key longer than Options.MaxKeyLen, a
	// hint target longer than 255 bytes, or a hint ID or meta name longer
	// than Options.MaxKeyLen.
	ErrKeyTooLong = errors.New("storage: key too long")

	// ErrValueTooLarge is returned for a value longer than
	// Options.MaxValueLen, or when one write alone exceeds what the engine
	// can commit in a transaction.
	ErrValueTooLarge = errors.New("storage: value too large")

	// ErrBadPartition is returned for a partition number of 1<<16 or more;
	// the key layout stores partitions in two bytes.
	ErrBadPartition = errors.New("storage: partition out of range")

	// ErrTooManySiblings is returned by Update when the write would leave
	// more than Options.SiblingLimit siblings on a key. The client should
	// read the key and write with the context of that read, which resolves
	// the siblings it saw. Merge never returns it: refusing replica data
	// would lose writes acknowledged elsewhere.
	ErrTooManySiblings = errors.New("storage: too many siblings")

	// ErrCorrupt is returned when a stored value does not decode.
	ErrCorrupt = errors.New("storage: corrupt value")

	// ErrTreesNotReady is returned by the Tree methods while the trees are
	// being rebuilt after Open, or always when Options.NoTrees is set.
	// A peer that gets it skips the exchange and tries again later.
	ErrTreesNotReady = errors.New("storage: anti-entropy trees not ready")

	// ErrBadSegment is returned for a tree branch or segment number outside
	// the trees' shape.
	ErrBadSegment = errors.New("storage: tree branch or segment out of range")

	// ErrBadOptions is wrapped by Options.Validate for an invalid field.
	ErrBadOptions = errors.New("storage: invalid options")
)

// translate maps an engine error onto this package's errors so that no
// badger error value escapes. The original text is kept for diagnosis.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	case errors.Is(err, badger.ErrTxnTooBig):
		return fmt.Errorf("%w: %s: write does not fit in one transaction", ErrValueTooLarge, op)
	}
	msg := firstLine(err.Error())
	if strings.HasPrefix(msg, "Value with size") {
		// badger has no sentinel for its per-value limit (exceedsSize).
		return fmt.Errorf("%w: %s: %s", ErrValueTooLarge, op, msg)
	}
	// Not %w: callers must not be able to reach the badger value.
	return fmt.Errorf("storage: %s: %s", op, msg)
}

// firstLine cuts an engine message at its first newline: badger appends a
// hex dump of the offending key or value to some errors.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
