package replica

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// reply is one replica's answer to a fan-out call.
type reply struct {
	t   target
	set vclock.Set
	err error
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

// launch starts call for t. It reports false, having sent a failed reply,
// if the Coordinator is closing.
func (f *fanout) launch(t target, call func(ctx context.Context) (vclock.Set, error)) {
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
		s, err := call(f.ctx)
		if err != nil {
			err = fmt.Errorf("%s: %w", t.node, err)
		}
		f.ch <- reply{t: t, set: s, err: err} // never blocks: ch holds every call's reply
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
