package storage

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/clock"
)

// Background garbage collection.
//
// Overwrites and removals leave garbage in two places. Values at or above
// the engine's value threshold live in its value log, whose files are only
// reclaimed by RunValueLogGC: it rewrites the live values of the file with
// the most garbage (as counted by compactions) once that is at least
// Options.GCDiscardRatio of the file, and deletes the file. Smaller values
// (every value below 1 MiB by default, 4 KiB puts included) live in the
// LSM tree, where compactions drop superseded versions and removed keys;
// badger's compactors run on their own, but only while a level is over its
// target size, so the last bursts of writes (level 0 tables, upper levels)
// can stay until the next burst pushes them down.
//
// One collector goroutine, every Options.GCInterval on Options.Clock:
//
//  1. asks Options.GCThrottle first, and waits as long as it says
//     (foreground latency is high), asking again, before each step;
//  2. runs RunValueLogGC while it reclaims a file, pausing gcStepPause
//     between two rewrites;
//  3. when no data write and no read came since the previous tick (the
//     store is idle; a flatten would stall the reads of a busy one:
//     meta records and hints do not count) and
//     enough was written since the last time (bytes in the commit log at
//     least half the LSM's size, or writes at least half the number of
//     keys: deletes are small writes that drop large values), so that
//     this costs at most a rewrite of the tree per half of it written,
//     flushes the memtable (flushMemtable) and flattens the LSM
//     (DB.Flatten): every level is compacted down into one, superseded
//     versions and removed keys dropped. An idle store thus ends a burst
//     of writes with its tree at its live size.
//
// None of this touches the commit log or the checkpoint rules: a value
// log rewrite and a compaction move committed data inside the engine, and
// badger syncs what they write before it deletes what they replace
// (rewrite, compaction), so a checkpoint's sync covers the same data
// before and after. Close stops the collector before the engine, waiting
// for a step in progress (a flatten of a large tree may take seconds).

// gcStepPause separates two value log rewrites of one pass, so a pass
// that reclaims many files does not hold the disk for all of them at once.
const gcStepPause = 100 * time.Millisecond

// collector is the GC goroutine's state; DB owns it.
type collector struct {
	cancel context.CancelFunc
	done   chan struct{}

	// The committer's write count and the log's appended bytes at the last
	// tick and at the last flatten; the goroutine owns them.
	lastWrites      uint64
	lastReads       uint64
	checkedAt       time.Time // when lastWrites and lastReads were read
	flattenedWrites uint64
	flattenedBytes  int64
}

// gcCounters are the GC figures of Stats.
type gcCounters struct {
	passes, rewrites, flattens, backoffs atomic.Uint64
	reclaimed, backoffNanos              atomic.Int64
}

// startGC starts the collector of an on-disk store.
func (db *DB) startGC() {
	if db.opts.InMemory || db.opts.GCInterval < 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.gc = &collector{cancel: cancel, done: make(chan struct{})}
	go db.gcLoop(ctx, db.gc)
}

// stopGC stops the collector and waits for it; Close calls it first.
func (db *DB) stopGC() {
	if db.gc == nil {
		return
	}
	db.gc.cancel()
	<-db.gc.done
}

func (db *DB) gcLoop(ctx context.Context, c *collector) {
	defer close(c.done)
	t, tick := db.opts.Clock.NewTicker(db.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if err := db.gcPass(ctx, c); err != nil && ctx.Err() == nil {
			db.opts.Logger.Warn("storage: garbage collection pass failed", "err", err)
		}
	}
}

// gcPass is one tick's work (steps 1-3 above).
func (db *DB) gcPass(ctx context.Context, c *collector) error {
	defer db.stats.gc.passes.Add(1)
	for {
		if err := db.gcThrottle(ctx); err != nil {
			return err
		}
		before := db.engineBytes().vlog
		err := db.bdb.RunValueLogGC(db.opts.GCDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			break
		}
		if err != nil {
			return translate("value log gc", err)
		}
		db.stats.gc.rewrites.Add(1)
		if freed := before - db.engineBytes().vlog; freed > 0 {
			db.stats.gc.reclaimed.Add(freed)
		}
		if err := clock.Sleep(ctx, db.opts.Clock, gcStepPause); err != nil {
			return err
		}
	}
	return db.maybeFlatten(ctx, c)
}

// maybeFlatten flattens the LSM when the store was idle since the last
// tick and enough was written since the last flatten (step 3 above).
func (db *DB) maybeFlatten(ctx context.Context, c *collector) error {
	writes := db.keys.writes.Load()
	if !c.idle(db.opts.Clock.Now(), db.opts.GCInterval, writes, db.keys.reads.Load()) || db.log == nil {
		return nil
	}
	written := db.log.Stats().Appended - c.flattenedBytes
	eb := db.engineBytes()
	// Garbage is at most what was written since: in bytes, or, for
	// deletes and other small writes that supersede large values, in keys.
	enough := 2*written >= eb.lsm || 2*(writes-c.flattenedWrites) >= uint64(max(db.keys.data.Load(), 1))
	if !enough {
		return nil
	}
	if err := db.gcThrottle(ctx); err != nil {
		return err
	}
	if err := db.flushMemtable(ctx); err != nil {
		return err
	}
	// With the tree on one level already (level 0 was compacted into
	// it), the flush was all there was to do.
	if db.lsmSpread() {
		if err := db.bdb.Flatten(db.opts.Compactors); err != nil {
			return translate("flatten", err)
		}
	}
	c.flattenedBytes, c.flattenedWrites = db.log.Stats().Appended, db.keys.writes.Load()
	db.stats.gc.flattens.Add(1)
	if freed := eb.lsm - db.engineBytes().lsm; freed > 0 {
		db.stats.gc.reclaimed.Add(freed)
	}
	return nil
}

// idle reports whether the store took no data write and no read since the
// last check, at least interval ago. A check sooner than that says
// nothing and changes nothing: a pass that ended late (it waited on the
// throttle) is followed at once by the tick that queued meanwhile, and
// the few milliseconds between the two would pass for idleness under a
// steady read load.
func (c *collector) idle(now time.Time, interval time.Duration, writes, reads uint64) bool {
	if now.Sub(c.checkedAt) < interval {
		return false
	}
	idle := writes == c.lastWrites && reads == c.lastReads
	c.checkedAt, c.lastWrites, c.lastReads = now, writes, reads
	return idle
}

// spaceFlush is the keyspace of flushMemtable's sentinel key. It holds
// nothing otherwise: a sentinel left by a crash is dropped by the next
// flush.
const spaceFlush byte = 'z'

// flushMemtable writes the engine's memtable out to a level 0 table, so
// that a flatten sees the last writes too (deletes above all: the values
// they drop are in the tree, the deletes in the memtable) and the
// memtable's log, as large as the writes since the last flush, is deleted.
// badger has no flush call: DropPrefix of a keyspace holding one sentinel
// key flushes the memtables and drops nothing else. DropPrefix refuses
// concurrent writes, so it runs on the committer, which makes every write
// (a client write arriving meanwhile waits for it, as for a batch).
func (db *DB) flushMemtable(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	r := &request{ctx: ctx, done: make(chan error, 1), control: func() error {
		key := []byte{spaceFlush}
		txn := db.bdb.NewTransaction(true)
		defer txn.Discard()
		if err := txn.Set(key, nil); err != nil {
			return translate("flush", err)
		}
		if err := txn.Commit(); err != nil {
			return translate("flush", err)
		}
		return translate("flush", db.bdb.DropPrefix(key))
	}}
	return db.await(ctx, r)
}

// lsmSpread reports whether the LSM has tables on more than one level, or
// any on level 0: only then can a flatten drop anything.
func (db *DB) lsmSpread() bool {
	levels := 0
	for _, l := range db.bdb.Levels() {
		if l.Level == 0 && l.NumTables > 0 {
			return true
		}
		if l.NumTables > 0 {
			levels++
		}
	}
	return levels > 1
}

// gcThrottle waits while Options.GCThrottle asks for it, counting the
// waits, or returns ctx's error.
func (db *DB) gcThrottle(ctx context.Context) error {
	if db.opts.GCThrottle == nil {
		return ctx.Err()
	}
	for {
		d := db.opts.GCThrottle()
		if d <= 0 {
			return ctx.Err()
		}
		db.stats.gc.backoffs.Add(1)
		db.stats.gc.backoffNanos.Add(int64(d))
		if err := clock.Sleep(ctx, db.opts.Clock, d); err != nil {
			return err
		}
	}
}

// diskBytes is the disk space of a store by kind, in bytes allocated
// (sparse, preallocated files count what they hold, not their length).
type diskBytes struct {
	lsm  int64 // the engine's tables, memtable logs and manifest
	vlog int64 // the engine's value log
	log  int64 // the commit log
}

// engineBytes returns the disk space of the engine's files; zero for an
// InMemory store.
func (db *DB) engineBytes() diskBytes {
	var b diskBytes
	if db.opts.InMemory {
		return b
	}
	dir := db.bdb.Opts().Dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return b
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		n := allocated(info)
		if strings.HasSuffix(e.Name(), ".vlog") {
			b.vlog += n
		} else {
			b.lsm += n
		}
	}
	return b
}

// diskUsage returns engineBytes with the commit log's space.
func (db *DB) diskUsage() diskBytes {
	b := db.engineBytes()
	if db.log == nil || db.opts.InMemory {
		return b // no log, or one on an in-memory file system (tests)
	}
	entries, err := os.ReadDir(db.logDir)
	if err != nil {
		return b
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			b.log += allocated(info)
		}
	}
	return b
}

// diskStats fills the disk, key and GC figures of s.
func (db *DB) diskStats(s *Stats) {
	d := db.diskUsage()
	s.DiskLSMBytes, s.DiskVlogBytes, s.DiskLogBytes = d.lsm, d.vlog, d.log
	s.Keys, s.TombstoneKeys = db.keys.data.Load(), db.keys.tombs.Load()
	s.TombstoneIndexStray = db.stats.tombStray.Load()
	g := &db.stats.gc
	s.GCPasses, s.GCRewrites, s.GCFlattens = g.passes.Load(), g.rewrites.Load(), g.flattens.Load()
	s.GCReclaimedBytes = g.reclaimed.Load()
	s.GCBackoffs, s.GCBackoffTime = g.backoffs.Load(), time.Duration(g.backoffNanos.Load())
}
