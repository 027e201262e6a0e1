package transport

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them,
// or the caller's context error, and is checked with errors.Is; the one
// exception is *IncompleteError, which marks a valid but partial Fetch
// answer rather than a failure.
var (
	// ErrClosed is returned by calls made after Close, and by calls that
	// were queued or in flight when Close ran.
	ErrClosed = errors.New("transport: closed")

	// ErrUnreachable means the RPC that carried a call failed as a whole:
	// the node could not be dialed, the connection broke, the message was
	// rejected (for example as too large) or the batch deadline passed. The
	// grpc status is wrapped too, so status.Code(err) still works. The
	// node may or may not have applied a Replicate that failed this way.
	ErrUnreachable = errors.New("transport: peer unreachable")

	// ErrRemote means the node answered, but not with success for this
	// item: it reported an error for the item, or its reply was malformed
	// (wrong number of answers, undecodable sibling set).
	ErrRemote = errors.New("transport: remote error")
)

// IncompleteError comes with the set a Fetch returns when Node owns the
// key's partition but is still receiving the partition's data from its
// previous owner (ownership handoff). The set is valid, but it may lack
// writes the previous owner holds, so a reader must not count the reply
// toward its read quorum. It wraps no sentinel: the node did answer.
// Check for it with errors.As, or through its Partial method, which the
// coordinator (package replica) looks for without importing this package.
type IncompleteError struct {
	// Node is the node that answered.
	Node string
}

func (e *IncompleteError) Error() string {
	return "transport: fetch from " + e.Node + ": node is still receiving the partition's data"
}

// Partial reports true: the set that came with e is a partial reply.
func (e *IncompleteError) Partial() bool { return true }
