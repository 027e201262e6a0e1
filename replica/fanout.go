package replica

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// reply is one replica's answer to a fan-out call: a set, or for a
// digest read (isDigest) the set's digest.
type reply struct {
	t        target
	set      vclock.Set
	digest   uint64
	isDigest bool
	err      error
}

// fanout runs one request's replica calls on goroutines the Coordinator
// owns. The calls share a context that outlives the request's answer (so
// replication goes on to every replica after W acks, and read repair can
// hear the late replies) and ends at the request's deadline, or earlier
// once the last call returned and nobody holds a reference any more.
type fanout struct {
	c      *Coordinator
	ctx    context.Context
	cancel context.CancelFunc
	// refs counts the running calls plus one per holder (the request,
	// then a read repair); the last release cancels ctx.
	refs     atomic.Int32
	launched int
	ch       chan reply
}

// newFanout prepares a fan-out of at most capacity calls, ending at
// deadline. The caller holds one reference.
func (c *Coordinator) newFanout(deadline time.Time, capacity int) *fanout {
	ctx, cancel := context.WithDeadline(c.ctx, deadline)
	f := &fanout{c: c, ctx: ctx, cancel: cancel, ch: make(chan reply, capacity)}
	f.refs.Store(1)
	return f
}

// launch starts call for t. If the Coordinator is closing, it sends a
// failed reply instead.
func (f *fanout) launch(t target, call func(ctx context.Context) (vclock.Set, error)) {
	f.run(t, func(ctx context.Context) reply {
		s, err := call(ctx)
		return reply{set: s, err: err}
	})
}

// launchDigest is launch for a digest read.
func (f *fanout) launchDigest(t target, call func(ctx context.Context) (uint64, error)) {
	f.run(t, func(ctx context.Context) reply {
		d, err := call(ctx)
		return reply{digest: d, isDigest: true, err: err}
	})
}

func (f *fanout) run(t target, call func(ctx context.Context) reply) {
	f.launched++
	if !f.c.track() {
		f.ch <- reply{t: t, err: ErrClosed}
		f.c.stats.replies.Add(1)
		return
	}
	f.refs.Add(1)
	go func() {
		defer f.c.wg.Done()
		defer f.release()
		rep := call(f.ctx)
		rep.t = t
		if rep.err != nil {
			rep.err = fmt.Errorf("%s: %w", t.node, rep.err)
		}
		f.ch <- rep // never blocks: ch holds every call's reply
		f.c.stats.replies.Add(1)
	}()
}

// hold takes one more reference, for a holder other than the request.
func (f *fanout) hold() { f.refs.Add(1) }

// release drops one reference.
func (f *fanout) release() {
	if f.refs.Add(-1) == 0 {
		f.cancel()
	}
}
