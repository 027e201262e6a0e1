package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/storage/commitlog"
	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/vclock"
)

// The commit log.
//
// Every engine write is first a record in a commit log owned by this
// package (package commitlog), and durability comes from syncing that log,
// not the engine: badger's Sync msyncs the whole mmapped memtable WAL, at
// a cost that grows with the mapping rather than with what was written.
// The committer appends a batch's records with one write before it
// commits the batch to the engine; a syncer goroutine fdatasyncs the log
// and answers the durable requests of every batch the sync covers, while
// the committer goes on with the next batch. The engine is synced only by
// checkpoints (checkpoint.go), after which the log before the checkpoint
// is retired. At Open the log is replayed into the engine: a data record
// is merged into the stored set, which is idempotent and monotone, so
// replaying what the engine already holds, or an older state, changes
// nothing; other records are applied in log order.
//
// Record payload (docs/formats.md): op (1 byte: 1 set, 2 delete) |
// len(key) (uvarint) | engine key | value (the rest; set only).

const (
	recordSet    byte = 1
	recordDelete byte = 2
)

// appendRecord appends the log record of one engine write to b.
func appendRecord(b []byte, op mutationOp, key, value []byte) []byte {
	if op == opDelete {
		b = append(b, recordDelete)
	} else {
		b = append(b, recordSet)
	}
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	if op == opDelete {
		return b
	}
	return append(b, value...)
}

// decodeRecord splits a record; key and value alias p.
func decodeRecord(p []byte) (op byte, key, value []byte, err error) {
	if len(p) < 2 {
		return 0, nil, nil, fmt.Errorf("%w: commit log record of %d bytes", ErrCorrupt, len(p))
	}
	op = p[0]
	n, k := binary.Uvarint(p[1:])
	switch {
	case op != recordSet && op != recordDelete:
		return 0, nil, nil, fmt.Errorf("%w: commit log record op %d", ErrCorrupt, op)
	case k <= 0 || n == 0 || n > uint64(len(p)-1-k):
		return 0, nil, nil, fmt.Errorf("%w: commit log record key length", ErrCorrupt)
	}
	key = p[1+k : 1+k+int(n)]
	value = p[1+k+int(n):]
	if op == recordDelete && len(value) > 0 {
		return 0, nil, nil, fmt.Errorf("%w: commit log delete record with a value", ErrCorrupt)
	}
	return op, key, value, nil
}

// openLog opens the commit log, if this store has one: on-disk stores
// do, in <dir>/commitlog; an InMemory store only if Options.CommitLogFS is
// set.
func (db *DB) openLog(dir string) error {
	o := db.opts
	fsys, logDir := o.CommitLogFS, o.CommitLogDir
	switch {
	case o.engineSync || fsys == nil && o.InMemory:
		return nil
	case fsys == nil:
		fsys = vfs.Default
	}
	if logDir == "" {
		logDir = filepath.Join(dir, "commitlog")
		if o.InMemory {
			logDir = "commitlog"
		}
	}
	segSize := o.logSegmentSize
	if segSize == 0 && o.InMemory {
		segSize = 1 << 20 // a MemFS holds preallocated segments in memory
	}
	l, err := commitlog.Open(fsys, logDir, commitlog.Config{
		SegmentSize: segSize,
		Logf:        func(f string, a ...any) { o.Logger.Warn(fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return err
	}
	// The log's directory must survive a crash too.
	if err := fsys.SyncDir(filepath.Dir(filepath.Clean(logDir))); err != nil {
		return errors.Join(err, l.Close())
	}
	db.log, db.logDir = l, logDir
	return nil
}

// replayLog applies the log to the engine (see above) in as few
// transactions as fit, then syncs the engine once.
func (db *DB) replayLog() error {
	if db.log == nil {
		return nil
	}
	start := time.Now()
	txn := db.bdb.NewTransaction(true)
	records := 0
	err := db.log.Replay(func(p []byte) error {
		op, key, value, err := decodeRecord(p)
		if err != nil {
			return err
		}
		records++
		err = replayOne(txn, op, key, value)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return translate("replay", err)
			}
			txn = db.bdb.NewTransaction(true)
			err = replayOne(txn, op, key, value)
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			return translate("replay", err)
		}
		return err
	})
	if err != nil {
		txn.Discard()
		return fmt.Errorf("storage: replay commit log: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return translate("replay", err)
	}
	if err := db.bdb.Sync(); err != nil {
		return translate("replay sync", err)
	}
	if records > 0 {
		db.opts.Logger.Info("storage: replayed the commit log", "records", records,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// replayOne applies one record in txn. key and value are copied: the
// engine keeps them until the commit, and the log reuses its buffer.
// badger.ErrTxnTooBig is returned untranslated.
func replayOne(txn *badger.Txn, op byte, key, value []byte) error {
	key = append([]byte(nil), key...)
	if op == recordDelete {
		if key[0] == spaceData {
			// Whatever the key held, it has no index entry now.
			if err := engineErr(txn.Delete(tombKey(key))); err != nil {
				return err
			}
		}
		return engineErr(txn.Delete(key))
	}
	value = append([]byte{}, value...)
	if key[0] != spaceData {
		return engineErr(txn.Set(key, value))
	}
	old, found, err := readRaw(txn, key)
	if err != nil || !found {
		if err == nil {
			err = replayIndex(txn, key, nil, value)
		}
		if err == nil {
			err = engineErr(txn.Set(key, value))
		}
		return err
	}
	cur, err := decodeSet(old)
	if err != nil {
		return err
	}
	in, err := decodeSet(value)
	if err != nil {
		return err
	}
	next := vclock.Sync(cur, in)
	if next.Equal(cur) {
		return nil
	}
	enc := next.Encode()
	if err := replayIndex(txn, key, old, enc); err != nil {
		return err
	}
	return engineErr(txn.Set(key, enc))
}

// engineErr translates an engine write error except ErrTxnTooBig.
func engineErr(err error) error {
	if err != nil && !errors.Is(err, badger.ErrTxnTooBig) {
		return translate("replay", err)
	}
	return err
}

// logAhead appends the records of pending, the requests about to be
// committed in one engine transaction, with one write.
//
// Physical deletes are write-ahead in the strict sense: a batch with a
// delete (tombstone collection, dropping a copy, removing a hint) is
// synced here, before its engine commit. Otherwise the engine could hold,
// and make durable in a memtable flush, a delete the durable log lacks,
// and replaying an older set record of that key would resurrect it.
func (db *DB) logAhead(pending []*request) error {
	if db.log == nil {
		return nil
	}
	buf, offs := db.recBuf[:0], append(db.recOffs[:0], 0)
	deletes := false
	for _, r := range pending {
		if !r.wrote {
			continue
		}
		buf = appendRecord(buf, r.op, r.key, r.newRaw)
		offs = append(offs, len(buf))
		deletes = deletes || r.op == opDelete
	}
	db.recBuf, db.recOffs = buf, offs
	if len(offs) == 1 {
		return nil
	}
	payloads := make([][]byte, len(offs)-1)
	for i := range payloads {
		payloads[i] = buf[offs[i]:offs[i+1]]
	}
	end, err := db.log.Append(payloads...)
	if err != nil {
		return fmt.Errorf("storage: not applied: %w", err)
	}
	db.logEnd = end
	db.logSince += int64(len(db.recBuf))
	db.unsynced += int64(len(db.recBuf))
	if cap(db.recBuf) > 1<<20 {
		db.recBuf = nil // do not keep one huge batch's buffer
	}
	db.kickCheckpoint()
	if deletes {
		if err := db.syncLog(); err != nil {
			return fmt.Errorf("storage: delete not applied: %w", err)
		}
	}
	return nil
}

// syncLog fdatasyncs the log, counting it.
func (db *DB) syncLog() error {
	db.stats.syncs.Add(1)
	start := time.Now()
	err := db.log.Sync()
	db.stats.syncNanos.Add(int64(time.Since(start)))
	if err != nil {
		err = fmt.Errorf("storage: sync failed, durability unknown: %w", err)
		db.opts.Logger.Error("storage: commit log sync failed; writes fail until the node restarts", "err", err)
	}
	return err
}

// bytesPerSync bounds what the log holds unsynced when no durable write
// asks for a sync: past it, the committer hands the syncer a group with no
// request, as RocksDB's bytes_per_sync does. Without it a segment of
// non-durable writes stays dirty until a checkpoint's rotation syncs it
// all at once, on the committer (a 0.3-0.4 s stall of every write).
const bytesPerSync = 1 << 20

// syncGroup is a batch's durable requests, handed to the syncer: they are
// durable once everything before end, the log's end after the batch, is.
// (A request that wrote nothing depends on the writes before it too.)
type syncGroup struct {
	reqs []*request
	end  commitlog.Position
}

// syncLoop is the syncer goroutine: it takes the groups of durable
// requests the committer hands over, syncs the log once for all groups
// queued, and answers them. It exits when toSync is closed and drained.
//
// A sync covers whatever was appended when it started, which often
// includes a batch the committer had appended but not yet handed over
// (it commits to the engine first): that batch's group is answered when
// it arrives, without a sync of its own, as is any group a rotation or a
// delete's sync covered.
func (db *DB) syncLoop() {
	defer close(db.syncerDone)
	var waiting []*request
	for group := range db.toSync {
		waiting = append(waiting[:0], group.reqs...)
		end := group.end
	more:
		for {
			select {
			case g, ok := <-db.toSync:
				if !ok {
					break more
				}
				waiting = append(waiting, g.reqs...)
				if end.Less(g.end) {
					end = g.end
				}
			default:
				break more
			}
		}
		var err error
		if !db.log.Covers(end) {
			err = db.syncLog()
		}
		for _, r := range waiting {
			r.err = err
			answerSynced(r)
		}
		clear(waiting)
	}
}
