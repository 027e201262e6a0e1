package silence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// Error is the cause with which Watch cancels a call to a silent peer.
type Error struct {
	// After is the bound the peer was silent for.
	After time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("silence: no answer within %v, nor to a ping", e.After)
}

// Watch runs call with a context that it cancels, with an *Error as the
// cause, if the peer call waits on is silent: when half of after has
// passed and call has not returned, ping asks the peer for an immediate
// answer, and if that has not come when after has passed, the peer is
// silent. A peer that answers the ping is slow, not silent: call then runs
// until ctx ends. Watch returns once call has returned and the watch has
// ended, and reports whether the peer was found silent. Time is read from
// c.
func Watch(ctx context.Context, c clock.Clock, after time.Duration, ping func(context.Context) error, call func(context.Context)) (silent bool) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	half := after / 2
	watched := make(chan struct{})
	watch := c.AfterFunc(half, func() {
		defer close(watched)
		if !Ping(cctx, c, after-half, ping) && cctx.Err() == nil {
			cancel(&Error{After: after})
		}
	})
	call(cctx)
	silent = errors.As(context.Cause(cctx), new(*Error))
	cancel(nil)
	if !watch.Stop() {
		<-watched
	}
	return silent
}

// Ping reports whether ping answered (returned nil) within d on c.
func Ping(ctx context.Context, c clock.Clock, d time.Duration, ping func(context.Context) error) bool {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := c.AfterFunc(d, cancel)
	defer t.Stop()
	return ping(pctx) == nil
}
