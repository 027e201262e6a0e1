package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/chorusdb/chorus/vclock"
	"github.com/dgraph-io/badger/v4"
)

// Get returns the sibling set stored for key in partition, or ErrNotFound
// (with an empty set) if there is none. A deleted key, whose siblings are
// all tombstones, is returned as it is stored: its clock still matters to
// the caller. Get reads committed state and does not wait for queued
// writes.
func (db *DB) Get(ctx context.Context, partition uint32, key []byte) (vclock.Set, error) {
	db.keys.reads.Add(1)
	if err := db.checkKey(partition, key); err != nil {
		return vclock.Set{}, err
	}
	if err := db.enter(); err != nil {
		return vclock.Set{}, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return vclock.Set{}, err
	}
	var s vclock.Set
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(dataKey(partition, key))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			s, err = decodeSet(v) // Decode copies, so v need not outlive the txn
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return vclock.Set{}, ErrNotFound
	}
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return vclock.Set{}, translate("get", err)
	}
	return s, err
}

// Digest returns the digest of the sibling set stored for key in
// partition (vclock.DigestEncoded of its stored bytes, equal to
// vclock.Set.Digest of the set) without decoding it, and whether the key
// was found. An absent key has digest 0 and found false, as the empty set
// does. A coordinator's digest read compares it with the digest of the set
// another replica sent, so only one replica sends the set itself. Like
// Get, Digest reads committed state.
func (db *DB) Digest(ctx context.Context, partition uint32, key []byte) (digest uint64, found bool, err error) {
	db.keys.reads.Add(1)
	if err := db.checkKey(partition, key); err != nil {
		return 0, false, err
	}
	if err := db.enter(); err != nil {
		return 0, false, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	err = db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(dataKey(partition, key))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			digest = vclock.DigestEncoded(v)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, translate("digest", err)
	}
	return digest, true, nil
}

// Update applies a coordinator write: it drops the siblings that clientCtx
// covers, adds v under a new dot of node, stores the result and returns it.
// changed is always true when err is nil. The returned set shares v.Data,
// which the caller must not modify afterwards.
//
// durable asks for the write to be on disk (its commit log record synced)
// before Update returns; otherwise it is committed and visible but may be
// lost in a crash of the machine (not of the process alone: the log
// record is written to the operating system before the commit).
//
// If Update returns ctx's error the write was not applied. Any other error
// means it was not applied either, except a sync failure of a durable
// write, which reports that the write is visible but perhaps not on disk.
//
// Update fails with ErrTooManySiblings, and writes nothing, if the result
// would hold more than Options.SiblingLimit siblings.
func (db *DB) Update(ctx context.Context, partition uint32, key []byte, clientCtx vclock.Clock, node string, v vclock.Value, durable bool) (vclock.Set, bool, error) {
	res, wait, err := db.UpdateAsync(ctx, partition, key, clientCtx, node, v, durable)
	if err != nil {
		return vclock.Set{}, false, err
	}
	if err := wait(); err != nil {
		return vclock.Set{}, false, err
	}
	return res, true, nil
}

// UpdateAsync is Update answered as soon as the write is committed:
// visible to every later read and write on this node, before it is
// synced. wait blocks until it is on disk (returning the sync's error; nil
// at once when durable is false). A coordinator uses it to send the new set
// to the other replicas while its own copy is being synced.
//
// The new dot's counter is above the store's incarnation floor (see
// Incarnation), so a node restarted after a crash never mints a dot it
// may already have sent elsewhere before its disk had it.
func (db *DB) UpdateAsync(ctx context.Context, partition uint32, key []byte, clientCtx vclock.Clock, node string, v vclock.Value, durable bool) (set vclock.Set, wait func() error, err error) {
	if err := db.checkKey(partition, key); err != nil {
		return vclock.Set{}, nil, err
	}
	if err := db.checkValue(len(v.Data)); err != nil {
		return vclock.Set{}, nil, err
	}
	if node == "" {
		return vclock.Set{}, nil, errors.New("storage: update: empty node name")
	}
	floor := db.floor
	var res vclock.Set
	wait, err = db.submitEarly(ctx, dataKey(partition, key), durable, func(old []byte, found bool) (mutation, error) {
		cur, err := decodeStored(old, found)
		if err != nil {
			return mutation{}, err
		}
		next, err := cur.UpdateFrom(clientCtx, node, v, floor)
		if err != nil {
			return mutation{}, fmt.Errorf("storage: update: %w", err)
		}
		if n := next.Len(); n > db.opts.SiblingLimit {
			db.stats.siblingRefusals.Add(1)
			return mutation{}, fmt.Errorf("%w: this write would leave %d siblings on the key (limit %d); "+
				"read the key and write with the context of that read to resolve its siblings",
				ErrTooManySiblings, n, db.opts.SiblingLimit)
		}
		db.noteSiblings(partition, key, cur.Len(), next.Len(), "update")
		db.noteTombstone(next)
		res = next
		return mutation{op: opSet, value: next.Encode(), tomb: tombChange(cur, next)}, nil
	})
	if err != nil {
		return vclock.Set{}, nil, err
	}
	return res, wait, nil
}

// Merge syncs incoming, a replica's set for key, into the stored set and
// returns the result. When the result equals what was stored, nothing is
// written and changed is false. durable and the ctx semantics are as for
// Update.
//
// Merge is never refused for the number of siblings: refusing would lose
// writes that other replicas acknowledged. A result above
// Options.SiblingLimit is counted in Stats.MergesOverLimit instead.
// Value sizes are not checked either; the coordinator checked them.
func (db *DB) Merge(ctx context.Context, partition uint32, key []byte, incoming vclock.Set, durable bool) (vclock.Set, bool, error) {
	res, changed, wait, err := db.MergeAsync(ctx, partition, key, incoming, durable)
	if err != nil {
		return vclock.Set{}, false, err
	}
	if err := wait(); err != nil {
		return vclock.Set{}, false, err
	}
	return res, changed, nil
}

// MergeAsync is Merge answered as soon as the merge is committed: visible
// to every later read and write on this node, before it is synced. wait
// blocks until it is on disk (returning the sync's error; nil at once when
// durable is false or nothing changed).
func (db *DB) MergeAsync(ctx context.Context, partition uint32, key []byte, incoming vclock.Set, durable bool) (res vclock.Set, changed bool, wait func() error, err error) {
	if err := db.checkKey(partition, key); err != nil {
		return vclock.Set{}, false, nil, err
	}
	wait, err = db.submitEarly(ctx, dataKey(partition, key), durable, func(old []byte, found bool) (mutation, error) {
		cur, err := decodeStored(old, found)
		if err != nil {
			return mutation{}, err
		}
		next := vclock.Sync(cur, incoming)
		res, changed = next, !next.Equal(cur)
		if !changed {
			return mutation{op: opNone}, nil
		}
		if next.Len() > db.opts.SiblingLimit {
			db.stats.mergesOverLimit.Add(1)
		}
		db.noteSiblings(partition, key, cur.Len(), next.Len(), "merge")
		db.noteTombstone(next)
		return mutation{op: opSet, value: next.Encode(), tomb: tombChange(cur, next)}, nil
	})
	if err != nil {
		return vclock.Set{}, false, nil, err
	}
	return res, changed, wait, nil
}

// DeleteTombstone removes key if its stored set still equals expect and is
// Deleted (all siblings tombstones). It reports whether the key was
// removed. Comparing with expect inside the committer means a write that
// arrived since the caller decided to collect the tombstone is never lost:
// the sets differ and nothing is removed. The removal is synced to the
// commit log before it is applied, so replaying the log after a crash
// can never bring back a collected key.
func (db *DB) DeleteTombstone(ctx context.Context, partition uint32, key []byte, expect vclock.Set) (bool, error) {
	if err := db.checkKey(partition, key); err != nil {
		return false, err
	}
	if !expect.Deleted() {
		return false, nil
	}
	return db.DeleteIfEqual(ctx, partition, key, expect)
}

// DeleteIfEqual removes key if its stored set still equals expect, as one
// compare-and-delete in the committer, and reports whether it did. A node
// uses it to drop copies it holds without owning the key (a fallback's
// copy after its hint is delivered, a partition after its handoff): a
// write that arrived since the caller read expect is kept. Like
// DeleteTombstone, the removal is synced to the commit log first.
func (db *DB) DeleteIfEqual(ctx context.Context, partition uint32, key []byte, expect vclock.Set) (bool, error) {
	if err := db.checkKey(partition, key); err != nil {
		return false, err
	}
	if expect.IsEmpty() {
		return false, nil
	}
	var removed bool
	err := db.submit(ctx, dataKey(partition, key), false, func(old []byte, found bool) (mutation, error) {
		removed = false
		if !found {
			return mutation{op: opNone}, nil
		}
		cur, err := decodeSet(old)
		if err != nil {
			return mutation{}, err
		}
		if !cur.Equal(expect) {
			return mutation{op: opNone}, nil
		}
		removed = true
		return mutation{op: opDelete, tomb: tombDrop(cur)}, nil
	})
	return removed && err == nil, err
}

// noteSiblings logs and counts a key whose sibling count reaches
// SiblingWarn. Only the crossing is reported, not every write above it, so
// a hot key does not flood the log.
func (db *DB) noteSiblings(partition uint32, key []byte, before, after int, op string) {
	if after < db.opts.SiblingWarn || before >= db.opts.SiblingWarn {
		return
	}
	db.stats.siblingWarnings.Add(1)
	db.opts.Logger.Warn("storage: key has many siblings; clients should write with a read context",
		"partition", partition, "key", fmt.Sprintf("%q", key), "siblings", after,
		"warn", db.opts.SiblingWarn, "limit", db.opts.SiblingLimit, "op", op)
}

// noteTombstone counts a write that leaves a key deleted, for the
// tombstone collector (Stats.TombstoneWrites). It is counted when the
// mutation is decided, before the commit: a write that then fails is
// counted too, which only costs the collector a pass.
func (db *DB) noteTombstone(next vclock.Set) {
	if next.Deleted() {
		db.stats.tombstoneWrites.Add(1)
	}
}

// decodeStored decodes a stored set, or returns the empty set if absent.
func decodeStored(b []byte, found bool) (vclock.Set, error) {
	if !found {
		return vclock.Set{}, nil
	}
	return decodeSet(b)
}

func decodeSet(b []byte) (vclock.Set, error) {
	s, err := vclock.Decode(b)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return s, nil
}
