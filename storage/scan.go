package storage

import (
	"bytes"
	"context"

	"github.com/chorusdb/chorus/vclock"
	"github.com/dgraph-io/badger/v4"
)

// defaultScanChunk is how many entries a scan reads per engine read
// transaction. Reading in chunks keeps transactions short (a long one pins
// old memtables and versions in the engine) and means callbacks never run
// inside a transaction, so they may write to the DB.
const defaultScanChunk = 512

// ScanPartition calls fn for every key of partition, in key order, with its
// stored set, tombstone-only sets included. It is ScanPartitionFrom with no
// start key.
func (db *DB) ScanPartition(ctx context.Context, partition uint32, fn func(key []byte, s vclock.Set) error) error {
	return db.ScanPartitionFrom(ctx, partition, nil, fn)
}

// ScanPartitionFrom calls fn for every key of partition that is >= start,
// in key order, for anti-entropy and handoff. To resume an interrupted
// scan, pass the last key seen with a zero byte appended.
//
// fn receives its own copy of key and may keep it. An error from fn stops
// the scan and is returned as it is; so is ctx's error. fn may call other
// DB methods, but not Close.
//
// The scan is not a snapshot: it reads in chunks, so a key written during
// the scan may be seen with its old or new set, or not at all if it is new
// and sorts before the current position. Every set passed to fn was the
// committed value of its key at some moment during the scan.
func (db *DB) ScanPartitionFrom(ctx context.Context, partition uint32, start []byte, fn func(key []byte, s vclock.Set) error) error {
	if err := checkPartition(partition); err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	prefix := partitionPrefix(partition)
	return db.scan(ctx, prefix, append(bytes.Clone(prefix), start...), func(k, v []byte) error {
		_, key, err := decodeDataKey(k)
		if err != nil {
			return err
		}
		s, err := decodeSet(v)
		if err != nil {
			return err
		}
		return fn(key, s)
	})
}

// kv is one entry read by a scan chunk, copied out of the engine.
type kv struct{ k, v []byte }

// scan calls fn with copies of every engine entry under prefix from seek
// on, reading db.scanChunk entries per read transaction.
func (db *DB) scan(ctx context.Context, prefix, seek []byte, fn func(k, v []byte) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, err := db.readChunk(prefix, seek)
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		if len(chunk) < db.scanChunk {
			return nil
		}
		// The next key after k in byte order is k followed by a zero byte.
		last := chunk[len(chunk)-1].k
		seek = append(bytes.Clone(last), 0)
	}
}

// readChunk reads up to db.scanChunk entries under prefix from seek on.
func (db *DB) readChunk(prefix, seek []byte) ([]kv, error) {
	var out []kv
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{
			PrefetchValues: true,
			PrefetchSize:   min(db.scanChunk, 100),
			Prefix:         prefix,
		})
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < db.scanChunk; it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, kv{k: item.KeyCopy(nil), v: v})
		}
		return nil
	})
	if err != nil {
		return nil, translate("scan", err)
	}
	return out, nil
}
