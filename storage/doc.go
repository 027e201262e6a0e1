// Package storage is a Chorus node's local store: a sibling set
// (vclock.Set) per key, a hint queue per target node and a few metadata
// records, on one badger database. It is the only package that imports
// badger; no badger type or error crosses its API.
//
// # Guarantees
//
//   - Atomic read-modify-write per key. Update (a coordinator write) and
//     Merge (a replica's set arriving) read the stored set, compute the new
//     one and store it as one step: concurrent writers to one key never lose
//     each other's updates. Both return the resulting set and whether it
//     changed; a Merge that changes nothing writes nothing.
//   - Group commit. All writes go through one committer goroutine that
//     takes every queued request (up to Options.MaxBatch, without waiting
//     for more), applies them in queue order in one engine transaction
//     (splitting it if it grows too big), appends the transaction's writes
//     to the commit log with one write call, commits, and answers the
//     callers that need no sync. A syncer goroutine fdatasyncs the log
//     once for all the batches handed to it meanwhile and answers their
//     durable callers, while the committer applies the next batch. One
//     sync thus covers many durable writes from concurrent callers; a
//     batch appended before a sync started, but handed over after, is
//     answered without a sync of its own. A
//     request that fails its own checks (too many siblings) fails alone;
//     the rest of its batch commits. A batch whose log append fails (disk
//     full) fails whole and is not applied.
//   - Durability. Every write is a record in a commit log owned by this
//     package (package commitlog; <dir>/commitlog) before it is committed
//     to the engine. A write with durable=true returns only after an
//     fdatasync of the log covering it, so it survives a crash of the
//     machine; a failed sync fails the durable writes it covered ("sync
//     failed, durability unknown": committed and visible, perhaps not on
//     disk), and every later write until the store is reopened, since the
//     kernel may have dropped the unwritten pages silently. A non-durable
//     write is committed and visible when it returns and survives a crash
//     of the process (its record is in the operating system), but may be
//     lost if the machine fails before a later sync. Physical deletes
//     (DeleteTombstone, DeleteIfEqual, DeleteHint) are synced to the log
//     before they are applied, so that replay cannot resurrect what they
//     removed. The engine itself is never synced per write: a background
//     checkpoint syncs it and retires the log before it (checkpoint.go),
//     every Options.CheckpointInterval (30 s) or CheckpointBytes (64 MiB)
//     of log. Open replays the log: data records are merged into the
//     stored sets, which is idempotent, so replaying what the engine
//     already holds changes nothing; other records apply in log order.
//     An InMemory store has no log (durable writes are acknowledged
//     without any sync) unless Options.CommitLogFS gives it one, as tests
//     of crashes do.
//   - Cancellation. If a write method returns its context's error, the write
//     was not applied. A request is checked against its context when the
//     committer takes it; once taken it is applied, and the caller waits for
//     the outcome (at most one batch commit and sync) even if its context
//     ends meanwhile.
//   - Limits. Keys are 1..Options.MaxKeyLen bytes (default 1 KiB), values at
//     most Options.MaxValueLen (default 1 MiB), partitions below
//     MaxPartitions. A key reaching Options.SiblingWarn siblings (default 25)
//     is logged and counted; an Update that would leave more than
//     Options.SiblingLimit (default 100) fails with ErrTooManySiblings. A
//     Merge is never refused, since that would lose data acknowledged by
//     other replicas; it is counted in Stats.MergesOverLimit instead.
//   - Change signals. The function given to OnTreeChange runs on the
//     committer after every batch that changed a stored set, and
//     TombstoneWrites counts the writes that left a key deleted (never
//     undercounting), so background work (anti-entropy, tombstone
//     collection) can sleep while nothing changes.
//
// # Key layout
//
// The first byte of every engine key names its keyspace, so each keyspace
// is one contiguous range:
//
//	data: 'd' | partition (uint16, big-endian) | slot (uint16, big-endian) | user key
//	hint: 'h' | len(target) (1 byte) | target | hint ID
//	meta: 'm' | name
//	tomb: 't' | partition | slot | user key  (the tombstone index, tombindex.go)
//	flush: 'z'                               (GC's memtable flush sentinel, gc.go)
//
// The slot is antientropy.Slot of the user key (16 bits of its hash). One
// partition's keys are therefore one prefix scan (ScanPartition), in slot
// order: by slot, then by user key. An anti-entropy segment, a range of
// slots, is one range scan (ScanSegments), not a scan of the partition.
// Storage does not compute partitions: the caller passes the partition
// number the ring assigned, and storage only checks its range.
//
// Values: a data key holds its sibling set as vclock.Set.Encode (format
// version byte 1); a hint holds the opaque payload of package hints; a
// meta entry holds what its owner wrote. The layout version (meta
// "storage.layout", 2 since the slot entered data keys) covers the key
// layout and storage's own records; Open refuses a store of another
// layout. docs/formats.md lists every persisted encoding.
//
// # Goroutines
//
// Open replays the commit log, then starts the committer goroutine, the
// syncer goroutine (with a log) and the checkpointer goroutine (on-disk
// stores). Close stops the checkpointer and the tree rebuild, stops intake
// (later calls return ErrClosed), waits for calls in progress, lets the
// committer finish what is queued and run a last checkpoint, waits for
// the committer and then the syncer to exit, syncs and closes the log and
// closes the engine. The log's last segments stay on disk; replaying them
// at the next Open changes nothing. Scans run on the caller's goroutine
// and call their callback outside any engine transaction. The engine runs
// its own goroutines (compaction, flushes), which its Close stops. An
// on-disk store also runs the garbage collector goroutine (gc.go), which
// Close stops first, waiting for a step in progress.
package storage
