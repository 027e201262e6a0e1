package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/chorusdb/chorus/vclock"
)

// Incarnations.
//
// A coordinator sends a new version to the other replicas while its own
// copy is still being synced (UpdateAsync). If its machine crashes in that
// window, the other replicas may hold a dot (node, c) that this node's disk
// never got; minting (node, c) again for another value would give two
// values one dot, and replicas would keep only one of them. So the store
// counts its incarnations: a marker is set while it is open and removed by
// Close; finding the marker at Open means the last run ended without Close,
// and the incarnation goes up by one. Every dot minted in incarnation i has
// a counter above i<<32, above any counter an earlier incarnation used
// (2^32 writes to one key per incarnation), and a clock that covers the
// lost dots supersedes those never-acknowledged writes instead of clashing
// with them.

const (
	metaRunning     = "storage.running"
	metaIncarnation = "storage.incarnation"
	incarnationBits = 32
)

// Incarnation returns the store's incarnation: how many times it was
// opened after a run that ended without Close. In-memory stores without a
// commit log are always incarnation 0.
func (db *DB) Incarnation() uint64 { return db.floor >> incarnationBits }

// startIncarnation reads the marker and the incarnation, bumps the latter
// after an unclean end, and sets the marker for this run, durably, before
// any write is accepted.
func (db *DB) startIncarnation() error {
	if !db.persistent() {
		return nil
	}
	ctx := context.Background()
	inc, err := db.metaUint(metaIncarnation)
	if err != nil {
		return err
	}
	if _, err := db.GetMeta(metaRunning); err == nil {
		inc++
		if err := db.SetMeta(ctx, metaIncarnation, binary.BigEndian.AppendUint64(nil, inc)); err != nil {
			return err
		}
		db.opts.Logger.Warn("storage: the last run ended without a clean close; new versions start a new incarnation",
			"incarnation", inc)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	floor, err := incarnationFloor(inc)
	if err != nil {
		return err
	}
	if err := db.SetMeta(ctx, metaRunning, []byte{1}); err != nil {
		return err
	}
	db.floor = floor
	return nil
}

// incarnationFloor returns the dot counter floor of incarnation inc. Its
// dots take counters up to the next incarnation's floor, which must stay
// within vclock.MaxCounter: past about two billion unclean restarts the
// node has no counters left and must come back under a new ID.
func incarnationFloor(inc uint64) (uint64, error) {
	if inc >= vclock.MaxCounter>>incarnationBits {
		return 0, fmt.Errorf("storage: incarnation %d leaves no dot counters below %d: "+
			"start this node with a new ID and an empty data directory", inc, uint64(vclock.MaxCounter))
	}
	return inc << incarnationBits, nil
}

// persistent reports whether the store outlives its process: on disk, or
// in memory with a commit log (tests that simulate crashes).
func (db *DB) persistent() bool { return !db.opts.InMemory || db.log != nil }

func (db *DB) metaUint(name string) (uint64, error) {
	b, err := db.GetMeta(name)
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("%w: meta %q is %d bytes, want 8", ErrCorrupt, name, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// endIncarnation removes the marker: called by Close once no caller is
// left and before the committer stops.
func (db *DB) endIncarnation() error {
	if !db.persistent() {
		return nil
	}
	_, err := db.queue(context.Background(), metaKey(metaRunning), true, false, func([]byte, bool) (mutation, error) {
		return mutation{op: opDelete}, nil
	})
	return err
}
