package replica

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// Put writes value under key: this node applies the write to its own copy
// with the client's context clientCtx (minting a new dot), then sends the
// resulting sibling set to the other replicas and answers after W acks
// (its own included), PW of them from primaries. Replication to the
// replicas beyond W goes on after Put returns, until the request's
// deadline.
//
// The error is an *QuorumError when too few replicas acked in time; the
// write is then stored on the replicas that did ack and may surface later
// (as every Dynamo-style store, a failed write is not rolled back). Other
// errors (invalid options, ErrNoRing, a local storage error) mean nothing
// was written.
func (c *Coordinator) Put(ctx context.Context, key, value []byte, clientCtx vclock.Clock, opts Options) (Result, error) {
	c.stats.puts.Add(1)
	return c.write(ctx, "put", key, vclock.Value{Data: value, Timestamp: c.cfg.Clock.Now().UnixNano()}, clientCtx, opts)
}

// Delete writes a tombstone under key, superseding the siblings clientCtx
// covers; siblings it did not see survive. It answers as Put does.
func (c *Coordinator) Delete(ctx context.Context, key []byte, clientCtx vclock.Clock, opts Options) (Result, error) {
	c.stats.deletes.Add(1)
	return c.write(ctx, "delete", key, vclock.Value{Tombstone: true, Timestamp: c.cfg.Clock.Now().UnixNano()}, clientCtx, opts)
}

func (c *Coordinator) write(ctx context.Context, op string, key []byte, v vclock.Value, clientCtx vclock.Clock, opts Options) (Result, error) {
	r, opts, err := c.begin(opts)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	pl := makePlan(r, key, opts.N, c.cfg.Self, c.cfg.Liveness.Alive)
	if err := c.unreachable(op, &pl, opts.W, opts.PW); err != nil {
		return Result{}, err
	}
	self := c.cfg.Self
	set, wait, err := c.cfg.Store.Update(ctx, pl.partition, key, clientCtx, self, v, opts.Durable)
	if err != nil {
		return Result{}, fmt.Errorf("replica: %s: local write: %w", op, err)
	}
	// This node's copy is synced while the others replicate: it counts
	// once it is on disk, like theirs.
	localDurable := sync.OnceValue(wait)
	prim, fb := pl.counts()
	deadline, _ := ctx.Deadline()
	q := &request{c: c, op: op, pl: &pl, tally: NewTally(opts.W, opts.PW, prim, fb),
		f: c.newFanout(deadline, len(pl.targets)+len(pl.spares))}
	defer q.f.release()
	q.res.Set = set
	q.res.Options = opts
	q.call = func(t target) {
		q.f.launch(t, func(ctx context.Context) (vclock.Set, error) {
			if t.node == self { // the data is here already
				if err := localDurable(); err != nil {
					return vclock.Set{}, fmt.Errorf("local write: %w", err)
				}
				return vclock.Set{}, c.hint(ctx, t, pl.partition, key, set, opts.Durable)
			}
			err := c.cfg.Transport.Replicate(ctx, t.node, pl.partition, key, set, opts.Durable, t.hintFor)
			if err != nil {
				c.hintForFailed(t, pl.partition, key, set, opts.Durable)
			}
			return vclock.Set{}, err
		})
	}
	for _, primary := range pl.unfilled {
		c.hintForFailed(target{node: primary, primary: true}, pl.partition, key, set, opts.Durable)
	}
	for _, t := range pl.targets {
		q.start(t)
	}
	if err := q.collect(ctx, c.fallbackAfter(opts)); err != nil {
		return Result{}, err
	}
	return q.res, nil
}

// hint records, when t is a fallback of this node, the set as a hint for
// the primary t stands in for.
func (c *Coordinator) hint(ctx context.Context, t target, partition uint32, key []byte, set vclock.Set, durable bool) error {
	if t.hintFor == "" {
		return nil
	}
	if err := c.cfg.Store.Hint(ctx, t.hintFor, partition, key, set, durable); err != nil {
		return fmt.Errorf("hint for %s: %w", t.hintFor, err)
	}
	c.stats.hinted.Add(1)
	return nil
}

// hintTimeout bounds a hint the coordinator stores for a failed replica.
const hintTimeout = 2 * time.Second

// hintForFailed keeps, on this node, a hint for the primary whose copy of a
// write failed: t itself, or the primary the fallback t stood in for. So
// every primary eventually receives every write that any replica
// accepted, even when fewer fallbacks than missing primaries were
// reachable (a partition leaving two nodes on one side, say). Such hints
// do not count toward W.
func (c *Coordinator) hintForFailed(t target, partition uint32, key []byte, set vclock.Set, durable bool) {
	owner := t.hintFor
	if t.primary {
		owner = t.node
	}
	if owner == "" || owner == c.cfg.Self {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, hintTimeout)
	defer cancel()
	if err := c.cfg.Store.Hint(ctx, owner, partition, key, set, durable); err != nil {
		c.log.Warn("could not keep a hint for a failed replica", "owner", owner, "err", err)
		return
	}
	c.stats.hinted.Add(1)
}
