// Package commitlog is storage's write-ahead log: checksummed records
// appended to segment files, one write call per batch and one fdatasync
// per group of batches, replayed in order after a crash. storage puts it
// in front of its engine, which then runs without syncing every commit
// and is checkpointed in the background (see storage/doc.go).
//
// # Format
//
// A log is a directory of segments named by a sequence number in 16 hex
// digits ("0000000000000001.log"). A segment is a header (magic
// "CHORUSCL", format version 1, the sequence number, a CRC-32C) and
// records, each a length (uint32), a CRC-32C (Castagnoli) of the payload
// and the payload. Segments are preallocated with zeros, so a length of 0
// ends a segment's records, as does the end of the file. format.go and
// docs/formats.md give the layout byte by byte.
//
// # Guarantees
//
//   - Append writes a batch of records with one write call: once it
//     returns, the records survive a crash of the process (they are in the
//     operating system). Sync makes everything appended before it durable:
//     they survive a crash of the machine.
//   - Replay returns the records in append order. After a crash, what it
//     returns is a prefix of what was appended that includes every record
//     a successful Sync covered.
//   - A crash can only tear the end of the last segment: a segment is
//     synced before the next is created. Open cuts a torn tail off the
//     last segment (and removes a last segment whose header is torn), so
//     later segments never follow a torn one. A bad record or header in
//     any other segment is corruption: Replay fails with ErrCorrupt naming
//     the file and offset. A segment of another format version fails with
//     ErrVersion.
//   - RetireBefore removes whole segments, oldest first, so the log on
//     disk is always a suffix of what was appended.
//   - A failed Append appends nothing and the log goes on. A failed Sync
//     fails the log for good (every later Append and Sync returns its
//     error), because the kernel may have dropped the pages it could not
//     write without saying so again: only reopening, which replays what is
//     really on disk, is safe.
//
// # Concurrency
//
// Append, Rotate, RetireBefore, Replay and Close are called by one
// goroutine at a time (storage's committer). Sync and Stats may be called
// from any goroutine meanwhile: one goroutine syncs batch k while the
// committer appends batch k+1.
//
// The package imports storage/vfs only.
package commitlog
