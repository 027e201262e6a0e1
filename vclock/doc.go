// Package vclock tracks causality for Chorus: version vectors (Clock) and
// dotted version vector sets (Set), the sibling sets that every key maps to.
//
// A Set holds the concurrent values of one key that have not been reconciled
// yet. Each value (Sibling) is tagged with a dot, the (node, counter) pair of
// the write that created it, and the Set carries a Clock that summarises every
// write it has seen. This is the DVV set of Almeida, Baquero, Gonçalves,
// Preguiça and Fonte ("Scalable and Accurate Causality Tracking for
// Eventually Consistent Stores", 2014), as used by Riak 2.
//
// Guarantees:
//
//   - Set.Update drops exactly the siblings whose dots the client's context
//     covers and adds the new value with a fresh dot of the coordinating node.
//     A value the client did not see survives as a sibling; a write that
//     carries the full context of a Set leaves exactly one value.
//   - Sync is commutative, associative and idempotent, so replicas that
//     exchange Sets in any order and any number of times converge. A sibling
//     disappears in Sync only if the other side's clock covers its dot, that
//     is, only if some write that saw it superseded it.
//   - Siblings are bounded by the truly concurrent writes: clients that reuse
//     the context of their own previous write (the interleaving of
//     riak_kv#746) do not grow the Set.
//   - Metadata is bounded by the number of nodes that coordinated writes,
//     not by the number of clients.
//   - Deletes are tombstone siblings; a Set whose siblings are all tombstones
//     reads as deleted, but keeps its clock so later writes order after it.
//   - Encode is canonical: equal Sets encode to equal bytes (anti-entropy
//     hashes depend on this), and Decode accepts only canonical input, so
//     Encode(Decode(b)) == b for every b that decodes. Decode and
//     ParseContext return an error on any malformed input and never panic.
//     Set.Digest, the xxhash of that encoding, is therefore equal for
//     equal sets on every node, and DigestEncoded computes it from stored
//     bytes without decoding them (digest reads).
//   - Dot arithmetic never wraps around: Update refuses (ErrCounterOverflow)
//     a write whose new dot would go above MaxCounter, and a write whose
//     context would grow past what ParseContext accepts
//     (ErrContextTooLarge), so every set Update returns encodes to bytes
//     Decode accepts, with a context ParseContext accepts.
//   - ParseContext bounds what a client can send: at most MaxContextLen
//     bytes, MaxContextNodes nodes, node IDs of MaxNodeIDLen bytes and
//     counters of MaxCounter. Decode is more lenient about counters (any
//     non-zero value), so that sets stored before the bound stay readable.
//
// Clock, Set and Sibling are immutable values: every operation returns a new
// value and never modifies its arguments, so they may be shared between
// goroutines without locks. Slices returned by accessors must not be
// modified.
package vclock
