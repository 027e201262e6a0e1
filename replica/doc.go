// Package replica is the request coordinator of Chorus: it turns a client's
// get, put or delete into replica operations on the key's preference list
// and decides, from the replies, whether the request met its quorum.
//
// Every request carries N (replicas), R (replies a read waits for), W (acks a
// write waits for), PR and PW (how many of those must come from primaries,
// the first N nodes of the preference list, rather than fallbacks) and a
// durable flag. Options.Validate rejects impossible combinations before any
// replica is contacted: R or W above N, PR above R, PW above W, N above the
// cluster size; the coordinator also refuses N above the ring's replication
// factor (Options.ValidateFor): a request may keep fewer copies than the
// ring does, never more.
//
// Counts a request leaves to the node's defaults are marked
// (Options.Defaulted), and the coordinator fits them to the ring before
// validating (Options.Fit): a defaulted N above the number of ring members
// becomes that number, and defaulted R and W become min(R, N) and
// min(W, N), so that a 1-node or 2-node cluster serves default requests
// and a strict default quorum stays strict. Result.Options reports what a
// request ran with. Counts the request chose are never changed: an
// explicit N above the ring's size still fails. When the ring grows, the
// defaults apply in full again; handoff fills the new replicas.
//
// The quorum arithmetic is pure (no goroutines, clocks or I/O): a tally is
// fed replies one at a time and says when the request is decided and how.
// A tally decides failure as soon as the outstanding replies can no longer
// reach the quorum, so a request never waits for a result it cannot get,
// and a QuorumError says how many replicas answered and how many were
// needed.
//
// During ownership handoff a node that just became a primary of a
// partition is still pulling the partition's data from the previous
// owner. Until it has, its reads answer a partial reply: a valid set and
// an error whose Partial method reports true (see Transport.Fetch and
// Store.Get). A read merges that set, so no sibling is hidden and read
// repair covers the new owner, but counts the reply toward neither R nor
// PR and asks a spare fallback instead, as for a failed replica. Writes
// are unaffected: a new owner stores what it is sent, so its ack counts
// toward W.
//
// Reads ask one replica for its set and the others for a digest of
// theirs (Options.ReadRepair digest, the default, with a Transport that
// is a DigestFetcher): the data replica is this node when it is one of
// the key's targets, else the first target. Such a read starts only R
// replicas, as Cassandra asks only those its consistency level needs:
// this node when it is a target, then the next targets in
// preference-list order up to R, then more primaries while fewer than
// PR are among them. The other targets are standbys, asked for digests
// when a started replica fails, answers a partial reply or is silent
// past the fallback wait (the speculative retry); spare fallbacks come
// after the standbys. A digest counts toward R and
// PR exactly as the set it matches would, and is recorded for read repair
// as that set. A digest that matches no set the read holds (a stale
// replica, or one holding siblings the others lack) is followed by a full
// read of that replica, whose reply then counts in place of the digest, so
// no replica counts twice and no sibling is hidden from the answer. If
// the data replica fails, or is silent past the fallback wait, the
// replicas that sent digests are asked for their sets, so the read still
// answers with data. A partial digest reply never counts, like a partial
// set; its set is fetched at once unless its digest matches, and only
// then is a standby or spare asked in its place. After the answer, read repair
// fetches the sets of late replicas whose digest matches nothing, merges
// them and repairs every replica whose set differs from the merge, as a
// read of every set would; replicas whose digest matched cost nothing
// more. Read repair covers the replicas the read asked, late and silent
// ones included; a standby never asked is left to anti-entropy, which is
// the price of asking R replicas rather than N. Options.ReadRepair all
// asks every target for its set, as before digest reads, and repairs
// every one that is stale.
//
// A write that reaches a node outside its key's primaries is forwarded by
// a Forwarder to one primary, which coordinates it. A write is coordinated
// once: each coordination mints a dot, and a second one would leave a
// version the client's context does not cover. So a forwarded write that
// may have reached its coordinator is sent nowhere else; its outcome is
// then the coordinator's answer, or an IndeterminateError (it may have
// been applied) when the answer is lost or the coordinator is silent for
// the forwarder's SilenceAfter. Silent coordinators are passed over for a
// while, so a paused node delays only the writes already sent to it.
package replica
