// Package vfs is the file-system seam of storage's commit log: a small FS
// and File interface, Default on the operating system, an in-memory FS
// that can simulate a machine crash (NewCrashableMem), and fault injection
// (Inject) for tests. It is modelled on pebble's vfs, mem_fs.go and
// errorfs, cut down to what a log of append-only segment files needs.
//
// # Guarantees
//
//   - Default's File.Sync is fdatasync on Linux (fsync elsewhere): the
//     file's data, and the metadata needed to read it back (its size), are
//     durable when it returns. SyncDir makes the directory's entries
//     durable: files created, removed or renamed in it.
//   - MemFS keeps, for every file, what was written and what was synced,
//     and for every directory, its entries and its entries as of the last
//     SyncDir. Crash returns a new MemFS holding only the synced state: the
//     synced bytes of each file, and only the directory entries that were
//     synced, so a file created, removed or renamed since its directory's
//     last SyncDir may come back in its old state. Directories themselves
//     are durable once MkdirAll returns (a simplification: the log's
//     directory is created once, before anything is written in it).
//   - Inject wraps any FS and asks an Injector before every operation; an
//     operation refused with an error has no effect (a refused Write writes
//     nothing, a refused Sync syncs nothing).
//
// The package imports only the standard library.
package vfs
