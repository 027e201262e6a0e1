// Package hints is Chorus's hinted handoff: a durable queue of writes that
// a fallback replica accepted on behalf of a primary that was down (sloppy
// quorum), and the loop that hands them to that primary once it is back.
//
// A Hint names its target (the intended owner), the partition and key, and
// the sibling set to hand over. The owner merges the set into its copy, so
// delivering a hint twice is harmless.
//
// # Guarantees
//
//   - Durable. Add stores the hint in the storage hint keyspace before it
//     returns (synced if durable is set). New rebuilds its index from
//     storage, so hints survive a restart and are then delivered.
//   - At least once, removed only after acknowledgment. A hint is deleted
//     only after Sender.DeliverHints returned nil for a batch holding it.
//     A failed, timed-out or cancelled delivery keeps every hint of the
//     batch; a crash between acknowledgment and deletion sends them again.
//   - Oldest first. Hint IDs start with the creation time, big-endian, so
//     each target's hints are stored and delivered in age order, in
//     batches of at most Config.BatchSize.
//   - Delivered when the owner is alive. Every Config.RetryInterval, and at
//     once after Notify, each target that Liveness reports alive and that
//     has hints is delivered to by its own goroutine, so a slow or failing
//     target does not delay others. After a failure a target backs off
//     exponentially from RetryInterval up to Config.MaxBackoff (4 s: a
//     node restarted faster than the failure detector notices gets its
//     hints at most that long after it is back); success or Notify resets
//     the backoff. With no hint queued the loop waits on Add
//     and Notify alone, with no timer: an idle node does not wake for it.
//   - Bounded. Add refuses a hint that would take the queued payload bytes
//     over Config.MaxBytes (ErrFull). Hints older than Config.MaxAge are
//     deleted, not sent, when delivery reaches them; anti-entropy repairs
//     what they carried. Every dropped hint is counted in Stats.
//   - Routed past removed owners. A Router (the Sender and Liveness a node
//     gives its Queue) sends the hints of a node that left the ring for
//     good to the keys' current live primaries instead, and once a batch
//     is delivered drops the fallback's own copies of keys it is no
//     primary of, unless a newer write reached them (route.go).
//   - Observable. Stats reports queued hints and bytes (total and per
//     target), delivered and dropped counts by reason, the oldest hint's
//     age and each target's last delivery error.
//
// # Goroutines
//
// New starts one loop goroutine owned by the Queue; each round it starts at
// most one delivery goroutine per target. Close cancels them all (a
// DeliverHints in progress sees its context end) and waits for them to
// exit. No lock is held while calling Sender or Liveness.
package hints
