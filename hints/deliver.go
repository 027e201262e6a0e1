package hints

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// run is the delivery loop: a round at start (to deliver what survived a
// restart), then one every RetryInterval while hints are queued, and one at
// once on Notify, until Close. With nothing queued it waits without a
// timer, so an idle node does not wake every RetryInterval for nothing;
// the first Add makes it time its rounds again.
func (q *Queue) run() {
	defer q.wg.Done()
	round := true
	for {
		if round {
			q.startRound()
		}
		var timer clock.Timer
		var tick <-chan time.Time
		if q.pending() {
			timer, tick = q.cfg.Clock.NewTimer(q.cfg.RetryInterval)
		}
		round = true
		select {
		case <-q.ctx.Done():
		case <-tick:
		case <-q.wake:
		case <-q.queued:
			// Hints were queued: time the next round from now, as the
			// ticker of a non-empty queue would.
			round = false
		}
		if timer != nil {
			timer.Stop()
		}
		if q.ctx.Err() != nil {
			return
		}
	}
}

// pending reports whether any hint is queued.
func (q *Queue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count > 0
}

// deliverOnce runs one delivery round and waits for it to finish. Tests
// use it on a Queue without a loop.
func (q *Queue) deliverOnce() {
	q.startRound().Wait()
}

// startRound starts one goroutine per target that is due: it has hints,
// is not already being delivered to, is not backing off and is alive. A
// target's goroutine delivers batches until its queue is empty or a
// delivery fails, so a slow or failing target never delays the others.
// The returned WaitGroup is done when this round's goroutines are.
func (q *Queue) startRound() *sync.WaitGroup {
	var round sync.WaitGroup
	for _, tgt := range q.due() {
		// Alive is outside code: never call it under q.mu.
		if !q.live.Alive(tgt) {
			continue
		}
		q.mu.Lock()
		t := q.targets[tgt]
		if q.closed || t.inFlight {
			q.mu.Unlock()
			continue
		}
		t.inFlight = true
		q.wg.Add(1) // under q.mu, so never after Close has begun waiting
		round.Add(1)
		q.mu.Unlock()
		go func() {
			defer q.wg.Done()
			defer round.Done()
			q.deliverTarget(tgt, t)
		}()
	}
	return &round
}

// due returns the targets with hints whose backoff has passed.
func (q *Queue) due() []string {
	now := q.cfg.Clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for name, t := range q.targets {
		if t.count > 0 && !t.inFlight && !now.Before(t.retryAt) {
			out = append(out, name)
		}
	}
	return out
}

// deliverTarget delivers tgt's hints batch by batch, oldest first, until
// none are left, a batch fails or the Queue closes. t.inFlight is set by
// the caller and cleared here.
func (q *Queue) deliverTarget(tgt string, t *target) {
	var err error
	for more := true; more && err == nil && q.ctx.Err() == nil; {
		var n int
		n, more, err = q.deliverBatch(tgt, t)
		if more && err == nil {
			// The charge stands even if Close ends the wait early.
			_ = t.pacer.Wait(q.ctx, n)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	t.inFlight = false
	if err == nil || q.ctx.Err() != nil {
		if err == nil {
			t.backoff, t.retryAt, t.lastErr = 0, time.Time{}, nil
		}
		return
	}
	t.lastErr = err
	t.backoff = min(max(2*t.backoff, q.cfg.RetryInterval), q.cfg.MaxBackoff)
	now := q.cfg.Clock.Now()
	t.retryAt = now.Add(t.backoff)
	if !t.warnedAt.IsZero() && now.Sub(t.warnedAt) < warnEvery {
		t.quiet++
		q.cfg.Logger.Debug("hints: delivery failed", "target", tgt, "err", err, "retry_in", t.backoff)
		return
	}
	q.cfg.Logger.Warn("hints: delivery failed (further failures to this target are logged at most every 30 s)",
		"target", tgt, "err", err, "retry_in", t.backoff, "failures_not_logged", t.quiet)
	t.warnedAt, t.quiet = now, 0
}

// stored is one hint read back from storage.
type stored struct {
	id   []byte
	size int64
	hint Hint
}

// errBatchFull stops a scan once a batch (and one more hint) is read.
var errBatchFull = errors.New("hints: batch full")

// deliverBatch sends up to BatchSize of tgt's oldest hints and deletes them
// once acknowledged. Hints past MaxAge, and hints that do not decode, are
// deleted and counted instead of sent. It reports whether more hints may
// remain.
func (q *Queue) deliverBatch(tgt string, t *target) (sent int, more bool, err error) {
	batch, next, err := q.readBatch(tgt, t)
	if err != nil || len(batch) == 0 {
		return 0, false, err
	}
	hs := make([]Hint, len(batch))
	for i, s := range batch {
		hs[i] = s.hint
	}
	ctx, cancel := context.WithTimeout(q.ctx, q.cfg.DeliverTimeout)
	err = q.sender.DeliverHints(ctx, tgt, hs)
	cancel()
	if err != nil {
		return 0, false, err
	}
	// Acknowledged: delete exactly what was sent. A crash before the
	// deletes land makes us send them again, which merging tolerates.
	for _, s := range batch {
		if err := q.db.DeleteHint(q.ctx, tgt, s.id); err != nil {
			return 0, false, err
		}
		q.mu.Lock()
		q.unaccount(t, s.size)
		t.delivered++
		q.delivered++
		q.mu.Unlock()
	}
	q.setOldest(t, next)
	return len(batch), next != nil, nil
}

// readBatch reads up to BatchSize deliverable hints of tgt, oldest first,
// dropping expired and corrupt ones on the way. next is the first hint
// after the batch, if any.
func (q *Queue) readBatch(tgt string, t *target) (batch []stored, next *stored, err error) {
	now := q.cfg.Clock.Now()
	err = q.db.ScanHints(q.ctx, tgt, func(id, payload []byte) error {
		s := stored{id: id, size: int64(len(payload))}
		h, err := decodeHint(tgt, payload)
		reason := dropCorrupt
		if err == nil {
			s.hint = h
			if now.Sub(h.Created) <= q.cfg.MaxAge {
				if len(batch) == q.cfg.BatchSize {
					next = &s
					return errBatchFull
				}
				batch = append(batch, s)
				return nil
			}
			reason = dropAge
		}
		return q.drop(tgt, t, s, reason, err)
	})
	if errors.Is(err, errBatchFull) {
		err = nil
	}
	return batch, next, err
}

// drop deletes a hint that will not be delivered and counts it.
func (q *Queue) drop(tgt string, t *target, s stored, why dropReason, cause error) error {
	if err := q.db.DeleteHint(q.ctx, tgt, s.id); err != nil {
		return err
	}
	q.mu.Lock()
	q.unaccount(t, s.size)
	q.dropped[why]++
	q.mu.Unlock()
	if why == dropCorrupt {
		q.cfg.Logger.Warn("hints: dropping corrupt hint", "target", tgt, "err", cause)
	} else {
		q.cfg.Logger.Debug("hints: dropping expired hint", "target", tgt, "created", s.hint.Created)
	}
	return nil
}

// setOldest refreshes t.oldest after a delivered batch from the first
// hint that was left.
func (q *Queue) setOldest(t *target, next *stored) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if next != nil && t.count > 0 {
		t.oldest = next.hint.Created
	}
}
