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

// ScanPartition calls fn for every key of partition, in scan order, with
// its stored set, tombstone-only sets included. It is ScanPartitionAfter
// with no resume key.
//
// Scan order is by antientropy.Slot of the key, then by key: a stable order
// in which every anti-entropy segment is one range.
func (db *DB) ScanPartition(ctx context.Context, partition uint32, fn func(key []byte, s vclock.Set) error) error {
	return db.ScanPartitionAfter(ctx, partition, nil, fn)
}

// ScanPartitionAfter calls fn for every key of partition that comes after
// the key after in scan order (from the first key if after is empty), for
// handoff and anti-entropy. To resume an interrupted scan, pass the last
// key seen.
//
// fn receives its own copy of key and may keep it. An error from fn stops
// the scan and is returned as it is; so is ctx's error. fn may call other
// DB methods, but not Close.
//
// The scan is not a snapshot: it reads in chunks, so a key written during
// the scan may be seen with its old or new set, or not at all if it is new
// and sorts before the current position. Every set passed to fn was the
// committed value of its key at some moment during the scan.
func (db *DB) ScanPartitionAfter(ctx context.Context, partition uint32, after []byte, fn func(key []byte, s vclock.Set) error) error {
	if err := checkPartition(partition); err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	prefix := partitionPrefix(partition)
	seek := prefix
	if len(after) > 0 {
		// The next engine key after k in byte order is k followed by a
		// zero byte.
		seek = append(dataKey(partition, after), 0)
	}
	return db.scan(ctx, prefix, seek, func(k, v []byte) error {
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
	return db.readChunkN(prefix, seek, db.scanChunk)
}

// readChunkN reads up to n entries under prefix from seek on.
func (db *DB) readChunkN(prefix, seek []byte, n int) ([]kv, error) {
	var out []kv
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{
			PrefetchValues: true,
			PrefetchSize:   min(n, 100),
			Prefix:         prefix,
		})
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < n; it.Next() {
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
