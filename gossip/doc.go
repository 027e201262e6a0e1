// Package gossip tells a Chorus node who is in the cluster. It keeps two
// separate things, on top of hashicorp/memberlist:
//
//   - Ownership, the ring state (State): which nodes are in the ring, at
//     which epochs, and with what status (joining, active, leaving,
//     removed). It changes only by explicit action: a node entering the
//     state (New), being placed (Bootstrap, Join), SetStatus, Leave, or an
//     operator's Remove. It is versioned, persisted and gossiped.
//   - Liveness (Alive, LiveMembers): which nodes memberlist's failure
//     detector (SWIM with Lifeguard) currently considers alive. It only
//     changes routing. A node that crashes stays in the ring with its
//     status unchanged, so a transient failure never moves ownership.
//
// A node also remembers the gossip address of every member it has seen
// alive (the peer book, in Config.PeerStore), as Serf's snapshot does:
// memberlist never probes a node it declared dead, so a node restarted
// without seeds (the first node of a cluster) calls Rejoin to be seen
// alive again.
//
// The package imports nothing from Chorus. Node IDs are plain strings,
// and a node's ID is also its memberlist name.
//
// # The ring state is a CRDT
//
// A State maps each node ID to a MemberRecord. Every record carries its
// own Lamport Version: a change sets it to one more than the version it
// replaces. Two States merge per node ID by keeping the record that wins
// by Compare, a total order on records of one node. The order puts any
// removed record above any record that is not removed, then compares
// Version, then status (joining < active < leaving < removed), then the
// records' encodings. Taking the maximum of a total order makes Merge
// commutative, associative and idempotent. Nodes that have seen the same
// records therefore hold equal States, with equal Hash values, whatever
// order the messages came in.
//
// Removal is final for a node ID. The record stays as a tombstone that
// beats every other record of that ID, including a newer one. A message
// delayed from before the removal, or a restarted copy of the node, can
// therefore never bring it back. New refuses to start a node whose
// persisted record is removed (ErrRemoved). To bring the machine back,
// wipe its state so that it starts under a new ID.
//
// # Ring epochs
//
// ring.New replays the membership history by epochs, so every record
// carries them and every node must see the same values. A node enters the
// state unplaced (Placed false): it is no ring member yet. Bootstrap, or
// Join with only this node's address, places the first node of a cluster
// at epoch 0; Join to other seeds places the node, once a seed has
// answered, at one more than the largest Joined or Removed epoch in the
// state merged with the seed's. Remove of a placed node sets its Removed
// epoch the same way, so Removed is after every Joined its remover has
// seen. Nodes placed concurrently may get the same epoch; the ring orders
// them by ID. The epochs live in the record and so travel and merge with
// it. Once set they never change: a placed record stays placed with its
// Joined epoch, every change copies them, a restart keeps the persisted
// ones, and Removed is set once, by the removal. If the record that wins
// a merge has lost this node's placement (a change of the same version
// made elsewhere from the unplaced record), the node writes a newer
// record that restores it. Decoders reject inconsistent epochs: epochs on
// an unplaced record, Removed without status removed or not after
// Joined, or a placed removed record without Removed.
//
// A node removed before it was placed keeps Removed = 0 and is no part of
// the ring's history. Its tombstone beats its placed record, like any
// tombstone, so a node removed while it was being placed drops out of the
// history once the tombstone has spread.
//
// A node is the authority on its own zone, weight and addresses. If a
// merge brings in a record of this node with other values (say, an older
// incarnation's record that won on version), the node writes a newer
// record with its current values and keeps the winning status. Any node
// may change any node's status.
//
// # Persistence before broadcast
//
// Every change, local or merged from a peer, is saved through the
// StateStore before it becomes visible (Ring, LocalState) and before it is
// broadcast. If the save fails, the change is dropped: a local change
// returns the error, and a remote one is offered again by the next
// push/pull. The store also holds the node's ID. A node that restarts with
// the same store keeps its ID, keeps its status and epochs (zone and
// weight too, unless Config sets new ones) and re-enters with its
// record's version
// bumped, then rejoins with its persisted view of the ring. A nil store
// keeps all of this in memory.
//
// # How the state spreads
//
// Changed records are broadcast one record per message through a
// memberlist TransmitLimitedQueue that piggybacks on gossip. A newer
// message about a node replaces an older one still in the queue. Nodes
// rebroadcast the records they learn, as Serf does. Memberlist's TCP
// push/pull exchanges the whole state at every join and every
// PushPullInterval; this is the anti-entropy path that repairs lost
// broadcasts. SetStatus, Leave, Remove and a placement (Bootstrap, Join)
// also push the state at once to up to three live peers.
//
// Encodings are compact, versioned, canonical binary (see codec.go): the
// ring state (EncodeState), the node metadata that rides on memberlist's
// alive messages (EncodeMeta, at most MetaMaxSize = 512 bytes: ID, zone,
// gRPC and HTTP addresses), and the persisted blob. Decoders treat their
// input as hostile: they check every length and never panic (see
// FuzzDecodeState and FuzzDecodeMeta).
//
// # Goroutines
//
// Memberlist runs and owns its goroutines (listeners, probe, gossip and
// push/pull timers). Our delegates run on them and never block: NotifyMsg
// and MergeRemoteState decode (and so copy) their buffer and hand it to
// the one goroutine this package runs, the apply loop, which merges, saves,
// publishes and broadcasts. Join and the pushes made by SetStatus run
// memberlist's blocking Join on tracked goroutines, so that a cancelled
// context returns at once. Close waits for all of these, after it has
// left memberlist and shut it down.
//
// # Timings
//
// DefaultMemberlistConfig is memberlist's LAN preset (push/pull every
// 30 s), without compression. Measured with memberlist alone on the development machine, 3–10
// nodes converge in 0.2–0.4 s, and a stopped node is declared dead
// everywhere 5–6 s later.
// Tests use memberlist.DefaultLocalConfig with 200 ms probes, where the
// same takes about 1 s.
//
// # A graceful departure
//
// Leave marks the node leaving, so that the others plan to take over its
// partitions. The server then hands its data off. Remove(ctx, m.ID())
// records the departure for good, and Close leaves memberlist and stops.
package gossip
