// Package ring places keys on Chorus nodes: it cuts the key space into Q
// fixed partitions, gives each partition N primary nodes, and orders all
// other nodes after them as fallbacks for sloppy quorum.
//
// A key's partition is the top log2(Q) bits of its 64-bit xxhash, so keys
// never change partition; only the nodes of a partition change, when the
// membership does. ring is pure: no I/O, no goroutines, no clock.
//
// Placement works on replica slots: each of the Q·N (partition, replica)
// slots is given to a node separately. New takes the membership history,
// not just the current members: every Member record carries the epoch it
// Joined at and, once it has left, the epoch it was Removed at (removed
// records are the tombstones the gossiped cluster state keeps; they are
// history, not members). New replays the history in increasing epoch
// order. The first epoch that leaves a non-empty membership is placed
// history-free, by a capacity-bounded greedy matching over weighted
// rendezvous (HRW) scores of every (partition, node) pair (assign.go).
// Each later epoch is applied to the previous placement (history.go):
// first its removals, each removed node's slots going, in partition order,
// to the least-loaded eligible node; then its joins in ID order, each new
// node taking slots one at a time from the most-loaded node, in the
// partition where the new node's rendezvous score is highest, until it
// holds its weighted share. A join that first gives the ring N distinct
// zones re-places it history-free, since the earlier placement ignored
// zones; so does a join into a ring left empty.
//
// Guarantees:
//
//   - Determinism. A Ring is a pure function of its Config and the set of
//     history records (IDs, zones, weights, Joined and Removed epochs): the
//     order records are given in does not matter, and no floating-point
//     operation that may round differently between architectures decides
//     a placement, so every node that knows the same history computes the
//     same Ring. Two nodes that disagree on the history, for example one
//     that has not yet seen a tombstone, may compute different rings even
//     for the same current members. Member IDs are unique across the
//     history: a node that rejoins needs a new ID. A history whose records
//     all have Joined = 0 and Removed = 0 gives the history-free placement
//     of its members, as before histories existed.
//   - Distinct primaries. The first min(N, members) entries of a preference
//     list are distinct nodes, and the list goes on with every other member
//     exactly once, in rendezvous order. A request with a smaller n uses the
//     prefix as its primaries. The history-free placement orders the
//     primaries by rendezvous score; the replay keeps their slot order, a
//     new primary taking the position of the one it replaces (or the end,
//     below N members), so the Owner changes only when its slot moves.
//   - Zone spread. When the members span at least N distinct zones, the
//     primaries of every partition are in distinct zones, at any cost to
//     balance: with exactly N zones each zone holds one replica of every
//     partition, so a zone with fewer nodes loads them more.
//   - Balance. No node holds more than floor(1.15 × its share) replica-
//     partitions, where its share is N·Q·weight/total weight (at most Q),
//     unless zones or weights leave no other way to fill a slot. With equal
//     weights the tests measure at most 1.15× the mean for 1 to 64 nodes at
//     Q=256, N=3 placed history-free, and at most 1.08× (the mean rounded
//     up) for replayed histories, which take from the most-loaded and give
//     to the least-loaded. With unequal weights each node's load follows
//     its weight (capped at one replica per partition).
//   - Movement. A join or leave changes a bounded number of assignments,
//     and Moves lists exactly which, for ownership handoff. When the change
//     is a new epoch of the history, a join moves to the new node only its
//     share, from the most-loaded nodes, and a leave moves only the removed
//     node's slots: at Q=256, N=3, for histories of 3 bootstrap members and
//     one random join per epoch (with and without random removals), the
//     tests measure at most 1.00× the optimum N·Q/(n+1) for a join and
//     1.08× for a leave, for 1 to 64 nodes, and assert 1.3×. A slot moves
//     between two old nodes only when one is over floor(1.15 × its share)
//     after the change, which zones or weights can cause. Replacing the
//     whole membership history-free (all Joined = 0) is not minimal: there
//     a join or leave moves up to about 2.8× the optimum at these sizes,
//     because the capacities that balance the greedy cascade. A join that
//     first reaches N zones re-places the ring and moves far more.
//   - Lookup. PreferenceList, Partition, Primaries and Owner do not
//     allocate and take tens of nanoseconds: lists are precomputed, and the
//     slices returned point into the Ring, so callers must not modify them.
//
// A Ring stores Q × members strings (16 bytes each). New takes about 5 ms
// for 64 bootstrap members at Q=256 and 0.1 s at Q=4096; replaying a
// history of 3 bootstrap members and 61 joins takes about 13 ms at Q=256
// and 0.2 s at Q=4096, as it costs O(records × Q × N) plus the rendezvous
// scores of every record. MaxMembers is 1024 current members; a history
// may hold 2 × MaxMembers records, so tombstones must eventually be
// compacted away by the caller.
package ring
