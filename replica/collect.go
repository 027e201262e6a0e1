package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// ErrUnreachable is wrapped by a QuorumError refused before it was sent:
// too few replicas were up to meet the quorum.
var ErrUnreachable = errors.New("replica: not enough replicas up")

// Result is a request's answer.
type Result struct {
	// Set is the stored set after a write, or the merged set a read found
	// (empty when no replica had the key).
	Set vclock.Set
	// Sloppy is true when a fallback's reply counted toward the quorum.
	Sloppy bool
	// Replicas lists the nodes whose replies counted, in answer order.
	Replicas []string
}

func (r *Result) add(t target) {
	r.Replicas = append(r.Replicas, t.node)
	if !t.primary {
		r.Sloppy = true
	}
}

// request is the state of one request while its replies come in. Only the
// request's goroutine touches it.
type request struct {
	c     *Coordinator
	op    string
	pl    *plan
	tally *Tally
	res   Result
	f     *fanout
	// call starts the replica call of a target.
	call func(t target)
	// onReply sees every successful remote reply, before it is counted.
	onReply func(rep reply)
	// waiting holds the launched targets that have not answered, by node;
	// replaced marks those already given a fallback.
	waiting  map[string]target
	replaced map[string]bool
	answered int
}

func (q *request) start(t target) {
	if q.waiting == nil {
		q.waiting = make(map[string]target)
		q.replaced = make(map[string]bool)
	}
	q.waiting[t.node] = t
	q.call(t)
}

// collect feeds replies into the tally until the quorum is met or cannot
// be, or ctx ends. Failed and, after fallbackAfter, silent targets are
// replaced by spare fallbacks holding a hint for the primary they stand in
// for.
func (q *request) collect(ctx context.Context, fallbackAfter time.Duration) error {
	timer := time.NewTimer(fallbackAfter)
	defer timer.Stop()
	for q.tally.Outcome() == Pending {
		select {
		case rep := <-q.f.ch:
			q.answered++
			delete(q.waiting, rep.t.node)
			if rep.err != nil {
				if !q.replaced[rep.t.node] {
					q.replace(rep.t)
				}
				q.tally.Fail(rep.t.primary, rep.err)
				continue
			}
			if q.onReply != nil {
				q.onReply(rep)
			}
			q.tally.Succeed(rep.t.primary)
			q.res.add(rep.t)
		case <-timer.C:
			// Snapshot first: replace adds the new fallbacks to waiting,
			// and they must not be replaced in turn.
			silent := make([]target, 0, len(q.waiting))
			for _, t := range q.waiting {
				silent = append(silent, t)
			}
			for _, t := range silent {
				if !q.replaced[t.node] {
					q.replace(t)
				}
			}
		case <-ctx.Done():
			q.tally.Fail(false, ctx.Err())
			return q.fail()
		}
	}
	if q.tally.Outcome() == Failed {
		return q.fail()
	}
	if q.res.Sloppy {
		q.c.stats.sloppy.Add(1)
	}
	return nil
}

// replace sends t's share of the request to the next spare fallback.
func (q *request) replace(t target) {
	q.replaced[t.node] = true
	f, ok := q.pl.nextSpare()
	if !ok {
		return
	}
	hintFor := t.hintFor
	if t.primary {
		hintFor = t.node
	}
	q.tally.AddReplica(false)
	q.start(target{node: f, hintFor: hintFor})
}

func (q *request) fail() error {
	q.c.stats.quorumFailures.Add(1)
	return q.tally.Err(q.op)
}

// unreachable returns the QuorumError of a request whose quorum the plan
// cannot meet even if every live replica answers: fewer live primaries
// than needPrimary, or fewer live replicas than need. Such a request is
// refused before anything is written, as Riak does for PW.
func (c *Coordinator) unreachable(op string, pl *plan, need, needPrimary int) error {
	prim, _ := pl.counts()
	if prim >= needPrimary && len(pl.targets)+len(pl.spares) >= need {
		return nil
	}
	c.stats.quorumFailures.Add(1)
	down := fmt.Errorf("%w: %d of the key's primaries and %d fallbacks are up", ErrUnreachable, prim, len(pl.targets)-prim+len(pl.spares))
	return &QuorumError{Op: op, Need: need, NeedPrimary: needPrimary, Errs: []error{down}}
}
