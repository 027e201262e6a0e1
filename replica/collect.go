package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Options are those the request ran with: as given, fitted to the
	// ring's size (Options.Fit).
	Options Options
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
	// onReply sees every successful reply, before it is counted.
	onReply func(rep reply)
	// onPartial, when set, sees every partial reply (see isPartial): the
	// reply still counts as failed. Reads set it, to use the data; writes
	// leave it nil, so a write's error is a failure whatever it says.
	onPartial func(rep reply)
	// route, when set, takes every reply instead of answer: digest reads
	// turn digest replies into answers with sets, or into full reads.
	route func(rep reply)
	// onSilence, when set, runs after the fallback wait has passed with
	// the request still pending.
	onSilence func()
	// waiting holds the launched targets that have not answered, by node;
	// replaced marks those already given a fallback; launched holds every
	// target started, for read repair.
	waiting  map[string]target
	replaced map[string]bool
	launched map[string]target
	answered int
}

func (q *request) init() {
	if q.waiting == nil {
		q.waiting = make(map[string]target)
		q.replaced = make(map[string]bool)
		q.launched = make(map[string]target)
	}
}

func (q *request) start(t target) {
	q.init()
	q.waiting[t.node] = t
	q.launched[t.node] = t
	q.call(t)
}

// partialReply is what a reply error may implement to mark a partial
// reply: a replica that owns the key's partition but is still receiving
// its data answered with a valid set that may lack writes.
// transport.IncompleteError is one; the interface lives here, with its
// consumer, so that this package needs no import to recognise it.
type partialReply interface{ Partial() bool }

// isPartial reports whether err marks a partial reply.
func isPartial(err error) bool {
	var p partialReply
	return errors.As(err, &p) && p.Partial()
}

// answer feeds one reply into the tally. A failed reply's target is
// replaced by a spare fallback. A partial one is treated as failed too
// (it must not count toward the quorum, and its place goes to a spare),
// but onPartial gets its data first.
func (q *request) answer(rep reply) {
	q.init()
	if rep.err != nil {
		if q.onPartial != nil && isPartial(rep.err) {
			q.onPartial(rep)
		}
		q.reject(rep.t, rep.err)
		return
	}
	if q.onReply != nil {
		q.onReply(rep)
	}
	q.tally.Succeed(rep.t.primary)
	q.res.add(rep.t)
}

// reject records t's reply as failed with err, after giving its share
// of the request to a spare fallback.
func (q *request) reject(t target, err error) {
	if !q.replaced[t.node] {
		q.replace(t)
	}
	q.tally.Fail(t.primary, err)
}

// collect feeds replies into the tally until the quorum is met or cannot
// be, or ctx ends. Failed and, after fallbackAfter on the Coordinator's
// clock, silent targets are replaced by the plan's standbys, then by spare
// fallbacks holding a hint for the primary they stand in for.
func (q *request) collect(ctx context.Context, fallbackAfter time.Duration) error {
	timer, fallback := q.c.cfg.Clock.NewTimer(fallbackAfter)
	defer timer.Stop()
	for q.tally.Outcome() == Pending {
		select {
		case rep := <-q.f.ch:
			q.receive(rep)
		case <-fallback:
			// A reply that has arrived is not silence, though select may
			// pick the timer first: take in what is there before judging.
			q.drain()
			if q.tally.Outcome() != Pending {
				break
			}
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
			if q.onSilence != nil {
				q.onSilence()
			}
		case <-ctx.Done():
			q.tally.Fail(false, ctx.Err())
			err := q.fail()
			for node := range q.waiting {
				err.Silent = append(err.Silent, node)
			}
			slices.Sort(err.Silent)
			return err
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

// receive takes one reply in.
func (q *request) receive(rep reply) {
	q.answered++
	delete(q.waiting, rep.t.node)
	q.take(rep)
}

// take hands a reply to route, or to answer when there is none.
func (q *request) take(rep reply) {
	if q.route != nil {
		q.route(rep)
		return
	}
	q.answer(rep)
}

// drain takes in the replies already received, without waiting, until
// the request is decided.
func (q *request) drain() {
	for q.tally.Outcome() == Pending {
		select {
		case rep := <-q.f.ch:
			q.receive(rep)
		default:
			return
		}
	}
}

// replace sends t's share of the request to the next standby (see
// plan.standBy), else to the next spare fallback.
func (q *request) replace(t target) {
	q.init()
	q.replaced[t.node] = true
	if s, ok := q.pl.nextStandby(); ok {
		q.tally.AddReplica(s.primary)
		q.start(s)
		return
	}
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

func (q *request) fail() *QuorumError {
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
