package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// Get reads key from its replicas and answers after R replies (this node's
// own included when it is a replica), PR of them from primaries, with the
// merge of the sets they returned: every sibling no reply superseded, and
// one context covering them all. An empty Result.Set means no replica that
// answered had the key; Set.Deleted means it was deleted.
//
// With Options.ReadRepair at ReadRepairDigest (the default) and a
// Transport that is a DigestFetcher, Get starts R replicas (PR of them
// primaries; see plan.standBy) and keeps the other targets as standbys
// for the ones that fail, answer partially or are silent; only one
// replica sends its set (this node when it is a replica) and the others
// send digests; a digest counts toward R and PR like the set it matches,
// and a replica whose digest matches no set the read holds is asked for
// its set (see digestRead). Otherwise every target sends its set.
//
// After answering, Get keeps listening to the remaining replicas it asked
// until the request's deadline and sends the merged set to every one
// whose set differed (read repair), on a bounded number of background
// repairs. Standbys a digest read never asked are not repaired.
//
// A partial reply (an error whose Partial method reports true, with a
// valid set: the replica is a new owner still receiving the partition's
// data) adds its set to the merge, so the client sees its siblings and
// read repair covers it, but it counts toward neither R nor PR: the tally
// records it as failed and a spare fallback takes its place, as for a
// failed reply. So a read never meets its quorum on data that may lack
// writes.
func (c *Coordinator) Get(ctx context.Context, key []byte, opts Options) (Result, error) {
	c.stats.gets.Add(1)
	r, opts, err := c.begin(opts)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	pl := makePlan(r, key, opts.N, c.cfg.Self, c.cfg.Liveness.Alive)
	if l := c.leavers.Load(); l != nil {
		pl.addLeavers((*l)[pl.partition], c.cfg.Liveness.Alive)
	}
	if err := c.unreachable("read", &pl, opts.R, opts.PR); err != nil {
		return Result{}, err
	}
	df, digests := c.cfg.Transport.(DigestFetcher)
	digests = digests && opts.ReadRepair == ReadRepairDigest
	calls := len(pl.targets) + len(pl.spares) // standbys included
	if digests {
		calls *= 2 // a digest, then the set on a mismatch
		pl.standBy(c.cfg.Self, opts.R, opts.PR)
	}
	prim, fb := pl.counts()
	deadline, _ := ctx.Deadline()
	q := &request{c: c, op: "read", pl: &pl, tally: NewTally(opts.R, opts.PR, prim, fb),
		f: c.newFanout(deadline, calls)}
	defer q.f.release()
	merge := &ReadMerge{}
	q.onReply = func(rep reply) { merge.Add(rep.t.node, rep.set) }
	q.onPartial = func(rep reply) {
		c.stats.partialReplies.Add(1)
		merge.Add(rep.t.node, rep.set)
	}
	var d *digestRead
	if digests {
		d = newDigestRead(q, merge, df, pl.partition, key, dataReplica(&pl, c.cfg.Self))
		q.call, q.route, q.onSilence = d.call, d.route, d.silence
	} else {
		q.call = func(t target) {
			q.f.launch(t, func(ctx context.Context) (vclock.Set, error) {
				return c.fetch(ctx, t, pl.partition, key)
			})
		}
	}
	for _, t := range pl.targets {
		if t.node != c.cfg.Self {
			q.start(t)
			continue
		}
		// This node's copy is read inline: it costs less than a goroutine.
		s, err := c.fetch(ctx, t, pl.partition, key)
		if err != nil {
			err = fmt.Errorf("%s: %w", t.node, err)
		}
		q.take(reply{t: t, set: s, err: err})
	}
	if err := q.collect(ctx, c.fallbackAfter(opts)); err != nil {
		return Result{}, err
	}
	q.res.Set = merge.Result()
	q.res.Options = opts
	c.repairLater(q, key, merge, d)
	return q.res, nil
}

// fetch reads t's copy of key.
func (c *Coordinator) fetch(ctx context.Context, t target, partition uint32, key []byte) (vclock.Set, error) {
	if t.node == c.cfg.Self {
		return c.cfg.Store.Get(ctx, partition, key)
	}
	return c.cfg.Transport.Fetch(ctx, t.node, partition, key)
}

// repairLater hands the rest of a read to a background repair: it waits
// for the replies still out, until the request's deadline, then sends the
// merged set to every replica whose set differs from it. Repairs run on at
// most Config.ReadRepairs goroutines; a read that finds them all busy
// skips its repair (counted), so repairs cannot pile up under load.
//
// A digest read (d not nil) hands its unmatched digests and late replies
// to d, which asks mismatched replicas for their sets: only replicas
// whose digest differs, or that had not answered, cost more than a digest.
func (c *Coordinator) repairLater(q *request, key []byte, merge *ReadMerge, d *digestRead) {
	if len(q.waiting) == 0 && len(merge.Stale()) == 0 && (d == nil || len(d.pending) == 0) {
		return // every replica answered and they agree
	}
	select {
	case c.repairSlots <- struct{}{}:
	default:
		c.stats.readRepairsDropped.Add(1)
		return
	}
	if !c.track() {
		<-c.repairSlots
		return
	}
	q.f.hold()
	// Fallbacks launched during the request are not in the plan's
	// targets; a repair must reach them with their hintFor.
	targets := make(map[string]target, len(q.pl.targets)+len(q.launched))
	for _, t := range q.pl.targets {
		targets[t.node] = t
	}
	for _, t := range q.launched {
		targets[t.node] = t
	}
	pending, partition, f := len(q.waiting), q.pl.partition, q.f
	go func() {
		defer c.wg.Done()
		defer func() { <-c.repairSlots }()
		defer f.release()
		if d != nil {
			pending += d.flush()
		}
		for ; pending > 0; pending-- {
			select {
			case rep := <-f.ch:
				if d != nil {
					pending += d.late(rep)
					continue
				}
				// A late partial reply is a replica too: its data joins
				// the merge and it is repaired if behind.
				switch {
				case rep.err == nil:
					merge.Add(rep.t.node, rep.set)
				case isPartial(rep.err):
					c.stats.partialReplies.Add(1)
					merge.Add(rep.t.node, rep.set)
				}
			case <-f.ctx.Done():
				pending = 0
				continue
			}
		}
		c.repair(partition, key, merge, targets)
	}()
}

// repairTimeout bounds one read repair's writes.
const repairTimeout = 2 * time.Second

// repair sends the merged set to the stale replicas. Repairs are not
// synced: a lost repair is redone by the next read or by anti-entropy.
func (c *Coordinator) repair(partition uint32, key []byte, merge *ReadMerge, targets map[string]target) {
	stale := merge.Stale()
	if len(stale) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, repairTimeout)
	defer cancel()
	merged := merge.Result()
	for _, node := range stale {
		t := targets[node]
		var err error
		if node == c.cfg.Self {
			err = c.cfg.Store.Merge(ctx, partition, key, merged, false)
		} else {
			err = c.cfg.Transport.Replicate(ctx, node, partition, key, merged, false, t.hintFor)
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.log.Debug("read repair failed", "peer", node, "err", err)
			}
			continue
		}
		c.stats.readRepairs.Add(1)
	}
}
