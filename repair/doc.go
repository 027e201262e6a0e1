// Package repair makes the replicas of every partition converge for every
// key, including keys nobody reads: Merkle (tictac) anti-entropy between
// replica pairs, paced so that it never crowds out client traffic.
//
// An exchange between this node and one peer for one partition
// (Exchanger.Exchange) compares the two anti-entropy trees top-down: the
// roots, then the branch hashes if the roots differ, then the segment
// hashes of the differing branches only, then the key hashes of the
// differing segments only. Keys whose hashes differ, or that one side
// lacks, are synced both ways: the peer's set is fetched and merged here,
// and the merged set is sent to the peer to merge there. A merge is a join
// of sibling sets (vclock.Sync), never an overwrite, so an exchange can
// only add causal information; it cannot lose a write or revive a value
// that a delete covered.
//
// The Scheduler walks every (partition, peer) pair this node is
// responsible for, one exchange at a time: first the pairs not known equal
// (never exchanged since this node started, back after their peer was
// away or the ring moved, whose last exchange found a difference, or whose
// peer failed an exchange since), then the rest, each group in the order
// Config.Pairs lists them. After every exchange it asks Config.Pairs
// again, and a pair that appeared meanwhile (a peer came back) joins the
// first group of the walk in progress. It works within a budget of keys and bytes per second, and
// backs off (waits longer before each exchange) while the node's
// foreground p99 latency is above a threshold.
// It passes over a pair whose last exchange found the roots equal while
// this node's tree of that partition has not changed, for up to
// Config.Recheck; after a walk that found no difference it pauses longer
// each time, up to Config.MaxIdle, and Notify (a local write, a liveness
// or ring change) ends the pause. An idle node thus exchanges each pair
// once per Recheck, not continuously.
//
// Guarantees:
//
//   - Cost grows with the difference, not with the data: equal trees cost
//     one round trip; k differing keys cost at most k branches' segment
//     hashes and the keys of at most k segments (Stats counts each).
//   - An exchange never runs against a tree that is still being rebuilt,
//     on either side: a half-built tree would look like missing data.
//   - Every pair the node walks is exchanged at least once per Recheck
//     (plus the time to walk to it), and on the next walk after a local
//     write to its partition; Round exchanges every pair.
//   - A pair that re-enters the walk (its peer was down, the ring moved)
//     is exchanged before any pair known equal: in the walk in progress,
//     after the exchange under way and the other pairs not known equal,
//     or first in the next walk if the walk had already done it. A walk
//     exchanges a pair at most once, so a flapping peer cannot keep it
//     from ending: it ends after at most one exchange per distinct pair
//     listed while it ran.
//   - Load slows the walk and never stops it: comparing roots (one
//     round trip) is never held back; past roots that differ, while the
//     foreground p99 is above Config.BackoffAbove, the exchange waits a
//     backoff that doubles up to Config.UnsettledMaxBackoff (250 ms) for
//     a pair not known equal and Config.MaxBackoff (30 s) for one known
//     equal, then runs. Under any load, a walk takes at most one backoff
//     per pair, and none for pairs whose roots are equal.
//   - After an exchange with a peer fails (it is down, or restarting and
//     rebuilding its trees), no pair with that peer is passed over until
//     one of its exchanges finds the roots equal again. A peer killed and
//     restarted faster than the failure detector notices never leaves the
//     walk; an exchange that failed while it was down is the only sign of
//     its restart repair sees.
//   - After a start, a node's walks cover every pair of its partitions,
//     those its peers initiate included (Config.StartPairs), until one
//     of them met every tree ready: a write the node took just before it
//     was killed, on no other replica, goes out in its first walk, even
//     when its peers never noticed it was down.
//   - Otherwise each replica pair of a partition is exchanged by one of its two
//     nodes (Initiates), and tombstones of a partition are collected by
//     its first primary alone, only while every primary is up and none is
//     still receiving it by handoff (Placement's Pairs and Targets).
//   - Tombstone collection (Collector) reads the keys of the partitions it
//     leads once per Interval only while there may be something to collect:
//     a background pass is skipped while no tombstone was written since the
//     last pass, that pass left none behind, and its targets are unchanged.
//   - A node down longer than the tombstone grace period is refused at
//     start (CheckDowntime over its last-alive mark): it may hold values
//     whose deletes the cluster has collected since.
//   - Every goroutine belongs to the Scheduler and stops on Close.
//
// repair does no I/O of its own: the local store and the peers are
// consumer-side interfaces (Local, Remote) that the server implements with
// storage and transport.
package repair
