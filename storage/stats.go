package storage

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// Stats are cumulative counters since Open.
type Stats struct {
	// Batches is the number of batches the committer processed.
	Batches uint64 `json:"batches"`
	// Commits is the number of engine transactions committed; above
	// Batches when batches had to be split to fit a transaction.
	Commits uint64 `json:"commits"`
	// Writes is the number of requests whose writes were committed,
	// including merges and deletes that turned out to change nothing.
	Writes uint64 `json:"writes"`
	// Syncs is the number of commit log syncs (engine syncs for a store
	// without a log): one per group of batches with durable writes, plus
	// one per batch with a delete. Writes/Syncs is the average number of
	// writes one sync covered (non-durable ones included).
	Syncs uint64 `json:"syncs"`
	// LogBytes is the number of bytes appended to the commit log.
	LogBytes uint64 `json:"log_bytes"`
	// LogSegments is the number of commit log segment files now.
	LogSegments int `json:"log_segments"`
	// Checkpoints counts checkpoints that retired the commit log before
	// them; CheckpointsSkipped those that found a memtable not yet flushed
	// and kept the log (checkpoint.go).
	Checkpoints        uint64 `json:"checkpoints"`
	CheckpointsSkipped uint64 `json:"checkpoints_skipped"`
	// SiblingWarnings counts writes that brought a key to
	// Options.SiblingWarn siblings or more from below.
	SiblingWarnings uint64 `json:"sibling_warnings"`
	// SiblingRefusals counts Updates refused with ErrTooManySiblings.
	SiblingRefusals uint64 `json:"sibling_refusals"`
	// MergesOverLimit counts merges that left a key with more than
	// Options.SiblingLimit siblings; merges are never refused.
	MergesOverLimit uint64 `json:"merges_over_limit"`
	// TombstoneWrites counts writes (updates and merges) that left a key
	// deleted, all its siblings tombstones: the tombstone collector skips
	// its pass while this has not moved (TombstoneWrites). A write retried
	// inside the committer may be counted twice, never zero times.
	TombstoneWrites uint64 `json:"tombstone_writes"`
	// ApplyTime and SyncTime are the committer's total time applying and
	// committing batches, and syncing them: how busy it is, and what one
	// sync costs (SyncTime/Syncs). JSON has them in milliseconds (apply_ms,
	// sync_ms).
	ApplyTime time.Duration `json:"-"`
	SyncTime  time.Duration `json:"-"`

	// Disk space now, in bytes allocated on disk (gc.go): the engine's LSM
	// tree (tables, memtable logs, manifest), its value log, and the
	// commit log. Zero for an InMemory store.
	DiskLSMBytes  int64 `json:"disk_lsm_bytes"`
	DiskVlogBytes int64 `json:"disk_vlog_bytes"`
	DiskLogBytes  int64 `json:"disk_log_bytes"`
	// Keys is the number of keys stored now, deleted ones included;
	// TombstoneKeys the number of those deleted (every sibling a
	// tombstone, entries of the tombstone index), so Keys - TombstoneKeys
	// are the live keys. Exact: counted at Open, then kept by the
	// committer.
	Keys          int64 `json:"keys"`
	TombstoneKeys int64 `json:"tombstone_keys"`
	// TombstoneIndexStray counts index entries found for keys that were
	// not deleted, passed over by ScanTombstones (tombindex.go): only a
	// write refused half-way for its transaction's size can leave one.
	TombstoneIndexStray uint64 `json:"tombstone_index_stray"`
	// GCPasses counts finished background garbage collection passes; GCRewrites the
	// value log files rewritten, GCFlattens the idle memtable flushes and
	// LSM flattens, and
	// GCReclaimedBytes the disk space they gave back (as measured around
	// each step). GCBackoffs counts the waits for foreground latency
	// (Options.GCThrottle) and GCBackoffTime their total (JSON:
	// gc_backoff_ms).
	GCPasses         uint64        `json:"gc_passes"`
	GCRewrites       uint64        `json:"gc_rewrites"`
	GCFlattens       uint64        `json:"gc_flattens"`
	GCReclaimedBytes int64         `json:"gc_reclaimed_bytes"`
	GCBackoffs       uint64        `json:"gc_backoffs"`
	GCBackoffTime    time.Duration `json:"-"`
}

// MarshalJSON writes s with its durations as milliseconds, the JSON style
// of the HTTP API.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats // without this method
	return json.Marshal(struct {
		plain
		ApplyMS     float64 `json:"apply_ms"`
		SyncMS      float64 `json:"sync_ms"`
		GCBackoffMS float64 `json:"gc_backoff_ms"`
	}{plain(s), millis(s.ApplyTime), millis(s.SyncTime), millis(s.GCBackoffTime)})
}

// millis is d in (fractional) milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type counters struct {
	batches, commits, writes, syncs                   atomic.Uint64
	siblingWarnings, siblingRefusals, mergesOverLimit atomic.Uint64
	checkpoints, checkpointsSkipped                   atomic.Uint64
	tombstoneWrites                                   atomic.Uint64
	applyNanos, syncNanos                             atomic.Int64
	tombStray                                         atomic.Uint64
	gc                                                gcCounters
}

// Stats returns a snapshot of the counters. It works after Close too.
func (db *DB) Stats() Stats {
	c := &db.stats
	s := Stats{
		Batches:            c.batches.Load(),
		Commits:            c.commits.Load(),
		Writes:             c.writes.Load(),
		Syncs:              c.syncs.Load(),
		SiblingWarnings:    c.siblingWarnings.Load(),
		SiblingRefusals:    c.siblingRefusals.Load(),
		MergesOverLimit:    c.mergesOverLimit.Load(),
		TombstoneWrites:    c.tombstoneWrites.Load(),
		ApplyTime:          time.Duration(c.applyNanos.Load()),
		SyncTime:           time.Duration(c.syncNanos.Load()),
		Checkpoints:        c.checkpoints.Load(),
		CheckpointsSkipped: c.checkpointsSkipped.Load(),
	}
	db.diskStats(&s)
	if db.log != nil {
		ls := db.log.Stats()
		s.LogBytes, s.LogSegments = uint64(ls.Appended), ls.Segments
	}
	return s
}

// TombstoneWrites returns Stats().TombstoneWrites, cheaply: the count of
// writes since Open that left a key deleted.
func (db *DB) TombstoneWrites() uint64 { return db.stats.tombstoneWrites.Load() }
