package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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
//
// A store that starts empty may belong to a node that ran before under
// the same ID, on a disk since wiped (the cure for a node down past the
// tombstone grace, a lost disk, a restore into fresh nodes): the other
// replicas then hold its old dots, which its counters must not meet
// again, or a new write would be taken for an old one and dropped. An
// empty store cannot know how far the wiped one counted, so its first
// incarnation is the time, in seconds since 2024 (as Cassandra's gossip
// generation is): above every incarnation an earlier store of the node
// reached, unless that one went through more unclean restarts than
// seconds have passed since it started, or the clock went back.

const (
	metaRunning     = "storage.running"
	metaIncarnation = "storage.incarnation"
	incarnationBits = 32
)

// Incarnation returns the store's incarnation: its first (the time it
// started empty, see above) plus how many times it was opened after a run
// that ended without Close. In-memory stores without a commit log are
// always incarnation 0.
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
	if db.fresh {
		inc = firstIncarnation(db.opts.Clock.Now())
		if err := db.SetMeta(ctx, metaIncarnation, binary.BigEndian.AppendUint64(nil, inc)); err != nil {
			return err
		}
	} else if _, err := db.GetMeta(metaRunning); err == nil {
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

// incarnationEpoch is the zero of firstIncarnation's count of seconds.
var incarnationEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// firstIncarnation is the incarnation of a store that starts empty: the
// seconds from incarnationEpoch to now, at least 1, and below the last
// incarnation that leaves counters (reached in 2092).
func firstIncarnation(now time.Time) uint64 {
	secs := int64(now.Sub(incarnationEpoch) / time.Second)
	return uint64(min(max(secs, 1), int64(vclock.MaxCounter>>incarnationBits)-1))
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
