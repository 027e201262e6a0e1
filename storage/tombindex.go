package storage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/vclock"
)

// The tombstone index.
//
// A key whose siblings are all tombstones (a deleted key) has an entry in
// the index keyspace, 't' followed by the rest of its data key (partition,
// slot, user key), with an empty value. The tombstone collector walks the
// index of a partition, not the partition, so a collection pass costs in
// proportion to the tombstones, not to the data.
//
// The entry is written in the same engine transaction as the data write
// that makes the key deleted, and removed in the one that makes it live
// again or removes it, so the index and the data never disagree in a
// committed state. Index entries are not commit log records: replaying a
// data record re-derives its key's entry from the merged set (replayIndex),
// so after a crash the index follows the data the replay leaves.
//
// Staging order keeps the only possible disagreement harmless. Two writes
// in one transaction can be refused half-way (badger.ErrTxnTooBig) and the
// committer then commits what was staged before. An entry being added is
// staged before the data write and unstaged if the data write is refused;
// an entry being removed is staged after the data write and, if refused,
// left. Either way the index can at worst hold a stray entry (a key that
// is not deleted), never miss a deleted key: ScanTombstones reads the data
// of every entry and passes over stray ones (counted in
// Stats.TombstoneIndexStray). A stray entry stays until its key is deleted
// and then revived or removed, which removes it.
//
// A store written before the index existed has no entries: Open builds
// them once from a scan of the data (buildTombIndex) and records that in
// the meta entry metaTombIndex, through the commit log like any meta
// write.

const (
	spaceTomb byte = 't'

	// metaTombIndex marks a store whose tombstone index is complete.
	metaTombIndex = "storage.tombindex"
)

// tombOp is what a data write does to its key's index entry.
type tombOp uint8

const (
	tombKeep   tombOp = iota // no change
	tombAdd                  // the key becomes deleted
	tombRemove               // the key stops being deleted, or is removed
)

// tombChange returns what replacing cur by next does to the index.
func tombChange(cur, next vclock.Set) tombOp {
	was, is := cur.Deleted(), next.Deleted()
	switch {
	case is && !was:
		return tombAdd
	case was && !is:
		return tombRemove
	}
	return tombKeep
}

// tombDrop returns what removing a key whose set is cur does to the index.
func tombDrop(cur vclock.Set) tombOp {
	if cur.Deleted() {
		return tombRemove
	}
	return tombKeep
}

// tombKey returns the index key of engine data key dk.
func tombKey(dk []byte) []byte {
	b := make([]byte, len(dk))
	copy(b, dk)
	b[0] = spaceTomb
	return b
}

// tombPrefix returns the prefix of partition p's index entries.
func tombPrefix(p uint32) []byte {
	b := partitionPrefix(p)
	b[0] = spaceTomb
	return b
}

// stageTombBefore stages an index entry being added, before its data
// write (see above). ErrTxnTooBig is returned untranslated.
func stageTombBefore(txn *badger.Txn, dk []byte, op tombOp) error {
	if op != tombAdd {
		return nil
	}
	err := txn.Set(tombKey(dk), nil)
	if err != nil && !errors.Is(err, badger.ErrTxnTooBig) {
		return translate("write", err)
	}
	return err
}

// stageTombAfter follows the data write, whose outcome is dataErr, and
// returns the request's error: it unstages an added entry if the data
// write was refused, and stages a removal if it was not. A removal the
// engine refuses is left out (a stray entry) rather than failing a write
// that is already staged.
func (db *DB) stageTombAfter(txn *badger.Txn, dk []byte, op tombOp, dataErr error) error {
	switch {
	case op == tombAdd && dataErr != nil:
		// Best effort: a stray entry is harmless.
		if txn.Delete(tombKey(dk)) != nil {
			db.stats.tombStray.Add(1)
		}
	case op == tombRemove && dataErr == nil:
		if txn.Delete(tombKey(dk)) != nil {
			db.stats.tombStray.Add(1)
		}
	}
	return dataErr
}

// keyCounts are the exact counts of data keys and index entries, counted
// at Open and kept up to date by the committer (noteKeys).
type keyCounts struct {
	data, tombs atomic.Int64
	// writes counts the committed writes of data keys: what garbage
	// collection calls activity (meta records, such as the last-alive
	// mark, and hints are written while a node is otherwise idle).
	writes atomic.Uint64
	// reads counts reads of data keys (Get, Digest): foreground activity
	// too, which a flatten would stall (it blocks the engine for up to a
	// second), so garbage collection waits for a tick without either.
	reads atomic.Uint64
}

// noteKeys counts the data keys and index entries that the committed
// requests added or removed. It runs on the committer.
func (db *DB) noteKeys(committed []*request) {
	for _, r := range committed {
		if !r.wrote || len(r.key) == 0 || r.key[0] != spaceData {
			continue
		}
		db.keys.writes.Add(1)
		switch {
		case r.op == opSet && r.oldRaw == nil:
			db.keys.data.Add(1)
		case r.op == opDelete:
			db.keys.data.Add(-1)
		}
		switch r.tomb {
		case tombAdd:
			db.keys.tombs.Add(1)
		case tombRemove:
			db.keys.tombs.Add(-1)
		}
	}
}

// replayIndex re-derives the index entry of data key dk, whose set was
// cur (nil if absent) and is now next (nil if removed), during replay.
// ErrTxnTooBig is returned untranslated.
func replayIndex(txn *badger.Txn, dk []byte, cur, next []byte) error {
	wasDeleted, err := rawDeleted(cur)
	if err != nil {
		return err
	}
	isDeleted, err := rawDeleted(next)
	if err != nil {
		return err
	}
	switch {
	case isDeleted && !wasDeleted:
		return engineErr(txn.Set(tombKey(dk), nil))
	case wasDeleted && !isDeleted:
		return engineErr(txn.Delete(tombKey(dk)))
	}
	return nil
}

// rawDeleted reports whether an encoded set (nil: absent) is deleted.
func rawDeleted(b []byte) (bool, error) {
	if b == nil {
		return false, nil
	}
	s, err := decodeSet(b)
	if err != nil {
		return false, err
	}
	return s.Deleted(), nil
}

// openTombIndex, at Open before any data write, builds the index if
// the store has none yet and counts the data keys and index entries.
func (db *DB) openTombIndex() error {
	built, err := db.engineHas(metaKey(metaTombIndex))
	if err != nil {
		return err
	}
	if !built {
		if err := db.buildTombIndex(); err != nil {
			return fmt.Errorf("storage: build tombstone index: %w", err)
		}
	}
	data, err := db.countKeys([]byte{spaceData})
	if err != nil {
		return err
	}
	tombs, err := db.countKeys([]byte{spaceTomb})
	if err != nil {
		return err
	}
	db.keys.data.Store(data)
	db.keys.tombs.Store(tombs)
	return nil
}

// engineHas reports whether the engine holds key.
func (db *DB) engineHas(key []byte) (bool, error) {
	err := db.bdb.View(func(txn *badger.Txn) error {
		_, err := txn.Get(key)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, translate("open", err)
	}
	return true, nil
}

// buildTombIndex writes the entry of every deleted key, then syncs the
// engine and marks the index built: the entries are not in the commit log,
// so they must be on disk before the mark is. Open runs it while no data
// write can come (the committer runs only Open's own meta writes).
func (db *DB) buildTombIndex() error {
	txn := db.bdb.NewTransaction(true)
	defer func() { txn.Discard() }()
	set := func(k, v []byte) error {
		err := txn.Set(k, v)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return translate("build index", err)
			}
			txn = db.bdb.NewTransaction(true)
			err = txn.Set(k, v)
		}
		return engineErr(err)
	}
	err := db.scan(context.Background(), []byte{spaceData}, []byte{spaceData}, func(k, v []byte) error {
		deleted, err := rawDeleted(v)
		if err != nil || !deleted {
			return err
		}
		return set(tombKey(k), nil)
	})
	if err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return translate("build index", err)
	}
	if err := db.bdb.Sync(); err != nil {
		return translate("build index sync", err)
	}
	return db.markTombIndex()
}

// markTombIndex writes the mark that the index is built, through the
// commit log, so that a replay after a crash brings it back with the data
// (an InMemory store's engine is rebuilt from the log alone, and the index
// with it: replayIndex). It runs on the committer as a control request,
// so it is not counted as a client write and skips the meta name limit.
func (db *DB) markTombIndex() error {
	ctx := context.Background()
	r := &request{ctx: ctx, done: make(chan error, 1), control: func() error {
		m := &request{key: metaKey(metaTombIndex), wrote: true, op: opSet, newRaw: []byte{1}}
		if err := db.logAhead([]*request{m}); err != nil {
			return err
		}
		txn := db.bdb.NewTransaction(true)
		defer txn.Discard()
		if err := txn.Set(m.key, m.newRaw); err != nil {
			return translate("mark index", err)
		}
		return db.commit(txn)
	}}
	return db.await(ctx, r)
}

// countKeys counts the engine keys under prefix, reading keys only.
func (db *DB) countKeys(prefix []byte) (int64, error) {
	var n int64
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			n++
		}
		return nil
	})
	return n, translate("count keys", err)
}

// ScanTombstones calls fn for every deleted key of partition (every
// sibling a tombstone) with its stored set, in scan order, reading the
// tombstone index rather than the partition: its cost follows the number
// of deleted keys. Like ScanPartition it is not a snapshot; every set
// passed to fn was deleted and committed at some moment during the scan.
// fn receives its own copy of key and may call other DB methods, but not
// Close.
func (db *DB) ScanTombstones(ctx context.Context, partition uint32, fn func(key []byte, s vclock.Set) error) error {
	if err := checkPartition(partition); err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	prefix := tombPrefix(partition)
	seek := prefix
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, err := db.readChunk(prefix, seek)
		if err != nil {
			return err
		}
		sets, err := db.readIndexed(chunk)
		if err != nil {
			return err
		}
		for i, e := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if sets[i].IsEmpty() || !sets[i].Deleted() {
				db.stats.tombStray.Add(1)
				continue
			}
			_, key, err := decodeDataKey(dataKeyOf(e.k))
			if err != nil {
				return err
			}
			if err := fn(key, sets[i]); err != nil {
				return err
			}
		}
		if len(chunk) < db.scanChunk {
			return nil
		}
		seek = append(chunk[len(chunk)-1].k, 0)
	}
}

// dataKeyOf returns the data key of index key tk (a copy).
func dataKeyOf(tk []byte) []byte {
	b := make([]byte, len(tk))
	copy(b, tk)
	b[0] = spaceData
	return b
}

// readIndexed reads the data sets of a chunk of index entries in one read
// transaction; an absent key has the empty set.
func (db *DB) readIndexed(chunk []kv) ([]vclock.Set, error) {
	sets := make([]vclock.Set, len(chunk))
	err := db.bdb.View(func(txn *badger.Txn) error {
		for i, e := range chunk {
			item, err := txn.Get(dataKeyOf(e.k))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			err = item.Value(func(v []byte) error {
				sets[i], err = decodeSet(v)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrCorrupt) {
		err = translate("scan tombstones", err)
	}
	return sets, err
}
