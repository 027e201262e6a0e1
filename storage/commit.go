package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Group commit.
//
// Every write in the package is a request handled by one committer
// goroutine, owned by DB. The committer takes whatever is queued (at most
// Options.MaxBatch requests, without waiting for more: measured with
// badger alone on the development machine, a 1 ms linger cut one caller to 660 durable
// writes/s at p50 1.4 ms, against 4,400/s at 0.22 ms without, and 16
// callers from 28k/s to 9.7k/s), applies each request's
// read-modify-write in one badger transaction, appends the transaction's
// writes to the commit log (wal.go) with one write, commits the
// transaction, and answers every caller that need not wait for a sync.
// The durable requests go to the syncer goroutine, which fdatasyncs the
// log once for every batch queued meanwhile and answers them, while the
// committer already applies the next batch. Requests are applied in queue
// order inside the transaction, and a transaction reads its own pending
// writes, so a batch is equivalent to running its requests one after
// another.
//
// The log is written before the engine commit (write-ahead), so a batch
// whose append fails is discarded whole and fails cleanly, and the engine
// never holds a write the log lacks except after a failed engine commit.
//
// Being the only writer matters for checkpoints, not just speed: a
// checkpoint runs on the committer, so nothing is committed between its
// log rotation and its engine sync. Stores without a log (InMemory ones)
// sync nothing; with Options' engineSync the committer calls badger's
// DB.Sync once per batch instead, as before the log (for the benchmarks).

// mutation is what a request's mutate function decided to do with its key.
type mutation struct {
	op    mutationOp
	value []byte // for opSet; must not be modified after being returned
	// tomb is what the write does to the key's tombstone index entry
	// (tombindex.go); data keys only.
	tomb tombOp
}

type mutationOp uint8

const (
	opNone   mutationOp = iota // leave the key as it is
	opSet                      // store value
	opDelete                   // remove the key
)

// mutateFunc computes a key's new state from its stored value (nil and
// found=false if absent). It runs on the committer goroutine, may run more
// than once for one request (when a batch is split), and must therefore be
// a pure function of its arguments apart from recording its result for the
// caller. An error fails this request alone.
type mutateFunc func(old []byte, found bool) (mutation, error)

// Request states. A request moves from queued to taken when the committer
// picks it up, or from queued to abandoned when its caller gives up first;
// whichever compare-and-swap wins decides whether the write happens.
const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

// request is one queued write. It carries its caller's context, as
// http.Request does, because the committer must check it at pickup.
type request struct {
	ctx     context.Context
	key     []byte
	durable bool
	mutate  mutateFunc
	state   atomic.Int32
	err     error      // set by the committer before done is sent
	done    chan error // buffered: the committer never blocks on a caller
	// abandoned is set by the caller, when it gave up on the request
	// while queued; only the caller reads it.
	abandoned bool
	// early requests are answered on done once committed, before the
	// sync; the sync's outcome follows on synced (buffered).
	early  bool
	synced chan error

	// control, if set, makes this a control request: the committer runs
	// it before the batch's writes instead of a mutation, so it sees only
	// committed state and no write slips in while it runs.
	control func() error

	// What apply did, for the trees: the key's encoded set before and
	// after (nil when absent), set when wrote is true.
	wrote          bool
	op             mutationOp
	oldRaw, newRaw []byte
	tomb           tombOp // the index change staged with the write
}

// submit queues a write and waits for its outcome. If it returns ctx's
// error, the write was not applied: either the request never reached the
// queue, or its caller abandoned it before the committer took it. Once the
// committer has taken a request, submit waits for the outcome even if ctx
// ends meanwhile, which costs at most one batch commit and sync.
func (db *DB) submit(ctx context.Context, key []byte, durable bool, m mutateFunc) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	r, err := db.queue(ctx, key, durable, false, m)
	if r != nil {
		recycle(r)
	}
	return err
}

// submitEarly is submit answered once the write is committed: visible to
// every later read and write, not yet synced. The returned wait blocks
// until the batch's sync is done and returns its error (nil at once for a
// write that is not durable). wait is valid only when err is nil; it may
// be called again (returning the same error) but not concurrently.
func (db *DB) submitEarly(ctx context.Context, key []byte, durable bool, m mutateFunc) (wait func() error, err error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	r, err := db.queue(ctx, key, durable, true, m)
	if err != nil {
		// Not recycled: a request the committer took and failed still
		// gets an answer on synced.
		return nil, err
	}
	// The request goes back to the pool once its last answer is read;
	// wait remembers that answer for a second call.
	var synced error
	return func() error {
		if r != nil {
			synced = <-r.synced
			recycle(r)
			r = nil
		}
		return synced
	}, nil
}

// requests holds finished write requests, channels included, for reuse:
// a durable put makes one on every replica, and their allocation showed
// at the top of the write path's allocation profile.
var requests = sync.Pool{New: func() any {
	return &request{done: make(chan error, 1), synced: make(chan error, 1)}
}}

// queue hands a request to the committer and waits for its answer; the
// caller is inside the DB (enter) or is Close itself. The request returned
// (nil if ctx had ended) is the caller's to recycle, once it has read
// every answer the request will get: the committer has let go of it then.
func (db *DB) queue(ctx context.Context, key []byte, durable, early bool, m mutateFunc) (*request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := requests.Get().(*request)
	r.ctx, r.key, r.durable, r.mutate, r.early = ctx, key, durable, m, early
	r.state.Store(stateQueued)
	err := db.await(ctx, r)
	if r.abandoned {
		return nil, err // the committer may still look at it: not ours to recycle
	}
	return r, err
}

// await queues r and waits for its first answer. If the caller gives up
// on r while it is queued, r.abandoned is set: the committer still holds
// it and will skip it.
func (db *DB) await(ctx context.Context, r *request) error {
	select {
	case db.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			r.abandoned = true
			return ctx.Err()
		}
		return <-r.done
	}
}

// recycle returns r to the pool. Only a request whose every answer has
// been read may be recycled: after its last answer the committer and the
// syncer no longer look at it.
func recycle(r *request) {
	*r = request{done: r.done, synced: r.synced}
	requests.Put(r)
}

// commitLoop is the committer goroutine. It exits when reqs is closed and
// drained, which Close does only after every caller has left.
func (db *DB) commitLoop() {
	defer close(db.committerDone)
	batch := make([]*request, 0, db.opts.MaxBatch)
	for r := range db.reqs {
		batch = db.drain(append(batch[:0], r))
		db.commitBatch(batch)
		clear(batch) // drop references so finished requests can be collected
	}
}

// drain appends queued requests to batch without waiting, up to MaxBatch.
func (db *DB) drain(batch []*request) []*request {
	for len(batch) < db.opts.MaxBatch {
		select {
		case r, ok := <-db.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch applies, logs and commits one batch, answers the requests
// that need no sync, and hands the durable ones to the syncer.
func (db *DB) commitBatch(batch []*request) {
	live := take(batch)
	if len(live) == 0 {
		return
	}
	db.stats.batches.Add(1)
	start := time.Now()
	writes := live[:0:0]
	for _, r := range live {
		if r.control != nil {
			r.err = r.control()
			continue
		}
		writes = append(writes, r)
	}
	applied := db.applyAll(writes)
	db.noteCommitted(applied)
	db.noteKeys(applied)
	db.stats.writes.Add(uint64(len(applied)))
	db.stats.applyNanos.Add(int64(time.Since(start)))
	for _, r := range live {
		if r.early {
			r.done <- r.err
		}
	}
	if db.log == nil {
		db.syncEngine(applied)
		for _, r := range live {
			answerSynced(r)
		}
		return
	}
	var durable []*request
	for _, r := range live {
		if r.durable && r.err == nil {
			durable = append(durable, r)
			continue
		}
		answerSynced(r)
	}
	if len(durable) > 0 || db.unsynced >= bytesPerSync {
		db.unsynced = 0
		db.toSync <- syncGroup{reqs: durable, end: db.logEnd}
	}
}

// answerSynced gives r its final answer: on synced for an early request,
// which had its first on done, and on done for the others.
func answerSynced(r *request) {
	if r.early {
		r.synced <- r.err
	} else {
		r.done <- r.err
	}
}

// take claims the requests whose context is still live. A request whose
// context has ended is answered with ctx's error and not applied, whether
// or not its caller is still waiting; one its caller abandoned is skipped.
func take(batch []*request) []*request {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil && r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			r.done <- err
			continue
		}
		if r.state.CompareAndSwap(stateQueued, stateTaken) {
			live = append(live, r)
		}
	}
	return live
}

// applyAll runs every request's mutation in as few transactions as fit,
// committing each. It returns the requests whose writes were committed;
// the others have r.err set.
func (db *DB) applyAll(live []*request) []*request {
	var committed, pending []*request
	txn := db.bdb.NewTransaction(true)
	flush := func() {
		err := db.logAhead(pending)
		if err == nil {
			err = db.commit(txn)
		} else {
			txn.Discard()
		}
		db.stats.commits.Add(1)
		for _, r := range pending {
			if err != nil {
				r.err = err
			} else {
				committed = append(committed, r)
			}
		}
		pending = pending[:0]
		txn = db.bdb.NewTransaction(true)
	}
	for _, r := range live {
		err := db.apply(txn, r)
		if errors.Is(err, badger.ErrTxnTooBig) && len(pending) > 0 {
			// The batch outgrew one transaction: commit what we have and
			// retry this request alone in a fresh one.
			flush()
			err = db.apply(txn, r)
		}
		if err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				err = translate("write", err) // too big even alone
			}
			r.err = err
			continue
		}
		pending = append(pending, r)
	}
	if len(pending) > 0 {
		flush()
	}
	txn.Discard()
	return committed
}

// commit commits txn, whose writes are already in the log if there is
// one: should the commit fail, replaying the log at the next Open may
// still apply them, which the error says.
func (db *DB) commit(txn *badger.Txn) error {
	err := txn.Commit()
	if err == nil {
		return nil
	}
	err = translate("commit", err)
	if db.log != nil {
		err = fmt.Errorf("%w (the write is in the commit log and may still be applied when the store is next opened)", err)
	}
	return err
}

// apply reads r's key in txn, runs its mutation and stages the result.
// Engine errors are translated, except badger.ErrTxnTooBig, which applyAll
// handles; mutation errors are returned as they are.
func (db *DB) apply(txn *badger.Txn, r *request) error {
	r.wrote, r.op, r.oldRaw, r.newRaw, r.tomb = false, opNone, nil, nil, tombKeep
	old, found, err := readRaw(txn, r.key)
	if err != nil {
		return err
	}
	m, err := r.mutate(old, found)
	if err != nil {
		return err
	}
	if m.op == opDelete && !found || m.op == opNone {
		m.tomb = tombKeep
	}
	// The index entry is staged around the data write (tombindex.go).
	if err := stageTombBefore(txn, r.key, m.tomb); err != nil {
		return err
	}
	switch m.op {
	case opSet:
		err = txn.Set(r.key, m.value)
		r.wrote, r.op, r.oldRaw, r.newRaw = true, opSet, old, m.value
	case opDelete:
		if found {
			err = txn.Delete(r.key)
			r.wrote, r.op, r.oldRaw = true, opDelete, old
		}
	}
	err = db.stageTombAfter(txn, r.key, m.tomb, err)
	if err == nil {
		r.tomb = m.tomb
	}
	if err != nil && !errors.Is(err, badger.ErrTxnTooBig) {
		return translate("write", err)
	}
	return err // ErrTxnTooBig untranslated: applyAll splits the batch on it
}

// readRaw returns a copy of key's value in txn, including the txn's own
// pending writes.
func readRaw(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, translate("read", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, translate("read", err)
	}
	return v, true, nil
}

// syncEngine, for a store without a commit log, syncs the engine's logs
// once if any committed request asked for durability, and fails the
// durable requests if the sync fails. Their writes are committed and
// visible, but not known to be on disk. (InMemory engines sync nothing.)
//
// A durable request that wrote nothing (a Merge that changed nothing) still
// counts: the state it was answered from may come from an earlier
// non-durable write that is not on disk yet. The same holds with the log,
// whose sync covers everything appended before it.
func (db *DB) syncEngine(committed []*request) {
	durable := false
	for _, r := range committed {
		durable = durable || r.durable
	}
	if !durable {
		return
	}
	db.stats.syncs.Add(1)
	start := time.Now()
	err := db.bdb.Sync()
	db.stats.syncNanos.Add(int64(time.Since(start)))
	if err == nil {
		return
	}
	err = fmt.Errorf("storage: sync failed, durability unknown: %v", err)
	db.opts.Logger.Error("storage sync failed", "err", err)
	for _, r := range committed {
		if r.durable {
			r.err = err
		}
	}
}
