// Package antientropy finds the keys on which two replicas of a partition
// disagree, at a cost that grows with the disagreement, not with the data.
//
// Each node keeps one Tree per partition it holds, in the style of Riak's
// TictacAAE: a fixed number of segments, each holding the XOR of KeyHash
// over the keys that fall in it, grouped into branches (the XOR of their
// segments) under a root (the XOR of all branches). Two replicas compare
// roots, then only the branches under differing roots, then only the
// segments under differing branches (Compare), and finally sync the keys
// of the differing segments. antientropy is pure: no I/O, no goroutines,
// no clock; fetching the remote levels and scanning keys is the caller's.
//
// Guarantees:
//
//   - O(1) updates. Update touches one segment, one branch and the root,
//     whatever the tree's size, so a write never triggers a rebuild.
//   - Order independence. XOR is commutative, associative and its own
//     inverse, so a tree's hashes depend only on the final (key, set)
//     contents, not on the order or history of the Updates that produced
//     them: a tree rebuilt with Add from a scan equals one maintained by
//     incremental Updates, overwrites and deletes included, provided each
//     Update passed the key's previous set as old.
//   - Identical data gives identical trees. KeyHash uses vclock's canonical
//     encoding and segments depend only on the key, so replicas holding the
//     same (key, set) pairs under the same Config have equal roots,
//     branches and segments, on any node and architecture.
//   - Equal roots mean nothing to exchange, and a differing key always
//     shows up as a differing segment, except with the probability of a
//     64-bit hash collision (about 2^-64 per exchange).
//   - Bounded cost. k diverged keys touch at most k segments in at most k
//     branches, so Compare fetches the branch hashes once and at most k
//     branches' segment hashes.
//
// A key with a tombstone set is present (its set is non-empty); only an
// empty set, as after tombstone collection, removes it from the tree.
package antientropy
