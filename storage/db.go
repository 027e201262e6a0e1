package storage

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/storage/commitlog"
)

// DB is a node's local store: sibling sets per key, hints and metadata, on
// one badger database. All methods are safe for concurrent use.
type DB struct {
	opts Options
	bdb  *badger.DB

	// reqs carries every write to the committer goroutine. It is closed
	// by Close once no caller is inside the DB, so no send can race with
	// the close.
	reqs          chan *request
	committerDone chan struct{}

	// mu guards closed and inflight; idle is signalled when inflight
	// drops to zero after Close has begun.
	mu       sync.Mutex
	idle     *sync.Cond
	closed   bool
	inflight int

	closeOnce sync.Once
	closeErr  error

	stats counters

	// keys counts data keys and tombstone index entries (tombindex.go).
	keys keyCounts

	// gc is the engine's background garbage collection (gc.go); nil for
	// an InMemory store.
	gc *collector

	// floor is the incarnation's base dot counter (incarnation.go).
	floor uint64
	// fresh is set by Open for a store it found empty and started.
	fresh bool

	// scanChunk is how many keys a scan reads per engine transaction;
	// a variable so tests can make it small.
	scanChunk int

	// trees are the anti-entropy trees (trees.go); nil with NoTrees.
	trees *trees

	// The commit log (wal.go), nil for a store without one. The committer
	// hands groups of durable requests to the syncer on toSync, which
	// Close closes once the committer has exited. recBuf and recOffs are
	// the committer's record buffer; logSince counts the bytes it
	// appended since the last checkpoint (checkpoint.go), and logEnd is
	// the end of its last append.
	log        *commitlog.Log
	logDir     string
	logEnd     commitlog.Position
	toSync     chan syncGroup
	syncerDone chan struct{}
	recBuf     []byte
	recOffs    []int
	logSince   int64
	// unsynced counts the bytes appended since the committer last handed
	// the syncer a group (wal.go, bytesPerSync); the committer owns it.
	unsynced int64
	ckpt     *checkpointer
}

// Open opens (creating if needed) the store in dir, or an in-memory store
// if opts.InMemory is set, in which case dir must be "". It replays the
// commit log into the engine, then starts the committer, the syncer and
// the checkpointer goroutines, which Close stops.
func Open(dir string, opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.InMemory && dir != "" {
		return nil, fmt.Errorf("%w: dir must be empty with InMemory, got %q", ErrBadOptions, dir)
	}
	if !opts.InMemory && dir == "" {
		return nil, fmt.Errorf("%w: dir is required unless InMemory", ErrBadOptions)
	}
	bdb, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("storage: open %q: %v", dir, err)
	}
	db := &DB{
		opts: opts,
		bdb:  bdb,
		// Room for a few batches, so callers rarely block on the send
		// while the committer is busy.
		reqs:          make(chan *request, 4*opts.MaxBatch),
		committerDone: make(chan struct{}),
		scanChunk:     defaultScanChunk,
	}
	db.idle = sync.NewCond(&db.mu)
	if err := db.openLog(dir); err != nil {
		return nil, errors.Join(fmt.Errorf("storage: open %q: %w", dir, err), db.closeEngine())
	}
	if err := db.replayLog(); err != nil {
		return nil, errors.Join(fmt.Errorf("storage: open %q: %w", dir, err), db.closeEngine())
	}
	go db.commitLoop()
	if db.log != nil {
		// A few groups in flight: the committer blocks when the syncer
		// falls that far behind, which bounds the unsynced backlog.
		db.toSync = make(chan syncGroup, 4)
		db.syncerDone = make(chan struct{})
		go db.syncLoop()
	}
	if err := db.checkLayout(); err != nil {
		return nil, errors.Join(fmt.Errorf("storage: open %q: %w", dir, err), db.Close())
	}
	if err := db.startIncarnation(); err != nil {
		return nil, errors.Join(fmt.Errorf("storage: open %q: %w", dir, err), db.Close())
	}
	// After the layout check (which wants a new store empty), and before
	// any data write: only Open's own meta writes have run.
	if err := db.openTombIndex(); err != nil {
		return nil, errors.Join(fmt.Errorf("storage: open %q: %w", dir, err), db.Close())
	}
	db.startTrees()
	db.startCheckpoints()
	db.startGC()
	return db, nil
}

// Close stops intake (later calls return ErrClosed), waits for the calls
// in progress to return, including scans and writes queued or being
// committed, stops the committer and the syncer, syncs the commit log,
// runs a last checkpoint and closes the engine. It is idempotent and safe
// to call concurrently; every call returns the first result. Close must
// not be called from a ScanPartition or ScanHints callback.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopGC()
		db.stopTrees()
		db.stopCheckpoints()
		db.mu.Lock()
		db.closed = true
		for db.inflight > 0 {
			db.idle.Wait()
		}
		db.mu.Unlock()
		markErr := db.endIncarnation()
		ckptErr := db.finalCheckpoint()
		close(db.reqs)
		<-db.committerDone
		if db.toSync != nil {
			close(db.toSync)
			<-db.syncerDone
		}
		err := db.closeEngine()
		switch {
		case err != nil:
			db.closeErr = err
		case markErr != nil:
			db.closeErr = fmt.Errorf("storage: close: the next open will count a new incarnation: %w", markErr)
		case ckptErr != nil:
			db.closeErr = fmt.Errorf("storage: close: last checkpoint: %w", ckptErr)
		}
	})
	return db.closeErr
}

// closeEngine syncs and closes the commit log and closes the engine
// (which flushes and syncs it). The log's segments stay: the last
// checkpoint retired what it could, and replaying the rest at the next
// Open changes nothing the engine already holds.
func (db *DB) closeEngine() error {
	var errs []error
	if db.log != nil {
		if err := db.log.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("storage: close: sync commit log: %w", err))
		}
		if err := db.log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: close: %w", err))
		}
	}
	if err := db.bdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: close: %v", err))
	}
	return errors.Join(errs...)
}

// enter registers a call in progress, or returns ErrClosed. Every exported
// method brackets its work with enter and leave so that Close never pulls
// the engine from under it.
func (db *DB) enter() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.inflight++
	return nil
}

func (db *DB) leave() {
	db.mu.Lock()
	db.inflight--
	if db.inflight == 0 && db.closed {
		db.idle.Broadcast()
	}
	db.mu.Unlock()
}
