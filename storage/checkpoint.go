package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage/commitlog"
	"github.com/chorusdb/chorus/storage/vfs"
)

// Checkpoints.
//
// The engine is not synced per commit; the commit log is. A checkpoint
// makes the engine durable up to a log position and retires the log
// before it, so the log does not grow without end and replay stays short.
//
//  1. On the committer (a control request, so no batch is half applied):
//     P := log.Rotate(). Every record before P is committed to the engine
//     and synced in the log.
//  2. Off the committer, so writes go on meanwhile: bdb.Sync(). badger
//     syncs the active memtable's WAL and the current value log file; we
//     also fsync every value log file, since badger does not sync one it
//     rotates away from without SyncWrites. Writes committed after P are
//     synced too, which is harmless: the sync covers a superset of P.
//  3. Count badger's memtable WALs (*.mem). badger does not sync the WAL
//     of a memtable it rotates (ensureRoomForWrite); it flushes the
//     memtable to a synced table later and deletes the .mem file only
//     then (handleMemTableFlush, and the skiplist's OnClose). With a
//     single .mem left, the active one, every write before P is either in
//     it (synced in step 2, or rotated into it after P: then the WAL that
//     held it before is gone, flushed) or in a synced table, and the log
//     before P is retired. With more, a rotated memtable may still be
//     unsynced: the segments stay and the next checkpoint tries again.
//
// Step 2 used to run on the committer too: every write then waited for an
// msync of the memtable, and with non-durable writes (nothing synced the
// log meanwhile) for the sync of a whole segment, 0.3-0.4 s stalls at
// p99.9 under 1 KiB puts. The log is also synced whenever
// bytesPerSync were appended without a sync (wal.go), so the rotation's
// own sync stays short.
//
// An InMemory store with a commit log (tests) never retires anything: its
// engine keeps nothing across a crash, so the log must hold all history.
// Checkpoints run every Options.CheckpointInterval, and sooner when
// Options.CheckpointBytes were appended since the last one.

// checkpointer is the goroutine that runs checkpoints; DB owns it.
type checkpointer struct {
	kick   chan struct{} // buffered(1): the committer asks for one early
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpoints starts the checkpointer of an on-disk store with a log.
func (db *DB) startCheckpoints() {
	if db.log == nil || db.opts.InMemory {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	db.ckpt = c
	go db.checkpointLoop(ctx, c)
}

// stopCheckpoints stops the checkpointer and waits for it; called by Close
// before it waits for the calls in progress.
func (db *DB) stopCheckpoints() {
	if db.ckpt == nil {
		return
	}
	db.ckpt.cancel()
	<-db.ckpt.done
}

func (db *DB) checkpointLoop(ctx context.Context, c *checkpointer) {
	defer close(c.done)
	t, tick := db.opts.Clock.NewTicker(db.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-c.kick:
		}
		if err := db.runCheckpoint(ctx); err != nil && ctx.Err() == nil {
			db.opts.Logger.Error("storage: checkpoint failed; the commit log is kept", "err", err)
		}
	}
}

// kickCheckpoint asks for a checkpoint once CheckpointBytes were logged
// since the last one. It runs on the committer.
func (db *DB) kickCheckpoint() {
	if db.ckpt == nil || db.logSince < db.opts.CheckpointBytes {
		return
	}
	select {
	case db.ckpt.kick <- struct{}{}:
	default: // one is already asked for
	}
}

// runCheckpoint runs one checkpoint: the rotation on the committer, the
// rest on the caller's goroutine.
func (db *DB) runCheckpoint(ctx context.Context) error {
	var p commitlog.Position
	rotated := false
	r := &request{ctx: ctx, done: make(chan error, 1), control: func() error {
		var err error
		p, rotated, err = db.rotateForCheckpoint()
		return err
	}}
	if err := db.await(ctx, r); err != nil || !rotated {
		return err
	}
	return db.retireCheckpointed(p)
}

// finalCheckpoint is Close's last checkpoint, so the next Open has little
// to replay. The caller is Close, after every other caller has left.
func (db *DB) finalCheckpoint() error {
	if db.ckpt == nil {
		return nil
	}
	return db.runCheckpoint(context.Background())
}

// rotateForCheckpoint is step 1 above, on the committer: it reports
// whether there was anything to checkpoint.
func (db *DB) rotateForCheckpoint() (commitlog.Position, bool, error) {
	if db.logSince == 0 && db.log.Stats().Segments == 1 {
		return commitlog.Position{}, false, nil // nothing logged since the last one
	}
	p, err := db.log.Rotate()
	if err != nil {
		return commitlog.Position{}, false, err
	}
	db.logSince = 0
	db.unsynced = 0
	return p, true, nil
}

// retireCheckpointed is steps 2 and 3 above, for the log before p.
func (db *DB) retireCheckpointed(p commitlog.Position) error {
	if err := db.bdb.Sync(); err != nil {
		return translate("checkpoint: sync", err)
	}
	mems, err := syncEngineFiles(db.bdb.Opts().Dir)
	if err != nil {
		return fmt.Errorf("storage: checkpoint: %w", err)
	}
	if mems != 1 {
		db.stats.checkpointsSkipped.Add(1)
		return nil
	}
	if err := db.log.RetireBefore(p); err != nil {
		return err
	}
	db.stats.checkpoints.Add(1)
	return nil
}

// syncEngineFiles fsyncs badger's value log files in dir and counts its
// memtable WALs.
func syncEngineFiles(dir string) (mems int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".mem"):
			mems++
		case strings.HasSuffix(name, ".vlog"):
			if err := fsyncFile(filepath.Join(dir, name)); err != nil {
				return 0, err
			}
		}
	}
	return mems, nil
}

// fsyncFile syncs a file through a handle of its own: the data of a file
// is synced whichever descriptor asks.
func fsyncFile(name string) error {
	f, err := vfs.Default.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// clockOrReal returns c, or the real clock if c is nil.
func clockOrReal(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real{}
	}
	return c
}
