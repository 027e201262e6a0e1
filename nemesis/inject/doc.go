// Package inject plans and applies the faults of a fault test to a
// cluster of node processes on one machine, and heals them all.
//
// Schedule draws a plan from a seed: one fault at a time, each held for a
// while and then healed, with quiet time between. An Injector applies a
// fault to a Target (the node processes: *procs.Cluster), a Net (the
// network: *netfault.Firewall) and an Admin (the nodes' HTTP APIs: their
// /v1/faults and /v1/cluster/leave), and heals it. Run executes a plan on
// an injected clock and reports the timeline of what was done.
//
// The faults:
//
//   - kill: SIGKILL one node, or a minority of them; healed by restarting
//     them on their data.
//   - pause: SIGSTOP one node; healed by SIGCONT.
//   - partition: drop the traffic between the two sides of a split
//     (majority/minority, one node isolated, or Jepsen's bridge); healed
//     by dropping nothing.
//   - clock: offset one node's wall clock (tombstone grace and hint age
//     run on it); healed by a zero offset.
//   - disk: a full or slow disk under one node's commit log; healed by a
//     good disk and, for a full one, a restart (after a failed write the
//     store refuses writes until it restarts).
//   - membership: a new node joins at the start and leaves at the heal.
//
// # Guarantees
//
//   - Schedule is a pure function of its config and seed: the same seed
//     gives the same plan, and every fault heals before the plan's end.
//   - HealAll undoes every fault still in force, whatever happened
//     before (a failed step, a cancelled context): it continues paused
//     nodes, restarts killed ones, drops every cut, resets every node's
//     faults, and makes a joined node leave; it tries every step and
//     returns their errors together. Run calls it on every way out.
//   - A node is never the subject of two faults at once; Run applies
//     the plan's faults in order, one at a time.
package inject
