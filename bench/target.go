package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chorusdb/chorus/client"
)

// Target is the system under test.
//
// Put and Get are called concurrently from every client goroutine and must
// be safe for that. They must not retain key or value after returning: the
// runner reuses the buffers. Get returns ErrNotFound (or an error wrapping
// it) when the key has no value; the runner counts that as a miss, not an
// error. Any other error is counted under its kind (see ErrorKinder).
type Target interface {
	Put(ctx context.Context, key, value []byte) error
	Get(ctx context.Context, key []byte) error
}

// Deleter is an optional interface of a Target, needed by the mixes that
// delete (see Workload): Delete removes key. Deleting a missing key is not
// an error.
type Deleter interface {
	Delete(ctx context.Context, key []byte) error
}

// ErrorKinder is an optional interface of a Target: ErrorKind names the
// kind of an error its Put or Get returned, and the runner counts errors
// by that name. Without it the runner uses err.Error(), which is fine
// unless messages carry request-specific details.
type ErrorKinder interface {
	ErrorKind(err error) string
}

// ErrNotFound is returned by a Target's Get when the key has no value.
var ErrNotFound = errors.New("bench: not found")

// ClientTarget drives a cluster through a *client.Client, passing the same
// per-request options (quorum, durability) to every request.
//
// Dynamo-style blind writes of one key add a sibling each, so that a long
// run would grow sibling sets (and read sizes) without bound. ClientTarget
// therefore remembers the causal context of the last write or read of each
// key and passes it with the next write, as a real read-modify-write
// application would; set Blind to send blind writes instead.
type ClientTarget struct {
	c    *client.Client
	opts []client.Option
	// Blind, when set before the first request, makes every Put blind
	// (no causal context).
	Blind bool

	contexts sync.Map // string(key) -> context string
}

var (
	_ Target      = (*ClientTarget)(nil)
	_ Deleter     = (*ClientTarget)(nil)
	_ ErrorKinder = (*ClientTarget)(nil)
)

// NewClientTarget returns a Target that sends every request through c with
// opts (client.WithN, WithR, WithW, NotDurable, ...). It does not own c.
func NewClientTarget(c *client.Client, opts ...client.Option) *ClientTarget {
	return &ClientTarget{c: c, opts: opts}
}

// Put writes value under key.
func (t *ClientTarget) Put(ctx context.Context, key, value []byte) error {
	res, err := t.c.Put(ctx, key, value, t.withContext(key)...)
	if err != nil {
		return err
	}
	t.remember(key, res.Causal)
	return nil
}

// Delete deletes key, with the causal context of its last read or write
// (unless Blind), so that the tombstone supersedes what the client saw.
func (t *ClientTarget) Delete(ctx context.Context, key []byte) error {
	res, err := t.c.Delete(ctx, key, t.withContext(key)...)
	if err != nil {
		return err
	}
	t.remember(key, res.Causal)
	return nil
}

// Get reads key; it returns ErrNotFound when the key has no value.
func (t *ClientTarget) Get(ctx context.Context, key []byte) error {
	res, err := t.c.Get(ctx, key, t.opts...)
	if err != nil {
		return err
	}
	t.remember(key, res.Causal)
	if !res.Found {
		return ErrNotFound
	}
	return nil
}

// withContext returns the request options for a write of key: t's, plus
// the causal context last seen for key unless t is blind.
func (t *ClientTarget) withContext(key []byte) []client.Option {
	opts := t.opts
	if !t.Blind {
		if c, ok := t.contexts.Load(string(key)); ok {
			opts = append(opts[:len(opts):len(opts)], client.WithCausal(c.(client.Causal)))
		}
	}
	return opts
}

func (t *ClientTarget) remember(key []byte, ctx client.Causal) {
	if !t.Blind && ctx != "" {
		t.contexts.Store(string(key), ctx)
	}
}

// ErrorKind names a *client.Error by its gRPC code and message without the
// node that answered, so that one failure mode on several nodes counts as
// one kind.
func (t *ClientTarget) ErrorKind(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s: %s", ce.Code, ce.Message)
	}
	return err.Error()
}
