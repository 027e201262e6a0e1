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
//     (splitting it if it grows too big), commits, syncs once if any request
//     in the batch was durable, and then answers all callers. One sync thus
//     covers many durable writes from concurrent callers. A request that
//     fails its own checks (too many siblings) fails alone; the rest of its
//     batch commits.
//   - Durability. A write with durable=true returns only after the engine's
//     logs holding it are synced (fdatasync/msync), so it survives a crash
//     of the machine. A non-durable write is committed and visible when it
//     returns and survives a crash of the process, but may be lost if the
//     machine fails before a later sync or memtable flush. Engine writes are
//     not synced by themselves (badger's SyncWrites is off).
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
//
// # Key layout
//
// The first byte of every engine key names its keyspace, so each keyspace
// is one contiguous range:
//
//	data: 'd' | partition (uint16, big-endian) | slot (uint16, big-endian) | user key
//	hint: 'h' | len(target) (1 byte) | target | hint ID
//	meta: 'm' | name
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
// Open starts the committer goroutine; Close stops intake (later calls
// return ErrClosed), waits for calls in progress, lets the committer finish
// what is queued, waits for it to exit and closes the engine. Scans run on
// the caller's goroutine and call their callback outside any engine
// transaction. The engine runs its own goroutines (compaction, flushes),
// which its Close stops.
package storage
