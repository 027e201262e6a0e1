// Package handoff moves partition data to new owners when the ring
// changes: a node that becomes a primary of a partition pulls the
// partition's keys, page by page, from the node it replaces, and merges
// them into its own store.
//
// The Manager of each node tracks, per partition, whether the node holds
// the partition's data whole (complete), handed it off whole at a ring
// change (a valid source still), or is still pulling it (pending). Its
// state is saved in the node's store every half second while transfers
// run and at every ring change, so a transfer resumes close to where it
// stopped after a restart. A partition is never saved complete before the
// merges that completed it are synced: the save's sync covers them.
//
// Guarantees:
//
//   - A pending partition is reported by Incomplete until its last page is
//     merged and saved; the server answers reads of it as partial, and the
//     coordinator does not count such replies toward R. So a read after a
//     join sees every write the old owners held: R+W>N still overlaps.
//   - The source is the node the ring replaced (ring.Moves' From) when it
//     is up and holds the data whole; when it is gone (a removed node),
//     the new owner pulls from every other old primary that is up, so no
//     acknowledged write that survives on any of them is missed. Such a
//     union pull completes only once every holder that is up has served
//     (or said it does not hold the partition whole); one that fails is
//     retried, not skipped.
//   - Only sources that report the partition complete complete a
//     transfer: a node still pulling a partition never makes a new owner
//     complete. The one exception to skipping such a node is the replaced
//     owner itself (a node that lost the partition, by leaving or a
//     rebalance, before its own pull of it finished): its part is merged
//     to the end first, because it may hold writes it took as a primary
//     that no other holder has; the other holders then complete the
//     transfer. Such a partial copy is kept, like a whole one, until
//     every new owner pulled it and LeftoverSettle passed. A replaced
//     owner that failed while pulled from, and is up once the others
//     completed the transfer, is read to the end once more.
//   - The partition's primaries in the latest ring are sources too: nodes
//     that joined together may each have been planned with holders that
//     are all still pulling, while another primary completed its own.
//     If for StallAfter every holder is up and none holds the partition
//     whole (each waiting on the others), the transfer merges every live
//     member's copy to the end and completes: a copy is dropped only after
//     a successor read it to the end, so the members' copies together hold
//     every write. With any member down it keeps waiting.
//   - Pulls are merges (sibling-set joins), never overwrites, so writes
//     that reach the new owner during the transfer are kept.
//   - A transfer that makes no progress for Config.StallAfter is reported
//     (log, Status, Stats) and moved to its next source instead of hanging.
//   - A partition handed off is dropped from the old owner
//     (DropLeftovers) only after every new owner pulled it to the end and
//     LeftoverSettle passed, and never while the current ring makes the
//     node its primary again. Deletes are compare-and-delete, so a write that
//     reached the node since is kept.
//   - At its first ring, a node with no saved state compares with the
//     ring before it joined (RingBefore over the membership history), so
//     a joiner, or a founder whose data was wiped, pulls its partitions
//     instead of taking them as complete.
//   - Idle is idle: with no transfer pending the workers wait for a ring
//     change (Update) with no timer armed.
//   - Every goroutine belongs to the Manager and stops on Close.
package handoff
