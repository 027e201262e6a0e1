// Package netfault cuts and heals the traffic between nodes on one
// machine, each on its own address (127.0.0.X), with iptables: the
// network partitions of a fault test.
//
// A Cut is the set of directed (from, to) address pairs whose packets are
// dropped; Split, Isolate and Bridge build the usual ones (two sides; one
// node alone; two sides that overlap in one node, as Jepsen's bridge).
// Cuts are pure values, computed and tested without a firewall.
//
// A Firewall applies a Cut in a chain of its own in the filter table,
// reached from OUTPUT (on one machine every packet between two local
// addresses passes OUTPUT once), so that it never touches rules it did not
// make: Docker's, an operator's, another run's.
//
// # Guarantees
//
//   - Apply replaces the previous cut atomically (one iptables-restore of
//     the chain): no moment with both, none with neither.
//   - Heal drops every rule of the chain; Close heals, unhooks and
//     deletes the chain, and is idempotent. Rules are dropped, not
//     rejected: a cut peer is silent, as behind a real partition, so
//     timeouts, not refusals, are what the nodes see.
//   - A process that dies without Close leaves its chain behind;
//     RemoveStale deletes every chain of the prefix (the next run calls
//     it first).
//   - Available says, before anything is changed, whether iptables can
//     be used here (the binary is present and the caller may change the
//     filter table), with the reason when not.
package netfault
