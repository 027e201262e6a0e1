package transport

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them,
// or the caller's context error, and is checked with errors.Is.
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
