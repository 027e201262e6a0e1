package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is the error of a failed request: the gRPC status code and the
// server's message (or the client's own, for local failures). Check it
// against the sentinels below with errors.Is, or read the code with
// errors.As.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the server's message, such as
	// "replica: read quorum not met (1/2)".
	Message string
	// Node is the address of the node that answered; empty for errors
	// found before any request was sent.
	Node string
	// NotSent is true when the request never reached a node that could
	// act on it: no connection could be made, gRPC failed the call before
	// sending it, or the node refused it unhandled (it was starting). A
	// write with NotSent was not applied; errors.Is(err, ErrNotSent)
	// reads it.
	NotSent bool

	sentinel        bool
	notSentSentinel bool
}

// Sentinels, matched by code: errors.Is(err, client.ErrUnavailable) is true
// for every *Error with codes.Unavailable.
var (
	// ErrInvalid: the request or a setting is malformed
	// (codes.InvalidArgument), found locally or by the server.
	ErrInvalid = sentinel(codes.InvalidArgument, "invalid argument")
	// ErrUnavailable: a quorum was not met, or no node could be reached
	// (codes.Unavailable).
	ErrUnavailable = sentinel(codes.Unavailable, "unavailable")
	// ErrTimeout: the request's deadline passed (codes.DeadlineExceeded),
	// or the node went silent (Config.SilenceAfter). Such errors also
	// match context.DeadlineExceeded. A write that times out was sent, so
	// it may have been applied: read the key to find out, or retry with
	// the same causal context (the worst outcome is a sibling, never a
	// lost write). Compare ErrNotSent.
	ErrTimeout = sentinel(codes.DeadlineExceeded, "deadline exceeded")
	// ErrNotSent: the request was never sent to a node that could act on
	// it (see Error.NotSent), so a write was not applied and may be
	// retried freely. It is matched together with the code's sentinel
	// (usually ErrUnavailable).
	ErrNotSent = &Error{Message: "request not sent", sentinel: true, notSentSentinel: true}
	// ErrCanceled: the request was canceled (codes.Canceled). Such errors
	// also match context.Canceled.
	ErrCanceled = sentinel(codes.Canceled, "canceled")
	// ErrNotFound: the server reported codes.NotFound. Get does not: a
	// missing key is Result.Found == false.
	ErrNotFound = sentinel(codes.NotFound, "not found")
	// ErrInternal: the server failed (codes.Internal, codes.Unknown and
	// codes.DataLoss).
	ErrInternal = sentinel(codes.Internal, "internal error")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrSiblings: Result.Value found more than one value, left by
	// concurrent writes. Read Result.Values, or resolve them with
	// GetMerged.
	ErrSiblings = errors.New("client: siblings: the key has concurrent values")
)

func sentinel(c codes.Code, msg string) *Error {
	return &Error{Code: c, Message: msg, sentinel: true}
}

// Error returns "client: " and the message.
func (e *Error) Error() string {
	if e.Node != "" && !strings.Contains(e.Message, e.Node) {
		return fmt.Sprintf("client: %s (node %s)", e.Message, e.Node)
	}
	return "client: " + e.Message
}

// Is matches the sentinel of e's code (and ErrNotSent when e.NotSent),
// and the context error of DeadlineExceeded and Canceled.
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	case context.Canceled:
		return e.Code == codes.Canceled
	}
	t, ok := target.(*Error)
	if !ok || !t.sentinel {
		return false
	}
	if t.notSentSentinel {
		return e.NotSent
	}
	if t.Code == codes.Internal {
		return e.Code == codes.Internal || e.Code == codes.Unknown || e.Code == codes.DataLoss
	}
	return e.Code == t.Code
}

// GRPCStatus lets status.Code and status.FromError read e.
func (e *Error) GRPCStatus() *status.Status {
	return status.New(e.Code, e.Message)
}

func invalid(format string, args ...any) *Error {
	return &Error{Code: codes.InvalidArgument, NotSent: true, Message: fmt.Sprintf(format, args...)}
}

// convert turns an RPC error into an *Error naming node.
func convert(err error, node string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: codes.DeadlineExceeded, Message: err.Error(), Node: node}
	case errors.Is(err, context.Canceled):
		return &Error{Code: codes.Canceled, Message: err.Error(), Node: node}
	}
	s, _ := status.FromError(err)
	return &Error{Code: s.Code(), Message: s.Message(), Node: node}
}
