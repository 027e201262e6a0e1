// Package backup is the file format of Chorus backups, and the pure parts
// of taking and restoring one: merging the scans of a partition's
// replicas, and saying what a backed-up set would change in a cluster.
// It imports only vclock; the server and the CLI do the I/O.
//
// # Format
//
// A backup is a stream: a header, blocks, and a trailer, written and read
// front to back without seeking, so it can go through a pipe or an HTTP
// body. docs/formats.md has the byte layout. Every part carries a CRC-32C
// (Castagnoli) of its bytes, and the trailer counts the keys and blocks
// before it.
//
// # Guarantees
//
//   - Reader refuses a stream that is corrupt (a checksum, length, kind or
//     record that does not hold), truncated (no trailer, or a block cut
//     short) or followed by extra bytes, with a *CorruptError naming the
//     byte offset of the bad part. It never panics and never allocates
//     more than a block's declared size, read as it arrives (a corrupt
//     length cannot make it reserve gigabytes up front).
//   - Reader hands out a record only once the block holding it has passed
//     its checksum, and every set it hands out decoded with vclock.Decode.
//     A whole stream is known good only when Next has returned io.EOF,
//     which is why restore verifies the whole file (one pass) before it
//     applies anything (a second pass).
//   - Sets are stored as vclock encodes them: siblings, tombstones and
//     clocks are kept, so a restore merges exactly what was backed up.
//   - Merge combines replica scans that each come in the same key order
//     into one stream with each key once, its set the vclock.Sync of every
//     replica's copy; a replica that fails leaves the merge and the rest
//     go on (Merge reports which).
//   - Classify says what merging a backed-up set into a cluster's set
//     would do: nothing (covered), add siblings or versions, or create a
//     key the cluster does not have.
package backup
