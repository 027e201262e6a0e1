package storage

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage/vfs"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configures a DB. The zero value of every field means its default,
// so Options{InMemory: true} is a complete configuration for tests.
type Options struct {
	// InMemory keeps everything in memory and writes nothing to disk; dir
	// must then be "". Without a CommitLogFS there is no commit log and
	// durable writes are acknowledged without any sync,
	// and the engine refuses any stored value (an encoded set) over 1 MiB,
	// so it is meant for tests. Default false.
	InMemory bool

	// MaxKeyLen is the longest accepted user key, hint ID or meta name, in
	// bytes. Default 1024; at most 60000 (the engine's limit is 65000 for
	// the whole internal key).
	MaxKeyLen int

	// MaxValueLen is the longest value Data accepted by Update and PutHint
	// and SetMeta, in bytes. Default 1 MiB; at most 64 MiB.
	MaxValueLen int

	// SiblingWarn is the sibling count at which a key is logged at warning
	// level and counted in Stats.SiblingWarnings. Default 25.
	SiblingWarn int

	// SiblingLimit is the largest sibling count an Update may leave on a
	// key; a write that would leave more fails with ErrTooManySiblings.
	// Merge is never refused. Default 100; must be >= SiblingWarn.
	SiblingLimit int

	// MaxBatch is the most writes the committer applies in one batch (one
	// transaction and at most one sync). Default 256: with it, 64 durable
	// callers reached 67k writes/s (batches of 32 on average) with badger
	// alone on the development machine. At most 4096.
	MaxBatch int

	// MemTableSize is the engine's memtable size in bytes. Larger tables
	// flush less often but use more memory (the engine allocates the whole
	// table up front: it was 83 of a node's 160 MiB resident at 64 MiB).
	// Durability comes from the commit log, so the size buys only fewer
	// flushes. Default 32 MiB, so a stored set (all siblings of a key) may
	// be up to 4.8 MiB; at least 8 MiB, so that any single write fits one
	// transaction (the engine caps a transaction at 15% of it).
	MemTableSize int64

	// Compactors is the number of the engine's compaction workers.
	// Default 2, the engine's minimum (its default is 4): each worker
	// wakes every 50 ms to look for work, busy or idle, and on an idle
	// 3-node cluster the two more cost about 6 millicores per node, a
	// third of the node's idle CPU. The first worker gives level 0
	// priority, so writes are not stalled by the others' absence.
	Compactors int

	// Trees is the shape of the anti-entropy trees kept per partition
	// (zero fields: antientropy's defaults). Every node of a cluster must
	// use the same shape.
	Trees antientropy.Config

	// NoTrees turns the anti-entropy trees off: no per-write maintenance
	// and no rebuild at Open; the Tree methods fail with ErrTreesNotReady.
	NoTrees bool

	// logSegmentSize is the commit log's segment size (commitlog.Config);
	// tests make it small.
	logSegmentSize int64

	// engineSync makes the store run without a commit log, syncing the
	// engine (badger's DB.Sync) once per batch with durable writes, as it
	// did before the log: for benchmarks that compare the two.
	engineSync bool

	// CommitLogFS is the file system of the commit log (see doc.go,
	// Durability). nil means the operating system's for an on-disk store,
	// and no log at all for an InMemory one. Tests set it, usually to
	// vfs.NewCrashableMem(), to give an InMemory store a log whose unsynced
	// bytes a simulated crash drops; such a store then also keeps its
	// layout and incarnation records, like one on disk.
	CommitLogFS vfs.FS

	// CommitLogDir is the log's directory in CommitLogFS. Default
	// <dir>/commitlog for an on-disk store (the engine ignores
	// subdirectories), "commitlog" for an InMemory one.
	CommitLogDir string

	// CheckpointInterval is how often the engine is synced and the commit
	// log before the sync retired. Default 30 s.
	CheckpointInterval time.Duration

	// CheckpointBytes starts a checkpoint early once this many bytes were
	// logged since the last one; it bounds replay after a crash. Default
	// 64 MiB.
	CheckpointBytes int64

	// Clock times checkpoints and garbage collection. Default the real
	// clock.
	Clock clock.Clock

	// GCInterval is how often background garbage collection (gc.go) looks
	// for work: value log files to rewrite, and, when no write came since
	// the last look, an LSM tree to flatten. Default 1 min; negative turns
	// it off. An InMemory store has none.
	GCInterval time.Duration

	// GCDiscardRatio is the share of a value log file that must be garbage
	// before it is rewritten. Default 0.5 (the engine's advice: a value is
	// rewritten at most about once on average); in (0, 1).
	GCDiscardRatio float64

	// GCThrottle, if set, is asked before every garbage collection step;
	// a positive answer is how long to wait before asking again, because
	// foreground requests are suffering (the server answers from its
	// recent p99, as anti-entropy backs off). It must be safe to call from
	// any goroutine and cheap. nil: never wait.
	GCThrottle func() time.Duration

	// ValueLogFileSize is the size of the engine's value log files, which
	// hold values of ValueThreshold bytes or more. A file is reclaimed
	// whole, and never the one being written, so smaller files reclaim
	// sooner. Default 64 MiB (the engine's is 1 GiB); in [1 MiB, 1 GiB].
	ValueLogFileSize int64

	// ValueThreshold is the smallest stored set (encoded) kept in the
	// value log rather than in the LSM tree. Default 1 MiB, the engine's
	// largest: sets below it are rewritten by compactions, which drop old
	// versions as they go, where value log space waits for GC.
	ValueThreshold int64

	// Logger receives warnings (sibling counts) and the engine's warnings
	// and errors; the engine's info and debug output is dropped.
	// Default slog.Default().
	Logger *slog.Logger
}

// Defaults, exported through DefaultOptions.
const (
	defaultMaxKeyLen          = 1024
	defaultMaxValueLen        = 1 << 20
	defaultSiblingWarn        = 25
	defaultSiblingLimit       = 100
	defaultMaxBatch           = 256
	defaultMemTableSize       = 32 << 20
	defaultCheckpointInterval = 30 * time.Second
	defaultCheckpointBytes    = 64 << 20
	defaultCompactors         = 2
	defaultGCInterval         = time.Minute
	defaultGCDiscardRatio     = 0.5
	defaultValueLogFileSize   = 64 << 20
	defaultValueThreshold     = 1 << 20
	minValueLogFileSize       = 1 << 20
	maxValueLogFileSize       = 1 << 30

	maxMaxKeyLen    = 60000
	maxMaxValueLen  = 64 << 20
	maxMaxBatch     = 4096
	minMemTableSize = 8 << 20
	minCompactors   = 2 // the engine refuses 1; 0 would never compact
)

// DefaultOptions returns the options used for a zero-valued field: an
// on-disk DB with 1 KiB keys, 1 MiB values, a sibling warning at 25 and a
// limit of 100, and batches of up to 256 writes.
func DefaultOptions() Options {
	return Options{}.withDefaults()
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	setDefault(&o.MaxKeyLen, defaultMaxKeyLen)
	setDefault(&o.MaxValueLen, defaultMaxValueLen)
	setDefault(&o.SiblingWarn, defaultSiblingWarn)
	setDefault(&o.SiblingLimit, defaultSiblingLimit)
	setDefault(&o.MaxBatch, defaultMaxBatch)
	setDefault(&o.MemTableSize, defaultMemTableSize)
	setDefault(&o.CheckpointInterval, defaultCheckpointInterval)
	setDefault(&o.CheckpointBytes, defaultCheckpointBytes)
	o.Clock = clockOrReal(o.Clock)
	setDefault(&o.Compactors, defaultCompactors)
	setDefault(&o.GCInterval, defaultGCInterval)
	setDefault(&o.ValueLogFileSize, defaultValueLogFileSize)
	setDefault(&o.ValueThreshold, defaultValueThreshold)
	if o.GCDiscardRatio == 0 {
		o.GCDiscardRatio = defaultGCDiscardRatio
	}
	setDefault(&o.Trees.Segments, antientropy.DefaultSegments)
	setDefault(&o.Trees.Branches, antientropy.DefaultBranches)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func setDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p == 0 {
		*p = def
	}
}

// Validate reports the first invalid field, wrapping ErrBadOptions. Zero
// fields are valid: they take their defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.MaxKeyLen < 0 || o.MaxKeyLen > maxMaxKeyLen:
		return badOption("MaxKeyLen", o.MaxKeyLen, fmt.Sprintf("must be in [1, %d]", maxMaxKeyLen))
	case o.MaxValueLen < 0 || o.MaxValueLen > maxMaxValueLen:
		return badOption("MaxValueLen", o.MaxValueLen, fmt.Sprintf("must be in [1, %d]", maxMaxValueLen))
	case o.SiblingWarn < 0:
		return badOption("SiblingWarn", o.SiblingWarn, "must be positive")
	case o.SiblingLimit < o.SiblingWarn:
		return badOption("SiblingLimit", o.SiblingLimit, fmt.Sprintf("must be >= SiblingWarn (%d)", o.SiblingWarn))
	case o.MaxBatch < 0 || o.MaxBatch > maxMaxBatch:
		return badOption("MaxBatch", o.MaxBatch, fmt.Sprintf("must be in [1, %d]", maxMaxBatch))
	case o.MemTableSize < minMemTableSize:
		return badOption("MemTableSize", o.MemTableSize, fmt.Sprintf("must be >= %d", minMemTableSize))
	case o.CheckpointInterval < 0:
		return badOption("CheckpointInterval", o.CheckpointInterval, "must be positive")
	case o.CheckpointBytes < 0:
		return badOption("CheckpointBytes", o.CheckpointBytes, "must be positive")
	case o.Compactors < minCompactors:
		return badOption("Compactors", o.Compactors, fmt.Sprintf("must be >= %d", minCompactors))
	case o.GCDiscardRatio <= 0 || o.GCDiscardRatio >= 1:
		return badOption("GCDiscardRatio", o.GCDiscardRatio, "must be in (0, 1)")
	case o.ValueLogFileSize < minValueLogFileSize || o.ValueLogFileSize > maxValueLogFileSize:
		return badOption("ValueLogFileSize", o.ValueLogFileSize,
			fmt.Sprintf("must be in [%d, %d]", minValueLogFileSize, maxValueLogFileSize))
	case o.ValueThreshold < 0 || o.ValueThreshold > defaultValueThreshold:
		return badOption("ValueThreshold", o.ValueThreshold, fmt.Sprintf("must be in [1, %d]", defaultValueThreshold))
	}
	if err := o.Trees.Validate(); err != nil {
		return fmt.Errorf("%w: Trees: %w", ErrBadOptions, err)
	}
	return nil
}

func badOption(field string, value any, why string) error {
	return fmt.Errorf("%w: %s = %v: %s", ErrBadOptions, field, value, why)
}

// badgerOptions maps o (with defaults applied) onto the engine's options.
// Everything not listed keeps badger's default.
func (o Options) badgerOptions(dir string) badger.Options {
	bo := badger.DefaultOptions(dir)
	if o.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	}
	return bo.
		// Durability comes from the commit log (wal.go); the engine is
		// synced by checkpoints only. (badger's own SyncWrites syncs per
		// request and caps throughput: 1.1k and 1.9k durable writes/s at
		// 16 and 64 callers against 16k and 39k with one sync per batch,
		// docs/results.md, storage.)
		WithSyncWrites(false).
		// Only the committer goroutine writes, so there is nothing to detect.
		WithDetectConflicts(false).
		WithMemTableSize(o.MemTableSize).
		// At most two full memtables wait for their flush (badger's
		// default 5 lets four wait): each is a MemTableSize allocation,
		// and under 1 KiB puts without sync the queue took a node to
		// 430-500 MiB resident (334 MiB with 3).
		WithNumMemtables(3).
		// Fewer compactors than badger's 4: see Options.Compactors.
		WithNumCompactors(o.Compactors).
		// Level 0 is compacted into the base level as soon as it holds a
		// table (badger's default waits for 5). Each level 0 table is a
		// flushed memtable, up to MemTableSize, and under overwrites
		// mostly superseded versions: with 5 a store that stops writing
		// keeps up to 4 of them (128 MiB) of garbage, which no compaction
		// and no flatten (gc.go) then removes. The cost is a compaction
		// per flush instead of per 5.
		WithNumLevelZeroTables(1).
		// Garbage collection (gc.go) reclaims value log files whole.
		WithValueLogFileSize(o.ValueLogFileSize).
		WithValueThreshold(o.ValueThreshold).
		// Tables uncompressed and no block cache: badger then reads blocks
		// straight from its mmapped tables (the OS caches them), where with
		// Snappy it decompresses each block into a 256 MiB cache of its
		// own. Under 1 KiB puts that cache took a node from 156 to 499 MiB
		// resident. Sibling sets of small values compress little anyway.
		WithCompression(options.None).
		WithBlockCacheSize(0).
		// badger publishes expvar metrics process-wide; we keep our own.
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{o.Logger.With("component", "badger")})
}

// badgerLogger routes the engine's warnings and errors to slog and drops its
// info and debug lines, which report routine compactions and flushes.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(trimf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(trimf(f, a...)) }
func (b badgerLogger) Infof(string, ...any)        {}
func (b badgerLogger) Debugf(string, ...any)       {}

// trimf formats a badger log line without its trailing newline.
func trimf(f string, a ...any) string {
	s := fmt.Sprintf(f, a...)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
