package storage

import (
	"bytes"
	"context"
)

// The hint keyspace is a durable queue of opaque payloads per target node,
// for the hints package to build hinted handoff on. Storage knows nothing
// of what a payload means. Hints of one target are ordered by ID, so a
// caller that wants FIFO delivery should use IDs that sort by time (for
// example a big-endian timestamp followed by a sequence number).

// PutHint stores payload as hint id for target, replacing any hint with
// the same target and ID. target is a node name of at most
// MaxHintTargetLen bytes; id is at most Options.MaxKeyLen bytes and payload
// at most Options.MaxValueLen. durable and ctx behave as for Update.
func (db *DB) PutHint(ctx context.Context, target string, id, payload []byte, durable bool) error {
	if err := db.checkHint(target, id); err != nil {
		return err
	}
	if err := db.checkValue(len(payload)); err != nil {
		return err
	}
	value := bytes.Clone(payload) // the caller may reuse payload once we return
	return db.submit(ctx, hintKey(target, id), durable, func([]byte, bool) (mutation, error) {
		return mutation{op: opSet, value: value}, nil
	})
}

// ScanHints calls fn for every hint of target in ID order. fn receives its
// own copies of id and payload and may keep them; it may call DeleteHint
// (or any other method but Close). An error from fn stops the scan and is
// returned as it is. Like ScanPartition, the scan is not a snapshot.
func (db *DB) ScanHints(ctx context.Context, target string, fn func(id, payload []byte) error) error {
	if err := checkTarget(target); err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	prefix := hintPrefix(target)
	return db.scan(ctx, prefix, prefix, func(k, v []byte) error {
		_, id, err := decodeHintKey(k)
		if err != nil {
			return err
		}
		return fn(id, v)
	})
}

// DeleteHint removes hint id of target; removing a missing hint is not an
// error. The removal is synced to the commit log before it is applied
// (physical deletes are write-ahead, see wal.go), so a crash cannot undo
// it by replaying the hint's older record.
func (db *DB) DeleteHint(ctx context.Context, target string, id []byte) error {
	if err := db.checkHint(target, id); err != nil {
		return err
	}
	return db.submit(ctx, hintKey(target, id), false, func([]byte, bool) (mutation, error) {
		return mutation{op: opDelete}, nil
	})
}

func (db *DB) checkHint(target string, id []byte) error {
	if err := checkTarget(target); err != nil {
		return err
	}
	return db.checkName("hint id", len(id))
}

// ScanAllHints calls fn for every hint of every target, grouped by target
// (shorter target names first, then byte order) and in ID order within a
// target. It is meant for rebuilding an index of the queue at startup. fn
// receives its own copies of id and payload and may keep them; it may call
// DeleteHint. An error from fn stops the scan and is returned as it is.
// Like ScanHints, the scan is not a snapshot.
func (db *DB) ScanAllHints(ctx context.Context, fn func(target string, id, payload []byte) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	prefix := []byte{spaceHint}
	return db.scan(ctx, prefix, prefix, func(k, v []byte) error {
		target, id, err := decodeHintKey(k)
		if err != nil {
			return err
		}
		return fn(target, id, v)
	})
}
